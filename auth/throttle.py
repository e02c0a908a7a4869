"""Password guessing: every login and token request takes a token from its account's bucket and its IP's, before
the password is checked. KARNGAR_LOGIN_MAX_FAILURES attempts in a row empty an account's bucket, which then
refills at that many per KARNGAR_LOGIN_FAILURE_WINDOW; a success refills the account and gives the IP its token
back. Unknown accounts have buckets too, so a 429 says nothing about whether a username exists. The buckets are
always in PostgreSQL, shared by every API process: otherwise N processes would give an attacker N times the guesses."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.metrics import RATE_LIMITED
from api.ratelimit import Limit, PostgresBuckets
from api.settings import Settings
from db.engine import Database
from db.rate_limits import forgive


class LoginThrottle:
    def __init__(self, settings: Settings, db: Database) -> None:
        window = settings.login_failure_window_seconds
        self._account_limit = Limit(settings.login_max_failures, settings.login_max_failures / window)
        self._ip_limit = Limit(settings.login_ip_max_failures, settings.login_ip_max_failures / window)
        self._db = db
        self._buckets = PostgresBuckets(db.engine)

    async def attempt(self, account: str, ip: str) -> int | None:
        """None when the attempt may go ahead; else the seconds to wait (the account's or the IP's)."""
        decisions = await self._buckets.take_many(
            [(_account_key(account), self._account_limit), (_ip_key(ip), self._ip_limit)]
        )
        refused = [decision.retry_after for decision in decisions.values() if not decision.allowed]
        if not refused:
            return None
        RATE_LIMITED.labels(kind="login").inc()
        return max(refused)

    async def succeeded(self, account: str, ip: str) -> None:
        async with self._db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await forgive(connection, _account_key(account), _ip_key(ip))


def throttled_response(retry_after: int, body: dict[str, str]) -> JSONResponse:
    return JSONResponse(body, status_code=429, headers={"Retry-After": str(retry_after), "Cache-Control": "no-store"})


def client_ip(request: Request) -> str:
    """The peer address; behind a proxy, uvicorn's --forwarded-allow-ips makes it the client's (X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


def _account_key(account: str) -> str:
    # Usernames match case-insensitively (db/accounts.py), so their buckets must too.
    return f"login:account:{account.lower()}"


def _ip_key(ip: str) -> str:
    return f"login:ip:{ip}"
