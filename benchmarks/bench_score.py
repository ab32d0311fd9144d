"""Benchmark `policyengine score` against a minimal hand-written polars script, and time `evaluate()`.

    python benchmarks/bench_score.py [--rows 1000000] [--csv FILE] [--rounds 3] [--both] [--keep DIR]

Generates a synthetic applicant CSV (UTF-8, Chinese label headers, deterministic) in a temporary folder
(never in the repository), or takes `--csv`, then runs in turns, round after round, each in its own process,
measuring wall time and peak memory (the child's maximum resident set size):

1. the hand-written baseline (`baseline_hz30.py`) for 皇钻十六条 3.0;
2. `policyengine score FILE --package rules/huangzuan16 --version 3.0 --out OUT.csv` (CSV in, CSV out);
3. with `--both`: `policyengine score` with both bundled packages.

The commands alternate within each round, so that a changing load on a shared machine slows them alike; the
load average is printed before and after. It reports each command's best and median wall time, peak memory,
and the ratios score / baseline, and checks that the two agree on every clause amount and total (the
baseline does the same decisions). Then `evaluate()` per applicant (interpreter and default backends) on the
first rows (`--evaluate-rows 0` skips it).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def synthetic(n: int, path: Path) -> None:
    """n applicants for application year 2021, spelled plainly; about 1 in 8 eligible for any one clause."""
    i = pl.int_range(0, n, dtype=pl.UInt64, eager=False)

    def pick(seed: int, options: list[str | None]) -> pl.Expr:
        k = (i.hash(seed) % len(options)).cast(pl.Int64)
        return pl.lit(pl.Series(options, dtype=pl.String)).gather(k)

    def num(seed: int, hi: int) -> pl.Expr:
        return (i.hash(seed) % hi).cast(pl.String)

    years = ["2020", "2020", "2019", "2018", "2017", None, None, None]
    body = pl.concat_str([pl.lit("91210105MA"), (i + 1_000_000).cast(pl.String).str.zfill(7)])
    frame = pl.LazyFrame().select(
        pl.concat_str([pl.lit("沈阳合成企业"), i.cast(pl.String), pl.lit("有限公司")]).alias("企业名称"),
        body.alias("uscc_body"),
        pl.lit("2021").alias("申报年度"),
        pick(1, ["皇姑区"] * 9 + ["铁西区"]).alias("注册地所在区"),
        pick(2, ["皇姑区"] * 9 + ["和平区"]).alias("税收户管地所在区"),
        pick(3, ["否"] * 19 + ["是"]).alias("是否列入严重失信主体名单"),
        pick(4, ["无", "无", "首次认定", "重新认定", None]).alias("高新技术企业认定类型"),
        pick(5, years).alias("高新技术企业认定年份"),
        pick(6, years).alias("高新技术企业迁入年份"),
        pick(7, years).alias("科技型中小企业入库年份"),
        num(8, 5_000_000).alias("上年度研发费用"),
        num(9, 4_000_000).alias("前年度研发费用"),
        pick(10, ["无", "无", "无", "瞪羚", "独角兽"]).alias("成长型企业类别"),
        pick(11, years).alias("成长型企业认定年份"),
        pick(12, ["无", "无", "市级", "省级", "国家级"]).alias("双创载体级别"),
        pick(13, years).alias("双创载体认定年份"),
        pick(14, ["无", "无", "市级", "省级"]).alias("双创载体已获奖励级别"),
        pick(15, ["95%", "85%", "80%", "79%", "60%"]).alias("载体入驻率"),
        num(16, 30).alias("载体入驻企业数"),
        num(17, 12).alias("载体入驻高新技术企业数"),
        num(18, 2_000_000).alias("为入驻中小微企业减免租金"),
        pick(19, ["无", "无", "无", "市级", "省级"]).alias("新型研发机构级别"),
        pick(20, years).alias("新型研发机构认定年份"),
        pick(21, ["无", "无", "市级"]).alias("新型研发机构已获奖励级别"),
        num(22, 5_000_000).alias("研发仪器设备投入"),
        pick(23, years).alias("域外创新中心省级认定年份"),
        num(24, 600_000).alias("域外创新中心租金"),
        pick(25, years).alias("中外合作创新平台运营年份"),
        num(26, 30_000_000).alias("技术合同登记成交额"),
        pick(27, ["无", "无", "国家级", "省级"]).alias("赛事级别"),
        pick(28, ["无", "一等奖", "二等奖", "三等奖"]).alias("赛事获奖等次"),
        pick(29, years).alias("赛事获奖年份"),
        num(30, 5).alias("举办创新活动场次"),
        num(31, 500_000).alias("创新活动费用"),
        pick(32, ["沈阳市"] * 4 + ["大连市"]).alias("注册地所在市"),
        pick(33, years).alias("高新技术企业培育库入库年份"),
    ).collect()
    from policyengine.facts.uscc import check_character

    checks = [check_character(b) for b in frame.get_column("uscc_body").to_list()]
    frame = frame.with_columns((pl.col("uscc_body") + pl.Series(checks)).alias("统一社会信用代码")).drop("uscc_body")
    cols = frame.columns
    frame.select(cols[0], "统一社会信用代码", *cols[1:-1]).write_csv(path)


def measure(argv: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system, all threads) of one command, run in a fresh
    wrapper process."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); dt = time.perf_counter() - t; "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print(dt, u.ru_maxrss, u.ru_utime + u.ru_stime); sys.exit(r.returncode)")
    out = subprocess.run([sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, check=True)
    seconds, kib, cpu = out.stdout.splitlines()[-1].split()
    return float(seconds), int(kib) // 1024, float(cpu)


def evaluate_timing(csv: Path, rows: int) -> dict[str, float]:
    from policyengine import evaluate
    from policyengine.model.bundled import load_bundled

    packages = load_bundled()
    sample = pl.read_csv(csv, n_rows=rows, infer_schema=False).to_dicts()
    out = {}
    for backend in ("interpreter", None):
        evaluate(packages, sample[0], backend=backend)
        t = time.perf_counter()
        for r in sample:
            evaluate(packages, r, backend=backend)
        out[backend or "default"] = (time.perf_counter() - t) / len(sample) * 1000
    return out


def agree(baseline: Path, scored: Path) -> str:
    """Whether the baseline's and `policyengine score`'s clause amounts and totals are the same, row by row."""
    b = pl.read_csv(baseline, infer_schema=False)
    s = pl.read_csv(scored, infer_schema=False)
    ids = [c for c in b.columns if c.startswith("a") and "." not in c]
    pairs = [(i, f"huangzuan16.{i}.amount") for i in ids] + [("total", "total")]
    if b.height != s.height:
        return f"DIFFERENT row counts: {b.height} vs {s.height}"
    bad = [x for x, y in pairs if not b.get_column(x).equals(s.get_column(y))]
    return f"amounts and totals agree on all {b.height:,} rows" if not bad else f"DIFFERENT amounts: {bad}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--csv", type=Path, help="score this file instead of generating one")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; each runs every command once, in turn")
    ap.add_argument("--both", action="store_true", help="also time `policyengine score` with both packages")
    ap.add_argument("--evaluate-rows", type=int, default=2_000)
    ap.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pe-bench-"))
    try:
        csv = args.csv or tmp / "applicants.csv"
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"polars {pl.__version__}")
        if args.csv is None:
            t = time.perf_counter()
            synthetic(args.rows, csv)
            print(f"generated {args.rows:,} rows ({csv.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - t:.1f} s")
        else:
            print(f"input {csv} ({csv.stat().st_size / 2**20:.0f} MiB)")
        pe = [str(BIN / "policyengine")] if (BIN / "policyengine").exists() else [sys.executable, "-m", "policyengine"]
        hz = str(ROOT / "rules" / "huangzuan16")
        commands = {
            "baseline (hand-written polars, 3.0)": [sys.executable, str(ROOT / "benchmarks" / "baseline_hz30.py"),
                                                    str(csv), str(tmp / "baseline.csv")],
            "policyengine score, 皇钻十六条 3.0": [*pe, "score", str(csv), "--package", hz, "--version", "3.0",
                                               "--out", str(tmp / "hz30.csv"), "--quiet"],
        }
        if args.both:
            commands["policyengine score, both packages"] = [*pe, "score", str(csv), "--out", str(tmp / "all.csv"),
                                                             "--quiet"]
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        runs: dict[str, list[tuple[float, int, float]]] = {name: [] for name in commands}
        for r in range(args.rounds):
            for name, argv in commands.items():
                runs[name].append(measure(argv))
                seconds, mib, cpu = runs[name][-1]
                print(f"  round {r + 1}: {name:<40} {seconds:6.2f} s  cpu {cpu:6.2f} s  peak {mib:,} MiB", flush=True)
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        rows = pl.read_csv(csv, infer_schema=False, columns=[0]).height
        best = {name: min(s for s, _, _ in rs) for name, rs in runs.items()}
        median = {name: statistics.median(s for s, _, _ in rs) for name, rs in runs.items()}
        cpu = {name: statistics.median(c for _, _, c in rs) for name, rs in runs.items()}
        peak = {name: max(m for _, m, _ in rs) for name, rs in runs.items()}
        for name in commands:
            print(f"{name:<40} best {best[name]:6.2f} s  median {median[name]:6.2f} s  cpu {cpu[name]:6.2f} s  "
                  f"{rows / best[name]:>10,.0f} rows/s  peak {peak[name]:,} MiB")
        base, score = list(commands)[:2]
        print(f"ratio score 3.0 / baseline: wall {best[score] / best[base]:.2f}× (best), "
              f"{median[score] / median[base]:.2f}× (median); cpu {cpu[score] / cpu[base]:.2f}× (median); "
              f"peak memory {peak[score] / peak[base]:.2f}× (highest of each)")
        print(agree(tmp / "baseline.csv", tmp / "hz30.csv"))
        if args.evaluate_rows:
            per = evaluate_timing(csv, args.evaluate_rows)
            for backend, ms in per.items():
                print(f"evaluate() per applicant, both packages, backend {backend}: {ms:.2f} ms")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in tmp.iterdir():
                shutil.copy(f, args.keep / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
