"""Signing-key rotation: a new key signs, the old one stays published and valid until its tokens expire.

Each test reads given / when / then, one block each, separated by blank lines. The service keeps running
throughout: it must notice the rotated key file by itself.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jws
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.settings import Settings
from auth import keys
from db.engine import Database
from tests.factories import Caller, Factory

VIEWER = "{ viewer { employer { sector } } }"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "signing-key.json"


@pytest.fixture
async def http(
    settings: Settings, database_url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """A running service of its own, whose key file the tests rotate; it re-reads the file at every use
    here instead of at most once a second."""
    monkeypatch.setattr(keys, "RECHECK_SECONDS", 0.0)
    application = create_app(replace(settings, signing_key_file=key_file), database_url)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def karngar(key_file: Path, *args: str) -> dict[str, Any]:
    """Run the `karngar rotate-signing-key` command (in this process, for speed) and read the JSON it prints."""
    env = {"KARNGAR_SIGNING_KEY_FILE": str(key_file), "KARNGAR_ACCESS_TOKEN_TTL": "3600"}
    done = CliRunner().invoke(cli, ["rotate-signing-key", *args], env=env)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def kid_of(token: str) -> str:
    return str(jws.extract_compact(token.encode()).headers()["kid"])


async def jwks_kids(http: httpx.AsyncClient) -> list[str]:
    return [key["kid"] for key in (await http.get("/.well-known/jwks.json")).json()["keys"]]


async def answers(http: httpx.AsyncClient, token: str) -> int:
    response = await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 200:
        assert response.json()["data"]["viewer"]["employer"]["sector"] == "TEXTILE"
    return response.status_code


def time_passes_until_old_tokens_expire(key_file: Path) -> None:
    """Move every retiring key's retirement time (its last token's expiry plus skew) into the past."""
    data = json.loads(key_file.read_text())
    data["retire_at"] = {kid: time.time() - 1 for kid in data["retire_at"]}
    key_file.write_text(json.dumps(data))


def kids_in_file(key_file: Path) -> list[str]:
    return [key["kid"] for key in json.loads(key_file.read_text())["keys"]]


def notice_the_file() -> None:
    time.sleep(0.01)  # a later modification time than the last write's


async def test_after_rotation_new_tokens_use_the_new_key_and_old_tokens_stay_valid(
    db: Database, http: httpx.AsyncClient, key_file: Path
) -> None:
    make = Factory(db, http)
    old: Caller = await make.employer_caller()
    old_kid = kid_of(old.token)

    rotated = karngar(key_file)
    notice_the_file()
    new_token = await make.token(old.client_id, old.secret)

    assert rotated["signingKid"] != old_kid
    assert list(rotated["retiring"]) == [old_kid]
    assert kid_of(new_token) == rotated["signingKid"]
    assert await jwks_kids(http) == [rotated["signingKid"], old_kid]
    assert await answers(http, old.token) == 200
    assert await answers(http, new_token) == 200


async def test_a_retired_key_is_unpublished_and_refused_once_its_tokens_have_expired(
    db: Database, http: httpx.AsyncClient, key_file: Path
) -> None:
    make = Factory(db, http)
    old = await make.employer_caller()
    new_kid = karngar(key_file)["signingKid"]
    notice_the_file()
    new_token = await make.token(old.client_id, old.secret)

    time_passes_until_old_tokens_expire(key_file)
    notice_the_file()

    assert await jwks_kids(http) == [new_kid]
    assert await answers(http, old.token) == 401
    assert await answers(http, new_token) == 200
    assert karngar(key_file, "--retire") == {"removed": [kid_of(old.token)]}
    assert kids_in_file(key_file) == [new_kid]


async def test_retire_keeps_a_key_whose_tokens_are_still_valid_unless_forced(
    db: Database, http: httpx.AsyncClient, key_file: Path
) -> None:
    make = Factory(db, http)
    old = await make.employer_caller()
    karngar(key_file)

    kept = karngar(key_file, "--retire")
    notice_the_file()
    still_valid = await answers(http, old.token)
    forced = karngar(key_file, "--retire", "--force")
    notice_the_file()

    assert kept == {"removed": []}
    assert still_valid == 200
    assert forced == {"removed": [kid_of(old.token)]}
    assert await answers(http, old.token) == 401
    assert os.stat(key_file).st_mode & 0o777 == 0o600


async def test_two_rotations_keep_both_older_keys_until_they_retire(
    db: Database, http: httpx.AsyncClient, key_file: Path
) -> None:
    make = Factory(db, http)
    first = await make.employer_caller()

    karngar(key_file)
    notice_the_file()
    second_token = await make.token(first.client_id, first.secret)
    third_kid = karngar(key_file)["signingKid"]
    notice_the_file()

    assert await jwks_kids(http) == [third_kid, kid_of(second_token), kid_of(first.token)]
    assert await answers(http, first.token) == 200
    assert await answers(http, second_token) == 200
