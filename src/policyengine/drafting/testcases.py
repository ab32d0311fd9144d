"""Running a package's own test cases (written by drafters in the rule files)."""

from __future__ import annotations

from dataclasses import dataclass, field

from policyengine.decide.decision import Decision, PackageResult
from policyengine.decide.evaluate import evaluate
from policyengine.errors import PolicyEngineError
from policyengine.facts.applicant import FactIndex, read_facts
from policyengine.model.policy import PolicyVersion
from policyengine.model.rulefile import ExpectedClause, TestCase


@dataclass
class CaseResult:
    version: PolicyVersion
    case: TestCase
    failures: list[str] = field(default_factory=list)
    decision: Decision | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def result(self) -> PackageResult | None:
        return self.decision.package(self.version.package_id) if self.decision else None


def run_case(version: PolicyVersion, case: TestCase) -> CaseResult:
    """Evaluate one test case under `version` and compare with what the drafter expects."""
    out = CaseResult(version, case)
    try:
        # a drafter's case gives only the facts its clauses need: absent facts, required ones too, read as blank
        facts = read_facts(FactIndex(version.facts.values()), case.facts)
        out.decision = evaluate(version, facts, version=version.version, backend="interpreter")
    except PolicyEngineError as exc:
        out.failures.append(f"could not evaluate: {exc}")
        return out
    result = out.decision.package(version.package_id)
    for clause_id, want in case.expect.items():
        expected = want if isinstance(want, ExpectedClause) else ExpectedClause(status=want)
        got = result.clause(clause_id)
        if got.status != expected.status:
            out.failures.append(f"{clause_id}: expected {expected.status}, got {got.status}"
                                + (f" ({got.reason})" if got.reason else ""))
        if expected.amount is not None and got.amount != expected.amount:
            out.failures.append(f"{clause_id}: expected amount {expected.amount}, got {got.amount}"
                                + (f" ({got.formula})" if got.formula else ""))
    if case.total is not None and result.total != case.total:
        out.failures.append(f"total: expected {case.total}, got {result.total}")
    return out


def run_cases(version: PolicyVersion) -> list[CaseResult]:
    return [run_case(version, case) for case in version.tests]
