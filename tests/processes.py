"""`karngar serve` as a subprocess in tests: a free loopback port, and waiting until it answers /readyz."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, process: subprocess.Popen[bytes], *, seconds: float = 90) -> None:
    """Until `base`/readyz answers 200; fails with the server's output if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(process.stdout.read().decode() if process.stdout else "karngar serve exited")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"karngar serve did not become ready within {seconds:.0f} s")
