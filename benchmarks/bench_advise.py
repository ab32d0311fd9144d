"""Benchmark `policyengine score --advise` against `policyengine score` on the same file.

    python benchmarks/bench_advise.py [--rows 1000] [--rounds 3]

Generates the synthetic applicants of `bench_score.py` (UTF-8, Chinese headers, deterministic) in a temporary
folder (never in the repository), then runs, round after round and alternating so that a changing load slows
both alike, `score FILE --out OUT.csv -q` and the same with `--advise`, each in its own process. Reports each
command's best and median wall time, the ratio advise / plain, and the advice's cost per row (best advise time
minus best plain time, over the rows); checks that the two outputs agree on every column but `advise`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent


def _synthetic() -> object:
    spec = importlib.util.spec_from_file_location("bench_score", ROOT / "benchmarks" / "bench_score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic


def _run(args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "policyengine", *args], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "applicants.csv"
        _synthetic()(opts.rows, source)  # type: ignore[operator]
        print(f"{opts.rows} rows; load average before: {os.getloadavg()}")
        times: dict[str, list[float]] = {"plain": [], "advise": []}
        for _ in range(opts.rounds):
            times["plain"].append(_run(["score", str(source), "--out", str(folder / "plain.csv"), "-q"]))
            times["advise"].append(_run(["score", str(source), "--out", str(folder / "advise.csv"), "-q",
                                         "--advise"]))
        print(f"load average after: {os.getloadavg()}")
        for name, t in times.items():
            print(f"{name:<7} best {min(t):7.2f} s  median {statistics.median(t):7.2f} s")
        best_plain, best_advise = min(times["plain"]), min(times["advise"])
        advised = pl.read_csv(folder / "advise.csv", infer_schema=False)
        plain = pl.read_csv(folder / "plain.csv", infer_schema=False)
        assert advised.drop("advise").equals(plain), "score --advise changed a column other than advise"
        rows = advised.height
        filled = int((advised.get_column("advise").fill_null("") != "").sum())
        print(f"ratio advise / plain: {best_advise / best_plain:.1f}; advice per row "
              f"{1000 * (best_advise - best_plain) / max(rows, 1):.1f} ms ({rows} rows out, {filled} with a nearest "
              "clause)")


if __name__ == "__main__":
    main()
