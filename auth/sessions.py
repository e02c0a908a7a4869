"""Web-client login: a password checked against `users`, then a random session token in an HttpOnly cookie."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.settings import Settings
from auth.csrf import csrf_header_missing, csrf_refused
from auth.passwords import verify_secret
from auth.principal import ROLE_SCOPES, Principal
from auth.throttle import LoginThrottle, client_ip, throttled_response
from db.accounts import User, active_user, end_session, start_session, user_of_session
from db.engine import Database

SESSION_COOKIE = "karngar_session"
WRONG_CREDENTIALS = "Wrong username or password."


async def login(request: Request) -> Response:
    credentials = await _credentials(request)
    if credentials is None:
        return JSONResponse({"error": "invalid_request", "message": "Send a username and a password."}, status_code=400)
    username, password = credentials
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    # Before anything else, and for unknown usernames too: a 429 must not tell which accounts exist.
    throttle, account, ip = LoginThrottle(settings, db), f"user:{username}", client_ip(request)
    retry_after = await throttle.attempt(account, ip)
    if retry_after is not None:
        message = f"Too many failed attempts: try again in {retry_after} seconds."
        return throttled_response(retry_after, {"error": "too_many_attempts", "message": message})
    async with db.read() as session:
        user = await active_user(session, username)
    # Always one argon2 verify (off the event loop), so an unknown username answers as slowly as a wrong password.
    if not await run_in_threadpool(verify_secret, user.password_hash if user else None, password) or user is None:
        return JSONResponse({"error": "invalid_credentials", "message": WRONG_CREDENTIALS}, status_code=401)
    await throttle.succeeded(account, ip)

    token = secrets.token_urlsafe(32)
    async with db.write() as session:
        expires_at = datetime.now(UTC) + timedelta(seconds=settings.session_ttl_seconds)
        await start_session(session, user.id, _digest(token), expires_at)
    response = JSONResponse({"user": _user_document(user)})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_seconds,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    if csrf_header_missing(request):
        return csrf_refused()
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        db: Database = request.app.state.db
        async with db.write() as session:
            await end_session(session, _digest(token))
    settings: Settings = request.app.state.settings
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=settings.secure_cookies, httponly=True, samesite="strict")
    return response


async def principal_from_session(db: Database, token: str) -> Principal | None:
    """The logged-in user behind a session cookie; None when the session is unknown, expired or the user inactive."""
    async with db.read() as session:
        user = await user_of_session(session, _digest(token))
    if user is None:
        return None
    return Principal(
        kind="user",
        subject=user.username,
        name=user.display_name,
        roles=(user.role,),
        scopes=frozenset(ROLE_SCOPES[user.role]),
        employer_id=user.employer_id,
        province=user.province,
    )


def _digest(token: str) -> str:
    # Only the hash is stored, so a leaked table holds no usable session.
    return hashlib.sha256(token.encode()).hexdigest()


async def _credentials(request: Request) -> tuple[str, str] | None:
    """The username and password from a JSON or form-encoded body; None when either is missing."""
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        fields = body if isinstance(body, dict) else {}
    else:
        fields = dict(await request.form())
    username, password = fields.get("username"), fields.get("password")
    if isinstance(username, str) and isinstance(password, str) and username and password:
        return username, password
    return None


def _user_document(user: User) -> dict[str, str | None]:
    return {
        "username": user.username,
        "name": user.display_name,
        "role": user.role.value,
        "employerId": str(user.employer_id) if user.employer_id else None,
        "province": user.province.value if user.province else None,
    }
