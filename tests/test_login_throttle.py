"""Password guessing on /auth/login and /oauth/token: throttled per account and per address, the same answers
for unknown and known accounts, and a real password verification on every path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

import auth.passwords
from api.app import create_app
from api.settings import Settings
from db.enums import Role
from tests.factories import Factory

# Three attempts, then one more every 20 seconds: no test lasts that long, however busy the machine.
THROTTLE = {"login_max_failures": 3, "login_ip_max_failures": 50, "login_failure_window_seconds": 60.0}


@asynccontextmanager
async def throttled_app(settings: Settings, database_url: str, **changes: Any) -> AsyncIterator[Starlette]:
    application = create_app(replace(settings, **{**THROTTLE, **changes}), database_url)
    async with application.router.lifespan_context(application):
        yield application


def http_from(application: Starlette, address: str = "10.1.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def log_in(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    response = await http.post("/auth/login", json={"username": username, "password": password})
    http.cookies.clear()
    return response


async def get_token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


def visible(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    """Everything an attacker sees but the per-response Date and request id."""
    headers = {name: value for name, value in response.headers.items() if name not in ("date", "x-request-id")}
    return response.status_code, headers, response.content


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The argon2 hashes verified, in order: the real hasher, counted."""
    seen: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            seen.append(hash if isinstance(hash, str) else hash.decode())
            return super().verify(hash, password)

    monkeypatch.setattr(auth.passwords, "_hasher", CountingHasher())
    return seen


async def test_an_unknown_user_and_a_wrong_password_get_identical_answers_before_and_after_throttling(
    make: Factory, settings: Settings, database_url: str
) -> None:
    username, _ = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    async with throttled_app(settings, database_url) as app, http_from(app) as http:
        known = [await log_in(http, username, "not-the-password") for _ in range(4)]
        unknown = [await log_in(http, "nobody-by-this-name", "not-the-password") for _ in range(4)]

    assert [r.status_code for r in known] == [401, 401, 401, 429]
    assert [visible(r) for r in known[:3]] == [visible(r) for r in unknown[:3]]
    assert known[0].json() == {"error": "invalid_credentials", "message": "Wrong username or password."}
    assert visible(known[3]) == visible(unknown[3])


async def test_the_unknown_user_path_verifies_a_password_hash_like_the_known_one(
    make: Factory, settings: Settings, database_url: str, verifications: list[str]
) -> None:
    username, _ = await make.user(Role.HIRING_MANAGER, await make.employer())
    client_id, _ = await make.api_client(await make.employer())
    verifications.clear()
    async with throttled_app(settings, database_url) as app, http_from(app) as http:
        await log_in(http, "nobody-by-this-name", "not-the-password")
        await log_in(http, username, "not-the-password")
        await get_token(http, "no-such-client", "not-the-secret")
        await get_token(http, client_id, "not-the-secret")

    assert len(verifications) == 4  # one argon2 verification each, whether or not the account exists
    dummy = auth.passwords._DUMMY_HASH
    assert [v == dummy for v in verifications] == [True, False, True, False]
    assert all(v.startswith("$argon2id$") for v in verifications)


async def test_the_attempt_after_n_failures_is_refused_with_retry_after(
    make: Factory, settings: Settings, database_url: str
) -> None:
    username, _ = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    async with throttled_app(settings, database_url) as app, http_from(app) as http:
        failures = [await log_in(http, username, f"guess-{n}") for n in range(3)]
        throttled = await log_in(http, username, "guess-3")

    assert [r.status_code for r in failures] == [401, 401, 401]
    assert throttled.status_code == 429
    assert 15 <= int(throttled.headers["Retry-After"]) <= 20
    assert throttled.json() == {
        "error": "too_many_attempts",
        "message": f"Too many failed attempts: try again in {throttled.headers['Retry-After']} seconds.",
    }
    assert "set-cookie" not in throttled.headers


async def test_a_throttled_account_cannot_log_in_with_the_right_password_until_the_wait_is_over(
    make: Factory, settings: Settings, database_url: str
) -> None:
    username, password = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    # One attempt, then one every 3 seconds: short enough to wait for.
    async with throttled_app(settings, database_url, login_max_failures=1, login_failure_window_seconds=3.0) as app:
        async with http_from(app) as http:
            failure = await log_in(http, username, "guess")
            refused = await log_in(http, username, password)
            await asyncio.sleep(int(refused.headers["Retry-After"]))
            accepted = await log_in(http, username, password)

    assert failure.status_code == 401
    assert refused.status_code == 429
    assert accepted.status_code == 200, accepted.text
    assert "karngar_session" in accepted.headers["set-cookie"]


async def test_a_throttled_account_leaves_other_accounts_alone(
    make: Factory, settings: Settings, database_url: str
) -> None:
    employer = await make.employer()
    (attacked, attacked_password), (colleague, colleague_password) = [
        await make.user(Role.HIRING_MANAGER, employer) for _ in range(2)
    ]
    async with throttled_app(settings, database_url) as app:
        async with http_from(app, "10.1.0.66") as attacker, http_from(app, "10.1.0.2") as office:
            for n in range(3):
                await log_in(attacker, attacked, f"guess-{n}")
            colleague_from_the_same_address = await log_in(attacker, colleague, colleague_password)
            attacked_from_the_office = await log_in(office, attacked, attacked_password)
            colleague_from_the_office = await log_in(office, colleague, colleague_password)

    assert colleague_from_the_same_address.status_code == 200
    assert attacked_from_the_office.status_code == 429  # the account is throttled wherever the guesses come from
    assert colleague_from_the_office.status_code == 200


async def test_an_address_spraying_guesses_over_many_accounts_is_throttled_and_only_that_address(
    make: Factory, settings: Settings, database_url: str
) -> None:
    username, password = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    async with throttled_app(settings, database_url, login_max_failures=10, login_ip_max_failures=3) as app:
        async with http_from(app, "10.1.0.66") as sprayer, http_from(app, "10.1.0.2") as office:
            sprayed = [(await log_in(sprayer, f"user-{n}", "Password1")).status_code for n in range(3)]
            from_that_address = await log_in(sprayer, username, password)
            from_the_office = await log_in(office, username, password)

    assert sprayed == [401, 401, 401]
    assert from_that_address.status_code == 429
    assert from_the_office.status_code == 200


async def test_a_successful_login_forgets_the_accounts_earlier_failures(
    make: Factory, settings: Settings, database_url: str
) -> None:
    username, password = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    async with throttled_app(settings, database_url) as app, http_from(app) as http:
        statuses = [
            (await log_in(http, username, "typo-1")).status_code,
            (await log_in(http, username, "typo-2")).status_code,
            (await log_in(http, username, password)).status_code,
            (await log_in(http, username, "typo-3")).status_code,
            (await log_in(http, username, "typo-4")).status_code,
        ]

    assert statuses == [401, 401, 200, 401, 401]


async def test_the_token_endpoint_throttles_a_client_id_known_or_not(
    make: Factory, settings: Settings, database_url: str
) -> None:
    client_id, secret = await make.api_client(await make.employer())
    async with throttled_app(settings, database_url) as app, http_from(app) as http:
        known = [await get_token(http, client_id, f"wrong-{n}") for n in range(3)]
        right_secret_too_soon = await get_token(http, client_id, secret)
        unknown = [await get_token(http, "no-such-client", f"wrong-{n}") for n in range(4)]

    assert [r.status_code for r in known] == [401, 401, 401]
    assert {r.json()["error"] for r in known} == {"invalid_client"}
    assert right_secret_too_soon.status_code == 429
    assert right_secret_too_soon.json()["error"] == "slow_down"
    assert int(right_secret_too_soon.headers["Retry-After"]) >= 1
    assert "access_token" not in right_secret_too_soon.json()
    assert [visible(r) for r in unknown] == [visible(r) for r in [*known, right_secret_too_soon]]


async def test_failures_count_across_api_processes(make: Factory, settings: Settings, database_url: str) -> None:
    username, _ = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    async with throttled_app(settings, database_url) as one, throttled_app(settings, database_url) as two:
        async with http_from(one) as first_process, http_from(two) as second_process:
            statuses = [
                (await log_in(first_process, username, "guess-1")).status_code,
                (await log_in(second_process, username, "guess-2")).status_code,
                (await log_in(first_process, username, "guess-3")).status_code,
                (await log_in(second_process, username, "guess-4")).status_code,
            ]

    assert statuses == [401, 401, 401, 429]
