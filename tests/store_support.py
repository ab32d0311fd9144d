"""Shared by the store tests: a PostgreSQL 15 server of the tests' own (initdb + pg_ctl on a Unix socket),
small generated populations, and running the CLI (in this process; `PYTHON -m policyengine` where a test needs a
process of its own)."""

from __future__ import annotations

import glob
import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .sheet_support import cli
from .support import ROOT

__all__ = ["ENV", "PYTHON", "cli", "new_postgres_db", "population", "postgres_server"]

PYTHON = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
_db_numbers = itertools.count(1)


def population(n: int, path: Path) -> Path:
    """n clean generated applicants (the benchmarks' generator), as CSV."""
    spec = importlib.util.spec_from_file_location("bench_score", ROOT / "benchmarks" / "bench_score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.synthetic(n, path)
    return path


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return hits[-1] if hits else None


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL tests need a server: {reason}"
    print(message)
    if os.environ.get("POLICYENGINE_REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " (POLICYENGINE_REQUIRE_POSTGRES=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server in a temporary folder, on a Unix socket only; yields its socket folder."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        _unavailable("initdb/pg_ctl not found on the PATH or under /usr/lib/postgresql/*/bin")
    assert initdb is not None and pg_ctl is not None
    base = Path(tempfile.mkdtemp(prefix="policyengine-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:   # initdb refuses to run as root: run the server as `postgres`, in folders it owns
        if shutil.which("runuser") is None:
            _unavailable("running as root without runuser")
        prefix = ["runuser", "-u", "postgres", "--"]
        for p in (base, sock):
            shutil.chown(p, "postgres", "postgres")
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, timeout=60)
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-t", "30", "-o",
                        f"-k {sock} -c listen_addresses='' -F", "start"], check=True, capture_output=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        _unavailable(f"could not start one: {exc} {getattr(exc, 'stderr', b'')!r} {log[-500:]}")
    try:
        yield str(sock)
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True,
                       timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def new_postgres_db(sock: str) -> str:
    """A fresh database on the test server; its URL."""
    import psycopg

    name = f"t{os.getpid()}_{next(_db_numbers)}"
    with psycopg.connect(f"host={sock} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@/{name}?host={sock}"
