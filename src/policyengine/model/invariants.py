"""Checking a package's declared invariants against decisions.

Applicant invariants are statements over one applicant's settled clause results (`a14.amount <= 200000`);
monotonic invariants compare two applicants that differ in one fact; batch invariants are statements over a
year's total (`year_total <= 30000000`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from policyengine.decide.decision import PackageResult
from policyengine.decide.evaluate import evaluate
from policyengine.engines.interpreter import Env, evaluate_expr, substituted
from policyengine.facts.applicant import FactIndex, Facts, read_facts
from policyengine.facts.values import UNKNOWN, Value
from policyengine.lang import ast as A
from policyengine.lang import printer, traverse
from policyengine.model.policy import PolicyVersion
from policyengine.model.rulefile import InvariantSpec


@dataclass(frozen=True)
class Violation:
    invariant: InvariantSpec
    message: str

    def __str__(self) -> str:
        return f"{self.invariant.id}: {self.message}"


def result_env(version: PolicyVersion, result: PackageResult, facts: Facts) -> Env:
    """Where an applicant statement is evaluated: the facts, `total`, and `aNN.amount` / `aNN.status`."""
    def attrs(clause: str, attr: str) -> Value:
        r = result.clause(clause)
        return Fraction(r.amount) if attr == "amount" else r.status

    return Env(version, facts, extra={"total": Fraction(result.total)}, attrs=attrs)


def statement_text(inv: InvariantSpec) -> str:
    if inv.monotonic is not None:
        held = f" with {', '.join(inv.monotonic.holding)} held" if inv.monotonic.holding else ""
        return f"{inv.monotonic.output} never decreases when {inv.monotonic.increasing_in} rises{held}"
    return inv.statement or ""


def applicant_violations(version: PolicyVersion, result: PackageResult, facts: Facts) -> list[Violation]:
    """The applicant invariants that `result` breaks (an unknown statement is not a violation)."""
    env = result_env(version, result, facts)
    out = []
    for inv in version.invariants:
        if inv.kind != "applicant":
            continue
        expr = version.invariant_exprs[inv.id]
        if evaluate_expr(expr, env) is False:
            shown = printer.to_text(substituted(expr, env))
            out.append(Violation(inv, f"{inv.statement} is false ({shown})"))
    return out


def monotonic_violation(version: PolicyVersion, inv: InvariantSpec, facts: Mapping[str, object],
                        higher: object) -> Violation | None:
    """Compare the output at `facts` and with `increasing_in` raised to `higher` (other facts held)."""
    mono = inv.monotonic
    if mono is None:
        return None
    expr = version.invariant_exprs[inv.id]
    raised = {**facts, mono.increasing_in: higher}
    values = []
    index = FactIndex(version.facts.values())
    for f in (facts, raised):
        # a probe gives only the facts the invariant needs: absent facts, required ones too, read as blank
        decision = evaluate(version, read_facts(index, f), version=version.version, backend="interpreter")
        result = decision.package(version.package_id)
        env = result_env(version, result, Facts({}))
        values.append(evaluate_expr(expr, env))
    low, high = values
    if isinstance(low, Fraction) and isinstance(high, Fraction) and high < low:
        return Violation(inv, f"{mono.output} fell from {low} to {high} when {mono.increasing_in} rose "
                              f"from {facts.get(mono.increasing_in)!s} to {higher!s}")
    return None


def batch_violations(version: PolicyVersion, year_total: int) -> list[Violation]:
    """The batch invariants a year's settled total breaks."""
    env = Env(version, Facts({}), extra={"year_total": Fraction(year_total),
                                         "fund": Fraction(version.annual_fund or 0)})
    out = []
    for inv in version.invariants:
        if inv.kind == "batch":
            v = evaluate_expr(version.invariant_exprs[inv.id], env)
            if v is False or v is UNKNOWN:
                out.append(Violation(inv, f"{inv.statement} is false (year_total={year_total})"))
    return out


GENERAL_AT = 4
"""An invariant naming this many clauses or more (`min(a01.amount, …, a16.amount) >= 0`) is general: it does not
state who is eligible for any one of them or what it pays, so it does not cover them."""


def unconstrained_clauses(version: PolicyVersion) -> list[str]:
    """Clauses no applicant or monotonic invariant states anything particular about: none names the clause's
    result (`aNN.status`, `aNN.amount`) among fewer than `GENERAL_AT` clauses (`total` names none)."""
    named: set[str] = set()
    for inv in version.invariants:
        if inv.kind == "batch":
            continue
        expr = version.invariant_exprs.get(inv.id)
        if expr is None:
            continue
        objs = {x.obj for x in traverse.walk(expr) if isinstance(x, A.Attr)}
        if len(objs) < GENERAL_AT:
            named |= objs
    return [c.id for c in version.clauses if c.id not in named]


def coverage_line(version: PolicyVersion) -> str | None:
    """`a01 a04 … : no invariant states who is eligible or what is paid`, or None when every clause is named."""
    free = unconstrained_clauses(version)
    return f"  coverage: {' '.join(free)} : no invariant states who is eligible or what is paid" if free else None
