"""The code stays as the style guide asks: ruff-clean, formatted and type-checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _ruff(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=root, capture_output=True, text=True)


def test_the_code_passes_ruff(repo_root: Path) -> None:
    result = _ruff("check", ".", root=repo_root)
    assert result.returncode == 0, result.stdout


def test_the_code_is_formatted(repo_root: Path) -> None:
    result = _ruff("format", "--check", ".", root=repo_root)
    assert result.returncode == 0, result.stdout


def test_the_service_type_checks(repo_root: Path) -> None:
    """mypy on the packages pyproject.toml names ([tool.mypy] files): the service's code, not yet its tests."""
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
