"""Who is calling, read once at the edge: a bearer access token, else a web-client session cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from auth.principal import Principal
from auth.sessions import SESSION_COOKIE, principal_from_session
from auth.tokens import InvalidToken, principal_from_access_token

REALM = 'Bearer realm="karngar"'


class AuthenticationFailed(Exception):
    """Credentials were sent and are unusable (RFC 6750 §3.1: invalid_request or invalid_token)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.description = description
        # A quoted-string may not hold a bare quote or backslash.
        quoted = description.replace("\\", "/").replace('"', "'")
        self.www_authenticate = f'{REALM}, error="{error}", error_description="{quoted}"'


async def authenticate(request: Request) -> Principal | None:
    """The caller, or None when no credentials were sent; a stale session cookie counts as none."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("invalid_request", "Send the access token as: Authorization: Bearer <token>.")
        state = request.app.state
        try:
            return principal_from_access_token(token.strip(), state.settings, state.signing_keys)
        except InvalidToken as error:
            raise AuthenticationFailed("invalid_token", error.description) from error
    session_token = request.cookies.get(SESSION_COOKIE)
    if session_token:
        return await principal_from_session(request.app.state.db, session_token)
    return None


def unauthorized_response(failure: AuthenticationFailed | None) -> JSONResponse:
    message = failure.description if failure else "Authentication required: send an access token or log in."
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": failure.www_authenticate if failure else REALM},
    )
