"""Shared fixtures: one feature cache and embedded dataset for the whole session, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Embedded datasets and features, shared so each is written once per session."""
    return tmp_path_factory.mktemp("bench-cache")


def run_cli(*args: str, cwd: Path, cache: Path, check: bool = True, env_extra: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `bench` command in a subprocess, as a user would."""
    env = {**os.environ, "BENCH_CACHE_DIR": str(cache), "COLUMNS": "200", **(env_extra or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"bench {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def cli(tmp_path, cache_dir):
    def call(*args: str, **kw) -> subprocess.CompletedProcess:
        return run_cli(*args, cwd=kw.pop("cwd", tmp_path), cache=cache_dir, **kw)

    return call


def system_tool_missing(reason: str) -> None:
    """Skip a test whose system tool (chromium, PostgreSQL) is missing; fail under CI's BENCH_REQUIRE_SYSTEM_TOOLS=1."""
    if os.environ.get("BENCH_REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(f"{reason} (BENCH_REQUIRE_SYSTEM_TOOLS=1: required here)")
    pytest.skip(reason)
