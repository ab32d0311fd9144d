"""`check`: search a version's declared invariants for counterexamples with hypothesis.

Three searches, each seeded, bounded and without an example database, so a run is deterministic:

- applicant statements (`a14.amount <= 200000`): one applicant, evaluated and settled;
- monotonic invariants: two applicants that differ only in the increasing fact;
- batch statements (`year_total <= 30000000`): a population of one application year, every applicant
  evaluated and settled, then prorated with `settlement.prorate`; the year's total is what was paid.

A search stops at the first violating example and hypothesis shrinks it to the smallest one; the search
then runs again for the invariants not yet violated, so every broken invariant gets its own counterexample.
An expression that cannot be computed (a division by zero) is reported as a finding too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from random import Random
from typing import Literal, TypeVar

from hypothesis import HealthCheck, Phase, find
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from hypothesis.strategies import SearchStrategy

from policyengine.decide.decision import AuditInfo, ClauseResult, Decision, EngineFiring, PackageResult
from policyengine.decide.evaluate import evaluate_version
from policyengine.decide.settlement import prorate
from policyengine.drafting.analysis import YEAR_FACT, walk
from policyengine.drafting.budget import Budget
from policyengine.drafting.render import clause_heading, clause_trace, row_lines
from policyengine.drafting.strategies import (
    NUMERIC_FACT_TYPES,
    Plan,
    Row,
    applicant_pairs,
    applicants,
    around,
    cell_text,
    ladder,
    plan,
    populations,
    sweep,
)
from policyengine.engines.interpreter import Env, evaluate_clause, evaluate_expr
from policyengine.errors import PolicyEngineError
from policyengine.facts.applicant import FactIndex, Facts, read_facts
from policyengine.facts.values import UNKNOWN, Value
from policyengine.ir.lower import program
from policyengine.ir.program import Slot
from policyengine.lang import ast as A
from policyengine.model.invariants import (
    Violation,
    applicant_violations,
    batch_violations,
    coverage_line,
    result_env,
    statement_text,
)
from policyengine.model.policy import Clause, PolicyVersion
from policyengine.model.rulefile import InvariantSpec

T = TypeVar("T")
Kind = Literal["applicant", "monotonic", "batch", "error"]




@dataclass
class Finding:
    """A violated invariant (or an evaluation error) and its smallest counterexample."""

    kind: Kind
    invariant: InvariantSpec | None
    message: str
    rows: list[Row]
    copies: list[int] = field(default_factory=list)
    year_total: int | None = None

    @property
    def title(self) -> str:
        if self.invariant is None:
            return "evaluation error"
        return self.invariant.id + (f" — {self.invariant.description}" if self.invariant.description else "")


@dataclass
class CheckReport:
    version: PolicyVersion
    budget: Budget
    findings: list[Finding]
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        out = {"applicant": 0, "monotonic": 0, "batch": 0}
        for inv in self.version.invariants:
            out[inv.kind] += 1
        return out


def _clause_reads(clause: Clause, version: PolicyVersion) -> set[str]:
    """Every fact a clause's result depends on: its conditions, its amount, and the `{fact}`s of its reasons."""
    prog = program(version)
    plan = prog.clause(clause.id)
    out = set(plan.reads)
    for cond in plan.conditions:
        for piece in cond.template or ():
            if isinstance(piece, Slot):
                out.update(prog.reads(A.Name(piece.name)))
    return out


class MemoInterpreter:
    """The reference interpreter, remembering each clause's result for the facts that clause reads.

    A clause's outcome depends only on the facts its conditions and amount read (through definitions), so
    two applicants who agree on those get the same result; settlement still runs for every applicant.
    """

    name = "interpreter"

    def __init__(self, version: PolicyVersion) -> None:
        self.reads = {c.id: tuple(sorted(_clause_reads(c, version))) for c in version.clauses}
        self._cache: dict[tuple[object, ...], ClauseResult] = {}

    def evaluate(self, version: PolicyVersion, facts: Facts) -> tuple[list[ClauseResult], list[EngineFiring]]:
        env = Env(version, facts)
        out = []
        for clause in version.clauses:
            key = (clause.id, *(facts.get(n, version.facts[n]) for n in self.reads[clause.id]))
            hit = self._cache.get(key)
            if hit is None:
                if len(self._cache) > 50_000:
                    self._cache.clear()
                hit = self._cache[key] = evaluate_clause(clause, env)
            out.append(hit)  # settle() works on copies, so the remembered result is never changed
        return out, []


class Evaluator:
    """Evaluates and settles rows under one version, remembering each row's result (shrinking repeats rows)."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self.index = FactIndex(version.facts.values())
        self.backend = MemoInterpreter(version)
        self._cache: dict[tuple[tuple[str, str], ...], tuple[Facts, PackageResult]] = {}

    def __call__(self, row: Mapping[str, str]) -> tuple[Facts, PackageResult]:
        key = tuple(sorted(row.items()))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        facts = read_facts(self.index, row)
        year = facts.values.get("application_year", UNKNOWN)
        result, _ = evaluate_version(self.version, facts, int(year) if isinstance(year, Fraction) else None,
                                     self.backend)
        if len(self._cache) > 20_000:
            self._cache.clear()
        self._cache[key] = (facts, result)
        return facts, result


def _settings(examples: int) -> hsettings:
    return hsettings(max_examples=examples, derandomize=True, database=None, deadline=None,
                     phases=(Phase.generate, Phase.shrink), print_blob=False,
                     suppress_health_check=list(HealthCheck))


def _search(strategy: SearchStrategy[T], predicate: Callable[[T], bool], examples: int, seed: int) -> T | None:
    """The smallest example of `strategy` that satisfies `predicate`, or None when none is found."""
    try:
        return find(strategy, predicate, settings=_settings(examples), random=Random(seed))
    except NoSuchExample:
        return None


SHRINK_EXAMPLES = 150
"""Examples hypothesis may spend shrinking a counterexample the sweep found."""


class _Checker:
    def __init__(self, version: PolicyVersion, budget: Budget) -> None:
        self.version = version
        self.budget = budget
        self.evaluate = Evaluator(version)
        self.plan: Plan = plan(version)
        self.findings: list[Finding] = []
        self.skipped: list[str] = []
        self.errors_found = False

    def _shrink(self, strategy: SearchStrategy[T], predicate: Callable[[T], bool], found: T) -> T:
        """`found`, made as small as hypothesis can while `predicate` still holds."""
        smaller = _search(strategy, predicate, SHRINK_EXAMPLES, self.budget.seed)
        return smaller if smaller is not None else found

    def _tighten(self, row: Row, holds: Callable[[Row], bool], keep: Sequence[str] = (YEAR_FACT,)) -> Row:
        """Each whole-number amount or count of `row` lowered to the smallest value (by bisection) for which
        `holds` is still true: the boundary where the counterexample begins."""
        out = dict(row)
        for name in list(out):
            spec = self.version.facts.get(name)
            if name in keep or spec is None or spec.type not in ("money", "integer"):
                continue
            value = Fraction(out[name].replace(",", "")) if out[name].replace(",", "").isdigit() else None
            if value is None or value < 1:
                continue
            lo, hi = 0, int(value)
            while lo < hi:
                mid = (lo + hi) // 2
                if holds({**out, name: cell_text(spec, Fraction(mid))}):
                    hi = mid
                else:
                    lo = mid + 1
            if holds({**out, name: cell_text(spec, Fraction(hi))}):
                out[name] = cell_text(spec, Fraction(hi))
        return out

    # -- applicant statements ---------------------------------------------------------------------

    def _applicant_broken(self, row: Row, pending: Sequence[InvariantSpec]) -> list[Violation] | str:
        """The pending invariants `row` violates, or the message of an evaluation error."""
        try:
            facts, result = self.evaluate(row)
        except PolicyEngineError as exc:
            return str(exc)
        ids = {inv.id for inv in pending}
        return [v for v in applicant_violations(self.version, result, facts) if v.invariant.id in ids]

    def _breaks(self, wanted: Sequence[InvariantSpec], row: Row) -> bool:
        got = self._applicant_broken(row, wanted)
        return not isinstance(got, str) and bool(got)

    def _raises(self, row: Row) -> bool:
        return isinstance(self._applicant_broken(row, ()), str)

    def _record_applicant(self, row: Row, pending: list[InvariantSpec]) -> None:
        """Record what `row` breaks (or the evaluation error it raises) and take it off `pending`."""
        got = self._applicant_broken(row, pending)
        if isinstance(got, str):
            if not self.errors_found:
                self.findings.append(Finding("error", None, got, [row]))
            self.errors_found = True
            return
        for v in got:
            self.findings.append(Finding("applicant", v.invariant, v.message, [row]))
        done = {v.invariant.id for v in got}
        pending[:] = [inv for inv in pending if inv.id not in done]

    def applicant(self) -> None:
        pending = [inv for inv in self.version.invariants if inv.kind == "applicant"]
        # 1. the sweep: every clause's corners; a hit is shrunk by hypothesis
        for row in sweep(self.plan) if self.budget.sweep else []:
            if not pending and self.errors_found:
                return
            got = self._applicant_broken(row, pending)
            if isinstance(got, str):
                if self.errors_found:
                    continue
                holds: Callable[[Row], bool] = self._raises
            elif got:
                holds = partial(self._breaks, [v.invariant for v in got])
            else:
                continue
            self._record_applicant(self._tighten(self._shrink(around(self.plan, row), holds, row), holds), pending)
        # 2. the random search, again for whatever is still unbroken
        strategy = applicants(self.plan)
        while pending or not self.errors_found:
            holds = partial(self._breaks_or_raises, list(pending), not self.errors_found)
            found = _search(strategy, holds, self.budget.applicants, self.budget.seed)
            if found is None:
                return
            self._record_applicant(self._tighten(found, holds), pending)

    def _breaks_or_raises(self, wanted: Sequence[InvariantSpec], errors: bool, row: Row) -> bool:
        got = self._applicant_broken(row, wanted)
        return errors if isinstance(got, str) else bool(got)

    # -- monotonic invariants ---------------------------------------------------------------------

    def _output(self, row: Row, inv: InvariantSpec) -> Value:
        facts, result = self.evaluate(row)
        return evaluate_expr(self.version.invariant_exprs[inv.id], result_env(self.version, result, facts))

    def _falls(self, pair: tuple[Row, Row], inv: InvariantSpec) -> tuple[Value, Value] | None:
        try:
            low, high = self._output(pair[0], inv), self._output(pair[1], inv)
        except PolicyEngineError:
            return None  # reported by the applicant search
        if isinstance(low, Fraction) and isinstance(high, Fraction) and high < low:
            return low, high
        return None

    def _monotonic_sweep(self, inv: InvariantSpec, fact: str, reads: Sequence[str]) -> tuple[Row, Row] | None:
        spec = self.version.facts[fact]
        for low, high in itertools.pairwise(ladder(self.plan, fact, reads)):
            for row in sweep(self.plan, fixed={fact: low}, only=reads):
                pair = (row, {**row, fact: cell_text(spec, high)})
                if self._falls(pair, inv) is not None:
                    return pair
        return None

    def _shrink_pair(self, inv: InvariantSpec, fact: str, pair: tuple[Row, Row]) -> tuple[Row, Row]:
        """The pair with the other facts made as simple as hypothesis can (the two values of `fact` kept)."""
        high = pair[1][fact]

        def raised(row: Row) -> tuple[Row, Row]:
            return row, {**row, fact: high}

        def falls(p: tuple[Row, Row]) -> bool:
            return self._falls(p, inv) is not None

        low, _ = self._shrink(around(self.plan, pair[0], keep=(YEAR_FACT, fact)).map(raised), falls, pair)
        low = self._tighten(low, lambda r: falls(raised(r)), keep=(YEAR_FACT, fact))
        return raised(low)

    def monotonic(self) -> None:
        for inv in self.version.invariants:
            mono = inv.monotonic
            if inv.kind != "monotonic" or mono is None:
                continue
            fact = mono.increasing_in
            spec = self.version.facts[fact]
            if spec.type not in NUMERIC_FACT_TYPES:
                self.skipped.append(f"{inv.id}: {fact} is {spec.type}, not a number; it cannot rise")
                continue
            reads = sorted({n.obj for n in walk(self.version.invariant_exprs[inv.id]) if isinstance(n, A.Attr)})
            found = self._monotonic_sweep(inv, fact, reads) if self.budget.sweep else None
            if found is not None:
                found = self._shrink_pair(inv, fact, found)
            else:
                found = _search(applicant_pairs(self.plan, fact, reads), partial(self._pair_falls, inv),
                                self.budget.pairs, self.budget.seed)
            values = self._falls(found, inv) if found is not None else None
            if found is None or values is None:
                continue
            msg = (f"{mono.output} fell from {values[0]} to {values[1]} when {spec.label} ({fact}) rose from "
                   f"{found[0].get(fact)} to {found[1].get(fact)}")
            self.findings.append(Finding("monotonic", inv, msg, [found[0], found[1]]))

    def _pair_falls(self, inv: InvariantSpec, pair: tuple[Row, Row]) -> bool:
        return self._falls(pair, inv) is not None

    # -- batch statements -------------------------------------------------------------------------

    def year_total(self, population: Sequence[tuple[Row, int]]) -> int | None:
        """The population's settled and prorated total, or None when a row cannot be evaluated."""
        decisions: list[Decision] = []
        for row, copies in population:
            try:
                _, result = self.evaluate(row)
            except PolicyEngineError:
                return None  # reported by the applicant search
            # only what proration reads: the awards that pay (a zero award stays zero)
            slim = result.model_copy(update={"steps": [], "clauses": [
                c.model_copy(update={"conditions": [], "settlement": [], "formula": None, "reason": ""})
                for c in result.clauses if c.amount != 0]})
            decision = Decision(facts={}, facts_hash="", application_year=result.application_year,
                                packages=[slim], total=slim.total,
                                audit=AuditInfo(backend=self.evaluate.backend.name, library={}))
            decisions.extend([decision] * copies)
        return sum(d.total for d in prorate(decisions))

    def _batch_broken(self, population: Sequence[tuple[Row, int]], pending: Sequence[InvariantSpec]
                      ) -> tuple[list[Violation], int | None]:
        total = self.year_total(population)
        if total is None:
            return [], None
        ids = {inv.id for inv in pending}
        return [v for v in batch_violations(self.version, total) if v.invariant.id in ids], total

    def _batch_sweep(self, pending: Sequence[InvariantSpec]) -> list[tuple[Row, int]] | None:
        """The richest swept applicants, alone and repeated until their demand passes the fund."""
        totals = []
        for row in sweep(self.plan):
            try:
                totals.append((self.evaluate(row)[1].total, row))
            except PolicyEngineError:
                continue
        fund = self.version.annual_fund or 0
        for total, row in sorted(totals, key=lambda t: -t[0])[:3]:
            for copies in sorted({1, fund // total + 1 if total > 0 else 1}):
                population = [(row, copies)]
                if self._batch_broken(population, pending)[0]:
                    return population
        return None

    def batch(self) -> None:
        pending = [inv for inv in self.version.invariants if inv.kind == "batch"]
        if not pending:
            return
        found = self._batch_sweep(pending) if self.budget.sweep else None
        if found is not None:
            (row, copies), = found
            wanted = [v.invariant for v in self._batch_broken(found, pending)[0]]
            members = st.tuples(around(self.plan, row), st.integers(1, copies)).map(lambda m: [m])
            found = self._shrink(members, partial(self._population_breaks, wanted), found)
            (row, copies), = found
            found = [(self._tighten(row, lambda r: self._population_breaks(wanted, [(r, copies)])), copies)]
            self._record_batch(found, pending)
        strategy = populations(self.plan)
        while pending:
            found = _search(strategy, partial(self._population_breaks, list(pending)), self.budget.populations,
                            self.budget.seed)
            if found is None:
                return
            self._record_batch(found, pending)

    def _population_breaks(self, wanted: Sequence[InvariantSpec], population: Sequence[tuple[Row, int]]) -> bool:
        return bool(self._batch_broken(population, wanted)[0])

    def _record_batch(self, population: list[tuple[Row, int]], pending: list[InvariantSpec]) -> None:
        broken, total = self._batch_broken(population, pending)
        for v in broken:
            self.findings.append(Finding("batch", v.invariant, v.message, [r for r, _ in population],
                                         [n for _, n in population], total))
        done = {v.invariant.id for v in broken}
        pending[:] = [inv for inv in pending if inv.id not in done]


def check_version(version: PolicyVersion, budget: Budget | None = None) -> CheckReport:
    """Search every invariant `version` declares; the report lists each violation with its counterexample."""
    b = budget or Budget()
    checker = _Checker(version, b)
    checker.applicant()
    checker.monotonic()
    checker.batch()
    return CheckReport(version, b, checker.findings, checker.skipped)




# -- the text a drafter reads -------------------------------------------------------------------------

def _clauses_read(version: PolicyVersion, inv: InvariantSpec) -> list[str]:
    expr = version.invariant_exprs.get(inv.id)
    if expr is None:
        return []
    nodes = walk(expr)
    named = [c.id for c in version.clauses if any(isinstance(n, A.Attr) and n.obj == c.id for n in nodes)]
    if any(isinstance(n, A.Name) and n.id == "total" for n in nodes):
        return [c.id for c in version.clauses]
    return named


def _trace(version: PolicyVersion, evaluate: Evaluator, row: Row, clause_ids: Sequence[str],
           indent: str) -> list[str]:
    facts, result = evaluate(row)
    out = []
    for cid in clause_ids:
        r = result.clause(cid)
        if len(clause_ids) > 3 and r.status not in ("eligible", "excluded"):
            continue  # for `total`, only the clauses that pay (or were excluded)
        out.append(indent + clause_heading(version.clause(cid), r))
        out += clause_trace(version, facts, r, indent=indent + "  ")
    out.append(f"{indent}total 合计: {result.total}")
    return out


def finding_lines(report: CheckReport, finding: Finding) -> list[str]:
    """One violation: the invariant, what was false, the smallest counterexample as a row, and the trace."""
    v = report.version
    evaluate = Evaluator(v)
    inv = finding.invariant
    out = [f"VIOLATED {v.key} :: {finding.title}"]
    if inv is not None:
        out.append(f"  invariant: {statement_text(inv)}")
    out.append(f"  found: {finding.message}")
    if finding.kind in ("applicant", "error"):
        out.append("  smallest counterexample (applicant row; blank cells left out):")
        out += row_lines(v, finding.rows[0], indent="    ")
        if finding.kind == "applicant" and inv is not None:
            out.append("  trace:")
            out += _trace(v, evaluate, finding.rows[0], _clauses_read(v, inv), "    ")
    elif finding.kind == "monotonic" and inv is not None:
        for label, row in zip(("lower", "higher"), finding.rows, strict=True):
            out.append(f"  applicant with the {label} value:")
            out += row_lines(v, row, indent="    ")
            out.append("  trace:")
            out += _trace(v, evaluate, row, _clauses_read(v, inv), "    ")
    elif finding.kind == "batch":
        out.append(f"  smallest counterexample (a population of application year "
                   f"{finding.rows[0].get('application_year', '?')}):")
        demand = 0
        for row, copies in zip(finding.rows, finding.copies, strict=True):
            total = evaluate(row)[1].total
            demand += total * copies
            out.append(f"    {copies} × this applicant, each settled at {total} before proration:")
            out += row_lines(v, row, indent="      ")
        fund = v.annual_fund
        out.append(f"  settled demand {demand}; annual fund {fund if fund is not None else 'none'}; paid after "
                   f"proration (settlement.prorate) {finding.year_total}")
    return out


def report_lines(report: CheckReport) -> list[str]:
    """The whole report of one version: what was searched, then every violation."""
    v = report.version
    counts = report.counts()
    n = sum(counts.values())
    kinds = ", ".join(f"{k} {c}" for k, c in counts.items() if c)
    b = report.budget
    out = [f"{v.key}: {n} invariant{'s' if n != 1 else ''}" + (f" ({kinds})" if kinds else "")]
    out.append(f"  searched: every clause's corners (sweep); then hypothesis with seed {b.seed}: up to "
               f"{b.applicants} applicants, {b.pairs} pairs, {b.populations} populations")
    out += [f"  skipped {s}" for s in report.skipped]
    if not n:
        out.append("  no invariants declared: only evaluation errors were searched for")
    for finding in report.findings:
        out += finding_lines(report, finding)
    if report.ok:
        out.append(f"  ok: {'every invariant holds' if n else 'no evaluation errors'} on every applicant tried")
    line = coverage_line(v)
    if line is not None:
        out.append(line)
    return out
