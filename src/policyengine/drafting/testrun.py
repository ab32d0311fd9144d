"""`test`: a package's own test cases, compared clause by clause, with the trace behind every mismatch.

Every case is also held to the version's applicant invariants (a case that breaks one fails: the rules, the
case or the invariant is wrong), and a case whose application year the version does not govern is warned
about (the case forces the version, so it passes, but an applicant of that year would be decided by another
version, or by none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from policyengine.decide.decision import ClauseResult, PackageResult
from policyengine.drafting import locate
from policyengine.drafting.render import STATUS_ZH, clause_name, clause_trace
from policyengine.drafting.testcases import run_case
from policyengine.errors import FactError
from policyengine.facts.applicant import FactIndex, Facts, read_facts
from policyengine.model.invariants import Violation, applicant_violations
from policyengine.model.policy import Loc, PolicyVersion
from policyengine.model.rulefile import ExpectedClause, TestCase


@dataclass
class Mismatch:
    """One clause whose result differs from what the drafter expects."""

    clause: str
    expected: ExpectedClause
    actual: ClauseResult


@dataclass
class CaseOutcome:
    version: PolicyVersion
    case: TestCase
    loc: Loc
    mismatches: list[Mismatch] = field(default_factory=list)
    total: tuple[int, int] | None = None
    """(expected, actual) when the total differs"""
    error: str | None = None
    result: PackageResult | None = None
    broken: list[Violation] = field(default_factory=list)
    """applicant invariants the case's decision breaks"""
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.total is None and self.error is None and not self.broken

    @property
    def title(self) -> str:
        return f"{self.version.key} :: {self.case.name}"


def run_version(version: PolicyVersion, select: str | None = None) -> list[CaseOutcome]:
    """Run the version's test cases (those whose name contains `select`, if given)."""
    out = []
    for i, case in enumerate(version.tests):
        if select is not None and select not in case.name:
            continue
        out.append(run_one(version, case, locate.test_case(version, i)))
    return out


def run_one(version: PolicyVersion, case: TestCase, loc: Loc) -> CaseOutcome:
    outcome = CaseOutcome(version, case, loc)
    ran = run_case(version, case)
    result = ran.result
    if result is None:
        outcome.error = "; ".join(ran.failures) or "could not evaluate"
        return outcome
    outcome.result = result
    for clause_id, want in case.expect.items():
        expected = want if isinstance(want, ExpectedClause) else ExpectedClause(status=want)
        got = result.clause(clause_id)
        if got.status != expected.status or (expected.amount is not None and got.amount != expected.amount):
            outcome.mismatches.append(Mismatch(clause_id, expected, got))
    if case.total is not None and result.total != case.total:
        outcome.total = (case.total, result.total)
    if (not outcome.mismatches and outcome.total is None) != ran.passed:  # pragma: no cover - the same compare
        outcome.error = "; ".join(ran.failures) or "the test runner and the case comparison disagree"
    facts = case_facts(version, case)
    if facts is not None:
        outcome.broken = applicant_violations(version, result, facts)
        value = facts.values.get("application_year")
        year = int(value) if isinstance(value, Fraction) and value.denominator == 1 else None
        if year is not None and not version.covers(year):
            outcome.warnings.append(f"申报年度 {year} is outside {version.key}'s application years "
                                    f"{version.years_text()}: the case forces {version.version}, but an applicant "
                                    f"of {year} would not be decided by it (申报年度不在本版本适用年度内)")
    return outcome


def warning_lines(outcomes: Sequence[CaseOutcome], shown: int = 3) -> list[str]:
    """Each warning once per version, with how many cases it concerns and where the first `shown` are."""
    by: dict[tuple[str, str], list[CaseOutcome]] = {}
    for o in outcomes:
        for w in o.warnings:
            by.setdefault((o.version.key, w), []).append(o)
    out = []
    for (key, warning), cases in by.items():
        out.append(f"WARNING {key}: {len(cases)} test case{'s' if len(cases) != 1 else ''}: {warning}")
        out += [f"  at {o.loc} ({o.case.name})" for o in cases[:shown]]
        if len(cases) > shown:
            out.append(f"  … and {len(cases) - shown} more")
    return out


def _expected_text(e: ExpectedClause) -> str:
    return f"{e.status} {STATUS_ZH[e.status]}" + (f", {e.amount}" if e.amount is not None else "")


def case_facts(version: PolicyVersion, case: TestCase) -> Facts | None:
    try:
        return read_facts(FactIndex(version.facts.values()), case.facts)
    except FactError:
        return None


def failure_lines(outcome: CaseOutcome) -> list[str]:
    """What a drafter reads for a failing case: where it is, expected vs actual per clause, and the trace."""
    v = outcome.version
    out = [f"FAILED {outcome.title}", f"  at {outcome.loc}"]
    if outcome.error is not None:
        out.append(f"  error: {outcome.error}")
        return out
    facts = case_facts(v, outcome.case)
    shown = ", ".join(f"{k}={val}" for k, val in outcome.case.facts.items())
    out.append(f"  facts: {shown}")
    for m in outcome.mismatches:
        clause = v.clause(m.clause)
        out.append(f"  {clause_name(clause)}:")
        out.append(f"    expected: {_expected_text(m.expected)}")
        out.append(f"    actual:   {m.actual.status} {STATUS_ZH[m.actual.status]}, {m.actual.amount}"
                   + (f" — {m.actual.reason}" if m.actual.reason else ""))
        if facts is not None:
            out += clause_trace(v, facts, m.actual, indent="    ")
    for b in outcome.broken:
        out.append(f"  invariant {b.invariant.id} broken 违反不变式"
                   + (f" ({b.invariant.description})" if b.invariant.description else "") + f": {b.message}")
    if outcome.total is not None and outcome.result is not None:
        want, got = outcome.total
        out.append(f"  total 合计: expected {want}, actual {got}")
        for r in outcome.result.clauses:
            if r.amount:
                out.append(f"    {r.clause} {r.title}: {r.amount}")
        for step in outcome.result.steps:
            if step.step == "applicant_cap":
                out.append(f"    settlement 结算: {step.clause} {step.before} → {step.after}: {step.note}")
    return out
