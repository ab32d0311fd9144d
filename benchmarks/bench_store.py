"""Benchmark the decision store: `policyengine score` on N generated clean applicants without a store, with
`--store` (SQLite, and PostgreSQL when a server can be started), and with `--audit FILE.jsonl`.

    python benchmarks/bench_store.py [--rows 100000]

Each variant runs in its own process (wall time, best of --repeat); bytes per decision are the store's size on
disk (SQLite: the file after a checkpoint; PostgreSQL: pg_database_size) over the decisions stored, and the
audit file's size over its lines. PostgreSQL uses a temporary server (initdb + pg_ctl on a Unix socket, as the
tests do).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_score import synthetic  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "policyengine", *args], check=True, env=ENV, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-postgres", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        src = d / "in.csv"
        synthetic(a.rows, src)
        base = ["score", str(src), "--out", str(d / "o.csv"), "-q"]
        results: list[tuple[str, float, str]] = []
        print(f"{a.rows} generated applicants, {os.cpu_count()} CPUs", flush=True)
        plain = min(timed(base) for _ in range(a.repeat))
        results.append(("score", plain, ""))
        best = float("inf")
        for i in range(a.repeat):
            db = d / f"s{i}.db"
            best = min(best, timed([*base, "--store", str(db)]))
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            n = conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
        results.append(("score --store sqlite", best, f"{db.stat().st_size / n:.0f} B/decision"))
        audit = d / "a.jsonl"
        t = min(timed([*base, "--audit", str(audit)]) for _ in range(a.repeat))
        lines = sum(1 for _ in audit.open("rb"))
        results.append(("score --audit", t, f"{audit.stat().st_size / lines:.0f} B/record"))
        if not a.no_postgres:
            sys.path.insert(0, str(ROOT / "tests"))
            import psycopg
            import pytest  # noqa: F401  (store_support's skip/fail)
            from tests import store_support as ss

            gen = ss.postgres_server.__wrapped__()  # type: ignore[attr-defined]
            sock = next(gen)
            try:
                url = ss.new_postgres_db(sock)
                t = min(timed([*base, "--store", url]) for _ in range(a.repeat))
                dbname = url.split("@/", 1)[1].split("?")[0]
                with psycopg.connect(f"host={sock} user=postgres dbname={dbname}") as conn:
                    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
                    n = conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
                    empty = conn.execute("SELECT pg_database_size('template1')").fetchone()[0]
                results.append(("score --store postgresql", t, f"{(size - empty) / n:.0f} B/decision"))
            finally:
                next(gen, None)
        print(f"{'variant':<28}{'wall s':>9}{'× plain':>9}  size")
        for name, t, size in results:
            print(f"{name:<28}{t:>9.2f}{t / plain:>9.2f}  {size}")


if __name__ == "__main__":
    main()
