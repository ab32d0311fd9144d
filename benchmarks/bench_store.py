"""Benchmark the decision store: `policyengine score` on N generated clean applicants without a store, with
`--store` (SQLite, and PostgreSQL when a server can be started), and with `--audit FILE.jsonl`.

    python benchmarks/bench_store.py [--rows 100000] [--repeat 2] [--no-postgres]

Each variant runs in its own process; the variants take turns, round after round (`--repeat`), so that a
changing load on a shared machine slows them alike. Reported per variant: the best wall time, the CPU time
(user + system) of that run, both over plain `score`'s best, the median over the rounds of the wall time over
the same round's plain `score` (the steadier figure on a shared machine), and the load average before and
after. Bytes per
decision are the store's size on disk (SQLite: the file after a checkpoint; PostgreSQL: pg_database_size less
an empty database's) over the decisions stored, and the audit file's size over its lines. PostgreSQL uses a
temporary server (initdb + pg_ctl on a Unix socket, as the tests do), a new database each round.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_score import synthetic  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def timed(args: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `policyengine` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "policyengine", *args], check=True, env=ENV, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
        print(f"{a.rows} generated applicants, {os.cpu_count()} CPUs, load average {load()}", flush=True)
        variants: dict[str, Callable[[int], list[str]]] = {
            "score": lambda i: base,
            "score --store sqlite": lambda i: [*base, "--store", str(d / f"s{i}.db")],
            "score --audit": lambda i: [*base, "--audit", str(d / "a.jsonl")],
        }
        gen = None
        pg_urls: list[str] = []
        if not a.no_postgres:
            sys.path.insert(0, str(ROOT / "tests"))
            import pytest  # noqa: F401  (store_support's skip/fail)
            from tests import store_support as ss

            gen = ss.postgres_server.__wrapped__()  # type: ignore[attr-defined]
            sock = next(gen)

            def pg(i: int) -> list[str]:
                pg_urls.append(ss.new_postgres_db(sock))
                return [*base, "--store", pg_urls[-1]]
            variants["score --store postgresql"] = pg
        best: dict[str, tuple[float, float]] = {}
        ratios: dict[str, list[float]] = {}   # each round's wall time over that round's plain `score`
        try:
            for i in range(a.repeat):
                this_round: dict[str, float] = {}
                for name, args in variants.items():
                    t = timed(args(i))
                    this_round[name] = t[0]
                    if name not in best or t[0] < best[name][0]:
                        best[name] = t
                for name, t in this_round.items():
                    ratios.setdefault(name, []).append(t / this_round["score"])
            sizes: dict[str, str] = {}
            db = d / "s0.db"
            with sqlite3.connect(db) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                n = conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
            sizes["score --store sqlite"] = f"{db.stat().st_size / n:.0f} B/decision"
            audit = d / "a.jsonl"
            lines = sum(1 for _ in audit.open("rb"))
            sizes["score --audit"] = f"{audit.stat().st_size / lines:.0f} B/record"
            if pg_urls:
                import psycopg

                dbname = pg_urls[0].split("@/", 1)[1].split("?")[0]
                with psycopg.connect(f"host={sock} user=postgres dbname={dbname}") as conn:
                    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
                    n = conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
                    empty = conn.execute("SELECT pg_database_size('template1')").fetchone()[0]
                sizes["score --store postgresql"] = f"{(size - empty) / n:.0f} B/decision"
        finally:
            if gen is not None:
                next(gen, None)
        plain, plain_cpu = best["score"]
        print(f"load average after: {load()}")
        print(f"{'variant':<28}{'wall s':>9}{'× plain':>9}{'median ×':>9}{'CPU s':>9}{'× plain':>9}  size")
        for name, (t, cpu) in best.items():
            print(f"{name:<28}{t:>9.2f}{t / plain:>9.2f}{statistics.median(ratios[name]):>9.2f}{cpu:>9.2f}"
                  f"{cpu / plain_cpu:>9.2f}  {sizes.get(name, '')}")
        print("(wall s and CPU s: the best run; × plain: over the best plain run; median ×: the median over the "
              "rounds of each round's wall time over that round's plain `score`)")


if __name__ == "__main__":
    main()
