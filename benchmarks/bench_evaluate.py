"""Benchmark `evaluate()` per applicant with each backend: median and 99th percentile.

    python benchmarks/bench_evaluate.py [--rounds 20] [--synthetic 2000] [--seed 2021] [--check]

Populations, both decided under the two bundled packages (皇钻十六条 and municipal) at once:

- `example`: the readable rows of examples/applicants_2021.csv (GBK, Chinese headers), repeated `--rounds`
  times in a shuffled order;
- `synthetic`: `--synthetic` deterministic random applicants (cell text, some blanks), each decided once.

For every backend available in this process it times one `evaluate()` call per applicant (facts read from
cell text, the package version chosen by year, clause outcomes, settlement, the audit record); the backends
take turns on each applicant, so that a loaded machine slows them alike. For `rete` it also times the
engine's own share (encoding the applicant and one assert/collect/retract per version), which is what the
Rete backend adds on top of the interpreter it checks against. Rulesets are created before timing starts
(once per version per process, as in production).

The yardstick is `hand-written (parsed facts)`: benchmarks/handwritten_evaluate.py's direct if/else
computation of the same decisions (versions, clause statuses and amounts after settlement, totals; no trace),
from facts read from their cells beforehand, outside the timing. It takes its turn with the backends on each
applicant, and the table ends with each backend's median over the hand-written median (issue 9: at most 6×).
`--check` first confirms that the hand-written computation agrees with `evaluate()` (interpreter) on the
example rows, the synthetic population and as many edge-case rows, and stops if it does not.
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

from policyengine import FactError, Package, evaluate
from policyengine.decide.evaluate import fact_index
from policyengine.engines.base import available_backends
from policyengine.facts.applicant import read_facts
from policyengine.model.bundled import load_bundled

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handwritten_evaluate  # a sibling script, importable once its folder is on the path

ROOT = Path(__file__).resolve().parent.parent
Row = dict[str, object]


def example_rows(packages: Sequence[Package]) -> list[Row]:
    """The readable rows of the example sheet (the deliberately bad ones are left out)."""
    with (ROOT / "examples" / "applicants_2021.csv").open(encoding="gb18030", newline="") as f:
        rows: list[Row] = [dict(r) for r in csv.DictReader(f)]
    readable = []
    for row in rows:
        try:
            evaluate(packages, row, backend="interpreter")
        except FactError:
            continue
        readable.append(row)
    return readable


def synthetic_rows(packages: Sequence[Package], n: int, seed: int) -> list[Row]:
    """Deterministic random applicants as cell text, by fact name; about a tenth of the cells blank."""
    rng = random.Random(seed)
    specs = fact_index(packages).specs
    rows = []
    for i in range(n):
        year = rng.choice([2019, 2020, 2021, 2022])
        row: Row = {"uscc": "91350100M000100Y43", "application_year": str(year)}
        for name, spec in specs.items():
            if name in row or rng.random() < 0.1:
                continue
            if spec.type == "enum":
                row[name] = rng.choice(spec.values or [""])
            elif spec.type == "bool":
                row[name] = rng.choice(["否", "否", "否", "是"])
            elif spec.type == "year":
                row[name] = str(year - rng.choice([1, 1, 1, 2, 3, 4]))
            elif spec.type == "money":
                row[name] = rng.choice([f"{rng.randint(0, 300)}万", str(rng.randint(0, 5_000_000)), "0"])
            elif spec.type == "rate":
                row[name] = f"{rng.randint(0, 100)}%"
            elif spec.type == "integer":
                row[name] = str(rng.randint(0, 20))
            elif name == "registered_city":
                row[name] = rng.choice(["沈阳市", "沈阳市", "大连市"])
            elif spec.type == "text" and name != "name":
                row[name] = rng.choice(["皇姑区", "皇姑区", "皇姑区", "和平区"])
            else:
                row[name] = f"企业{i}"
        rows.append(row)
    return rows


def timed(cases: Sequence[Callable[[Row], object]], rows: Sequence[Row]) -> list[list[float]]:
    """Seconds per call for each case, one call per row; the cases take turns on each row, so that a
    shared machine's changing load falls on all of them alike."""
    out: list[list[float]] = [[] for _ in cases]
    clock = time.perf_counter
    for row in rows:
        for fn, samples in zip(cases, out, strict=True):
            t0 = clock()
            fn(row)
            samples.append(clock() - t0)
    return out


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def engine_share(packages: Sequence[Package], rows: Sequence[Row]) -> Callable[[Row], object]:
    """Encode the applicant and fire each version it falls under: the Rete backend's own work (the facts are
    read from their cells beforehand, outside the timing)."""
    from policyengine.engines.rete import prepare
    from policyengine.engines.rete.encode import encode_facts

    index = fact_index(packages)
    typed = {id(r): read_facts(index, r) for r in rows}
    chosen = {}
    for r in rows:
        year = typed[id(r)].values.get("application_year")
        chosen[id(r)] = [v for p in packages if isinstance(year, Fraction) and (v := p.for_year(int(year)))]

    def run(row: Row) -> object:
        facts = typed[id(row)]
        fired = []
        for version in chosen[id(row)]:
            prepared = prepare(version)
            fired.append(prepared.engine.fire(encode_facts(prepared.compiled, version, facts)))
        return fired

    return run


def hand_written(packages: Sequence[Package], rows: Sequence[Row]) -> Callable[[Row], object]:
    """The hand-written computation of the same decisions, from facts read beforehand, outside the timing."""
    index = fact_index(packages)
    typed = {id(r): read_facts(index, r).values for r in rows}
    decide_facts = handwritten_evaluate.decide

    def run(row: Row) -> object:
        return decide_facts(typed[id(row)])

    return run


def decide(packages: Sequence[Package], backend: str) -> Callable[[Row], object]:
    def run(row: Row) -> object:
        return evaluate(packages, row, backend=backend)

    return run


HAND = "hand-written (parsed facts)"


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=20, help="times the example population is decided")
    ap.add_argument("--synthetic", type=int, default=2000, help="synthetic applicants")
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--check", action="store_true",
                    help="first check the hand-written computation against evaluate() (interpreter)")
    args = ap.parse_args(argv)

    packages = load_bundled()
    examples = example_rows(packages)
    rng = random.Random(args.seed)
    populations = {"example": [r for _ in range(args.rounds) for r in rng.sample(examples, len(examples))],
                   "synthetic": synthetic_rows(packages, args.synthetic, args.seed)}
    if args.check:
        checked = {"example": examples, "synthetic": populations["synthetic"],
                   "edge": handwritten_evaluate.edge_rows(packages, args.synthetic, args.seed)}
        mismatches = 0
        for label, rows in checked.items():
            problems = handwritten_evaluate.check(packages, rows)
            mismatches += len(problems)
            print(f"check {label}: {len(rows)} rows, hand-written vs evaluate(): {len(problems)} mismatches")
            for line in problems[:20]:
                print("  " + line)
        if mismatches:
            sys.exit(1)
    backends = available_backends()
    print(f"Python {platform.python_version()} on {platform.machine()}, backends: {', '.join(backends)}")
    print(f"example: {len(examples)} readable rows x {args.rounds} rounds; synthetic: {args.synthetic} applicants")
    print(f"{'population':<10} {'what':<28} {'calls':>6} {'median ms':>10} {'p99 ms':>8} {'mean ms':>8}")
    ratios: list[str] = []
    for pop_name, rows in populations.items():
        cases: list[tuple[str, Callable[[Row], object]]] = []
        for backend in backends:
            cases.append((f"evaluate(), {backend}", decide(packages, backend)))
        if "rete" in backends:
            cases.append(("rete engine share", engine_share(packages, rows)))
        cases.append((HAND, hand_written(packages, rows)))
        for _, fn in cases:
            for r in rows[:20]:      # warm-up: rulesets, caches
                fn(r)
        medians: dict[str, float] = {}
        for (label, _), samples in zip(cases, timed([fn for _, fn in cases], rows), strict=True):
            medians[label] = statistics.median(samples)
            print(f"{pop_name:<10} {label:<28} {len(samples):>6} {medians[label] * 1e3:>10.3f} "
                  f"{percentile(samples, 99) * 1e3:>8.3f} {statistics.fmean(samples) * 1e3:>8.3f}")
        for backend in backends:
            ratios.append(f"{pop_name:<10} evaluate(), {backend:<13} median / hand-written median: "
                          f"{medians[f'evaluate(), {backend}'] / medians[HAND]:.1f}×")
    print("\n".join(ratios))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
