"""The service as a newcomer meets it: health checks, the demo seed, and `karngar serve` with its own database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import text

from api.demo import seed
from db.engine import Database
from tests.processes import free_port, wait_ready


async def test_health_and_readiness_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).text == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "reachable"}


async def test_seed_demo_twice_duplicates_nothing_and_its_credentials_work(
    database_url: str, db: Database, client: httpx.AsyncClient
) -> None:
    await seed(database_url)
    credentials = await seed(database_url)

    async with db.read() as session:
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM employers), (SELECT count(*) FROM users),"
                    " (SELECT count(*) FROM api_clients)"
                )
            )
        ).one()
    assert tuple(counts) == (3, 8, 4)
    assert {e["sector"] for e in credentials["employers"]} == {"TEXTILE", "CONSTRUCTION", "AGRICULTURE"}
    assert [u["role"] for u in credentials["ministry"]["users"]] == ["MINISTRY_AUDITOR", "PROVINCIAL_OFFICER"]

    hr = credentials["employers"][0]["apiClient"]
    token = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(hr["clientId"], hr["clientSecret"])
    )
    assert token.status_code == 200, token.text
    viewer = await client.post(
        "/graphql",
        json={"query": "{ viewer { employer { name sector } } }"},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert viewer.json()["data"]["viewer"]["employer"] == {
        "name": "Angkor Garment Manufacturing Co., Ltd.",
        "sector": "TEXTILE",
    }
    manager = credentials["employers"][0]["users"][1]
    login = await client.post("/auth/login", json={"username": manager["username"], "password": manager["password"]})
    assert login.status_code == 200, login.text


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(KARNGAR_DATA_DIR=str(data_dir), KARNGAR_PORT=str(port))
    karngar = Path(sys.executable).with_name("karngar")
    return subprocess.Popen([str(karngar), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


def _postgres_running(data_dir: Path) -> bool:
    """PostgreSQL writes its pid to postmaster.pid while it runs and removes the file when it stops."""
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return False
    return Path(f"/proc/{pid_file.read_text().split()[0]}").exists()


def test_serve_runs_on_its_embedded_database_keeps_data_and_stops_it(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "karngar", free_port()

    process = _start(data_dir, port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        assert _postgres_running(data_dir)
        metadata = httpx.get(f"http://127.0.0.1:{port}/.well-known/oauth-authorization-server").json()
        assert metadata["token_endpoint"] == f"http://127.0.0.1:{port}/oauth/token"
        ide = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 401 and "Log in" in ide.text  # the explorer is for logged-in sessions only
    finally:
        _stop(process)
    assert not _postgres_running(data_dir)

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KARNGAR_DATA_DIR"] = str(data_dir)
    karngar = Path(sys.executable).with_name("karngar")
    seeded = subprocess.run([str(karngar), "seed-demo", "--json"], env=env, capture_output=True, check=True)
    hr = json.loads(seeded.stdout)["employers"][1]["apiClient"]

    process = _start(data_dir, port)  # the same data directory: the seeded client is still there
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        token = httpx.post(
            f"http://127.0.0.1:{port}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(hr["clientId"], hr["clientSecret"]),
        )
        assert token.status_code == 200, token.text
    finally:
        _stop(process)
    assert not _postgres_running(data_dir)
