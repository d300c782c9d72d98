"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, pg_ctl start on 127.0.0.1.

PostgreSQL refuses to run as root, so under uid 0 the server runs as the `postgres`
user (or `nobody`) in a folder handed to it. Without the binaries the tests skip,
except under BENCH_REQUIRE_SYSTEM_TOOLS=1 (CI), where they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from conftest import system_tool_missing

PASSWORD = "s3cret-pw"  # trust authentication ignores it; tests check it is never printed


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve() -> Iterator[str]:
    """Yield postgresql://bench:PASSWORD@127.0.0.1:PORT/postgres of a running server; stop it after.

    Use it as a fixture: `postgres_url = pytest.fixture(scope="session")(pgserver.serve)`.
    """
    bindir = _bindir()
    if bindir is None:
        system_tool_missing("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin;"
                     " apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
        if user is None or not shutil.which("runuser"):
            system_tool_missing("running as root without a postgres/nobody user and runuser to start PostgreSQL as")
        shutil.chown(root, user)
        prefix = ["runuser", "-u", user, "--"]
    data, port = root / "data", _free_port()

    def call(*args: str) -> None:
        proc = subprocess.run(prefix + list(args), capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            pytest.fail(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}\n{log}")

    try:
        call(str(bindir / "initdb"), "-D", str(data), "-U", "bench", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        call(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60",
             "-o", options, "start")
        yield f"postgresql://bench:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
