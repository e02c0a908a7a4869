"""The OAuth2 authorization server: client-credentials tokens as RFC 9068 JWTs, and its discovery documents."""

from __future__ import annotations

import os
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization, list_to_scope, scope_to_list
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse

from api.settings import Settings
from auth.keys import SigningKeys
from auth.passwords import verify_secret
from auth.principal import ALL_SCOPES
from auth.throttle import LoginThrottle, client_ip, throttled_response
from db.accounts import ApiClient, active_api_client
from db.engine import Database

GRANT_TYPE = "client_credentials"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
TOKEN_PATH = "/oauth/token"
METADATA_PATH = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/.well-known/jwks.json"
# Short enough that a rotated key is picked up within minutes.
DISCOVERY_CACHE_CONTROL = "public, max-age=300"


class RegisteredClient(ClientMixin):
    """An API client as authlib sees it; an unknown or inactive client is one with no secret that matches."""

    def __init__(self, client_id: str, row: ApiClient | None) -> None:
        self.client_id = client_id
        self.row = row

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        # With no row this still verifies (against a dummy hash): a miss costs as much as a wrong secret.
        return verify_secret(self.row.secret_hash if self.row else None, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes the client holds (all of them when none are asked for); None refuses the request."""
        held = self.row.scopes if self.row else []
        if not scope:
            return list_to_scope(held)
        allowed = [requested for requested in dict.fromkeys(scope_to_list(scope)) if requested in held]
        return list_to_scope(allowed) if allowed else None

    def token_claims(self) -> dict[str, str]:
        """What a resource server needs to scope the caller without reading the database."""
        claims: dict[str, str] = {}
        if self.row and self.row.employer_id:
            claims["employer_id"] = str(self.row.employer_id)
        if self.row and self.row.province:
            claims["province"] = self.row.province.value
        return claims


class AccessTokenGenerator(JWTBearerTokenGenerator):
    def __init__(self, settings: Settings, keys: SigningKeys) -> None:
        super().__init__(
            issuer=settings.issuer, alg=keys.algorithm, expires_generator=settings.access_token_ttl_seconds
        )
        self.audience = settings.audience
        self.keys = keys

    def get_jwks(self) -> KeySet:
        return self.keys.signing_key_set

    def get_audiences(self, client: RegisteredClient, user: None, scope: str) -> str:
        return self.audience

    def get_extra_claims(self, client: RegisteredClient, grant_type: str, user: None, scope: str) -> dict[str, str]:
        return client.token_claims()


class ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class ClientCredentialsServer(AuthorizationServer):
    """authlib's server for one token request, whose client the async endpoint has already read."""

    def __init__(self, settings: Settings, keys: SigningKeys, client: RegisteredClient) -> None:
        super().__init__(scopes_supported=list(ALL_SCOPES))
        self.client = client
        self.register_grant(ClientCredentials)
        self.register_token_generator("default", AccessTokenGenerator(settings, keys))

    def query_client(self, client_id: str) -> RegisteredClient:
        if client_id == self.client.client_id:
            return self.client
        return RegisteredClient(client_id, None)

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # built by the endpoint from the body it read asynchronously

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """JWT access tokens are self-contained: nothing to store."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No one listens to authlib's signals here."""

    def handle_response(self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]) -> JSONResponse:
        return _oauth_response(status, body, headers)


class TokenRequest(OAuth2Request):
    def __init__(self, uri: str, form: dict[str, str], headers: Headers) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def token_endpoint(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    _accept_plain_http_issuer(settings)
    # authlib's own parser, and case-insensitive headers, so both find the same client_id.
    basic_client_id, _ = extract_basic_authorization(request.headers)
    form = await request.form()
    problem = _malformed(request, form.multi_items(), basic=basic_client_id is not None)
    if problem:
        return _oauth_response(*InvalidRequestError(problem)())

    fields = {name: str(value) for name, value in form.items()}
    client_id = basic_client_id or fields.get("client_id", "")
    # Before the client is looked up, and for unknown client ids too: a 429 must not tell which clients exist.
    throttle, account, ip = LoginThrottle(settings, request.app.state.db), f"client:{client_id}", client_ip(request)
    retry_after = await throttle.attempt(account, ip)
    if retry_after is not None:
        description = f"Too many failed attempts: try again in {retry_after} seconds."
        # "slow_down" is the token endpoint's registered error for a client that must wait (RFC 8628 §3.5).
        return throttled_response(retry_after, {"error": "slow_down", "error_description": description})
    row = await _active_client(request.app.state.db, client_id) if client_id else None
    server = ClientCredentialsServer(settings, request.app.state.signing_keys, RegisteredClient(client_id, row))
    token_request = TokenRequest(settings.issuer + TOKEN_PATH, fields, request.headers)
    # The secret check is an argon2 verify, slow on purpose, so authlib runs off the event loop.
    response = await run_in_threadpool(server.create_token_response, token_request)
    if response.status_code == 200:
        await throttle.succeeded(account, ip)
    return response


def _oauth_response(status: int, body: dict[str, Any], headers: list[tuple[str, str]]) -> JSONResponse:
    """authlib's (status, body, headers), which carry Cache-Control: no-store, as a Starlette response."""
    return JSONResponse(body, status_code=status, headers=dict(headers))


def _malformed(request: Request, fields: list[tuple[str, Any]], *, basic: bool) -> str | None:
    """What RFC 6749 §3.2 and §2.3 forbid before any grant is looked at, or None."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return "The token request must be application/x-www-form-urlencoded."
    names = [name for name, _ in fields]
    if len(names) != len(set(names)):
        return "A parameter is repeated."
    if "grant_type" not in names:
        return "Missing 'grant_type' parameter."
    if basic and "client_secret" in names:
        return "Authenticate with one method only: HTTP Basic or client_secret in the body."
    return None


async def _active_client(db: Database, client_id: str) -> ApiClient | None:
    async with db.read() as session:
        return await active_api_client(session, client_id)


class ClientCredentialsMetadata(AuthorizationServerMetadata):
    def validate_response_types_supported(self) -> None:
        # RFC 8414 requires the member; with no authorization endpoint the true value is [], which authlib refuses.
        if self.get("response_types_supported") != []:
            raise ValueError('"response_types_supported" must be [] without an authorization endpoint')


async def metadata_endpoint(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    _accept_plain_http_issuer(settings)
    metadata = ClientCredentialsMetadata(
        issuer=settings.issuer,
        token_endpoint=settings.issuer + TOKEN_PATH,
        jwks_uri=settings.issuer + JWKS_PATH,
        grant_types_supported=[GRANT_TYPE],
        token_endpoint_auth_methods_supported=AUTH_METHODS,
        scopes_supported=list(ALL_SCOPES),
        response_types_supported=[],
    )
    metadata.validate()
    return JSONResponse(dict(metadata), headers={"Cache-Control": DISCOVERY_CACHE_CONTROL})


async def jwks_endpoint(request: Request) -> JSONResponse:
    keys: SigningKeys = request.app.state.signing_keys
    return JSONResponse(keys.public_jwks(), headers={"Cache-Control": DISCOVERY_CACHE_CONTROL})


def _accept_plain_http_issuer(settings: Settings) -> None:
    """authlib refuses every http:// URL unless AUTHLIB_INSECURE_TRANSPORT is set. An http issuer is the
    operator's explicit choice (a laptop, a test run); an https one keeps authlib's check."""
    if settings.issuer.startswith("http://"):
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
