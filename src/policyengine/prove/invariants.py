"""Proving a version's declared invariants for every applicant in the fact schema's domain.

- applicant statements: is there an applicant whose settled decision makes the statement false?
- monotonic: two applicants equal but for the increasing fact (higher in the second), the output lower?
- batch (`year_total <= ...`): from the proration rule: a year pays its settled demand when that fits the fund,
  else each award × fund / demand rounded down, whose sum never exceeds the fund; so `year_total` ranges over
  0..min(demand, fund), and the statement is proved over that range.

A counterexample is replayed through the reference interpreter, which must agree (`confirmed`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import z3

from policyengine.drafting.check import Evaluator
from policyengine.engines.interpreter import evaluate_expr
from policyengine.ir.lower import program as lower
from policyengine.model.invariants import (
    applicant_violations,
    batch_violations,
    coverage_line,
    result_env,
    statement_text,
    unconstrained_clauses,
)
from policyengine.model.policy import PolicyVersion
from policyengine.model.rulefile import InvariantSpec
from policyengine.prove.settle import Outcome, outcome
from policyengine.prove.solve import TIMEOUT_S, smallness, solve
from policyengine.prove.translate import (
    Codes,
    FactVar,
    Term,
    Translate,
    fact_var,
    fact_vars,
    num,
    program_strings,
    row_of,
)

Status = Literal["proved", "violated", "unknown"]
Row = dict[str, str]


@dataclass
class Proof:
    invariant: InvariantSpec
    status: Status
    seconds: float
    message: str = ""
    rows: list[Row] = field(default_factory=list)
    copies: int = 1
    confirmed: bool | None = None
    """Whether the reference interpreter, given the counterexample, breaks the invariant too."""


@dataclass
class ProveReport:
    version: PolicyVersion
    proofs: list[Proof]
    seconds: float
    unconstrained: list[str] = field(default_factory=list)

    @property
    def violated(self) -> list[Proof]:
        return [p for p in self.proofs if p.status == "violated"]


class Space:
    """The applicants of one version as solver variables, with their domain and settled decision."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self.program = lower(version)
        self.codes = Codes(program_strings(self.program, version.invariant_exprs.values()))
        self.facts = fact_vars(self.program.facts.values(), self.codes)
        self.domain = z3.And(*[fv.domain for fv in self.facts.values()])
        self.outcome = outcome(self.program, self.facts, self.codes)

    def translate(self, out: Outcome, facts: dict[str, FactVar]) -> Translate:
        return Translate(self.program, facts, self.codes, extra={"total": num(z3.ToReal(out.total))},
                         attrs=out.attrs(self.codes))

    def soft(self) -> list[tuple[Term, int]]:
        return smallness(self.facts, self.version.meta.effective.from_year + 1)

    def row(self, model: object, facts: dict[str, FactVar] | None = None) -> Row:
        return row_of(model, facts or self.facts, self.codes)


def _applicant(space: Space, inv: InvariantSpec, timeout_s: float) -> Proof:
    v = space.version
    stmt = space.translate(space.outcome, space.facts).of(v.invariant_exprs[inv.id])
    ans = solve([space.domain, stmt.is_false()], space.soft(), timeout_s)
    if ans.result != "sat":
        return Proof(inv, "proved" if ans.result == "unsat" else "unknown", ans.seconds)
    row = space.row(ans.model)
    facts, result = Evaluator(v)(row)
    found = [x for x in applicant_violations(v, result, facts) if x.invariant.id == inv.id]
    message = found[0].message if found else f"{inv.statement} is false for this applicant (solver)"
    return Proof(inv, "violated", ans.seconds, message, [row], confirmed=bool(found))


def _monotonic(space: Space, inv: InvariantSpec, timeout_s: float) -> Proof:
    v, mono = space.version, inv.monotonic
    assert mono is not None
    fact = mono.increasing_in
    raised = dict(space.facts)
    raised[fact] = fact_var(v.facts[fact], space.codes, prefix="raised.")
    low_f, high_f = space.facts[fact].tv, raised[fact].tv
    out2 = outcome(space.program, raised, space.codes)
    expr = v.invariant_exprs[inv.id]
    low = space.translate(space.outcome, space.facts).of(expr)
    high = space.translate(out2, raised).of(expr)
    goal = [space.domain, raised[fact].domain,
            low_f.known, z3.Not(low_f.none), high_f.known, z3.Not(high_f.none), high_f.val > low_f.val,
            low.known, z3.Not(low.none), high.known, z3.Not(high.none), high.val < low.val]
    ans = solve(goal, space.soft(), timeout_s)
    if ans.result != "sat":
        return Proof(inv, "proved" if ans.result == "unsat" else "unknown", ans.seconds)
    rows = [space.row(ans.model), space.row(ans.model, raised)]
    evaluate = Evaluator(v)
    values = []
    for row in rows:
        facts, result = evaluate(row)
        values.append(evaluate_expr(expr, result_env(v, result, facts)))
    a, b = values
    confirmed = isinstance(a, Fraction) and isinstance(b, Fraction) and b < a
    spec = v.facts[fact]
    message = (f"{mono.output} fell from {a} to {b} when {spec.label} ({fact}) rose from {rows[0].get(fact, '')} "
               f"to {rows[1].get(fact, '')}")
    return Proof(inv, "violated", ans.seconds, message, rows, confirmed=confirmed)


def _batch(space: Space, inv: InvariantSpec, timeout_s: float) -> Proof:
    v = space.version
    start = time.perf_counter()
    # every settled award is at least 0 (else the year's total has no lower bound)
    negative = solve([space.domain, z3.Or(*[c.amount < 0 for c in space.outcome.clauses.values()])],
                     timeout_s=timeout_s)
    demand, paid = z3.Int("demand"), z3.Int("year_total")
    rule = [paid <= demand] if v.annual_fund is None else [
        z3.If(demand <= v.annual_fund, paid == demand, z3.And(paid <= v.annual_fund, paid <= demand))]
    if negative.result == "unsat":
        rule += [demand >= 0, paid >= 0]
    tr = Translate(space.program, {}, space.codes,
                   extra={"year_total": num(z3.ToReal(paid)), "fund": num(z3.ToReal(z3.IntVal(v.annual_fund or 0)))})
    stmt = tr.of(v.invariant_exprs[inv.id])
    ans = solve([*rule, z3.Or(stmt.is_false(), stmt.unk)], timeout_s=timeout_s)
    seconds = time.perf_counter() - start
    if ans.result != "sat":
        return Proof(inv, "proved" if ans.result == "unsat" else "unknown", seconds,
                     "from the proration rule: a year pays at most its settled demand and at most the annual fund")
    # a witness: copies of one applicant paid much (the per-applicant cap, else less), until the year breaks it
    row: Row | None = None
    for floor in sorted({v.applicant_cap or 0, (v.applicant_cap or 0) // 10, 1}, reverse=True):
        found = solve([space.domain, space.outcome.total >= max(floor, 1)], timeout_s=timeout_s)
        if found.result == "sat":
            row = space.row(found.model)
            break
    if row is None:
        return Proof(inv, "unknown", time.perf_counter() - start, "no paying applicant found to build a population")
    from policyengine.drafting.budget import Budget
    from policyengine.drafting.check import _Checker

    checker = _Checker(v, Budget())
    each = checker.evaluate(row)[1].total
    want = int(ans.model.eval(demand, model_completion=True).as_long())
    copies = max(1, -(-want // each))
    total: int | None = None
    broken = False
    for n in range(copies, copies + 5):
        if n > 10_000:
            break
        total = checker.year_total([(row, n)])
        broken = total is not None and any(x.invariant.id == inv.id for x in batch_violations(v, total))
        if broken:
            copies = n
            break
    return Proof(inv, "violated", time.perf_counter() - start,
                 f"{inv.statement} is false (year_total={total}, {copies} × an applicant paid {each})",
                 [row], copies=copies, confirmed=broken)


def prove_version(version: PolicyVersion, timeout_s: float = TIMEOUT_S) -> ProveReport:
    """Prove (or refute, with a counterexample) every invariant `version` declares."""
    start = time.perf_counter()
    space = Space(version)
    proofs: list[Proof] = []
    for inv in version.invariants:
        if inv.kind == "applicant":
            proofs.append(_applicant(space, inv, timeout_s))
        elif inv.kind == "monotonic":
            proofs.append(_monotonic(space, inv, timeout_s))
        else:
            proofs.append(_batch(space, inv, timeout_s))
    return ProveReport(version, proofs, time.perf_counter() - start, unconstrained_clauses(version))


def report_lines(report: ProveReport) -> list[str]:
    from policyengine.drafting.check import _clauses_read, _trace
    from policyengine.drafting.render import row_lines

    v = report.version
    out = [f"{v.key}: {len(report.proofs)} invariant{'s' if len(report.proofs) != 1 else ''} "
           f"({report.seconds:.1f} s)"]
    for p in report.proofs:
        head = f"  {p.status:<8} {p.invariant.id}"
        if p.status == "unknown":
            head += f" (no answer within {p.seconds:.1f} s)"
        out.append(head)
        if p.status != "violated":
            continue
        out.append(f"    invariant: {statement_text(p.invariant)}")
        out.append(f"    found: {p.message}")
        agree = "the interpreter agrees" if p.confirmed else "THE INTERPRETER DISAGREES (an internal error)"
        if p.invariant.kind == "batch":
            out.append(f"    counterexample: a population of {p.copies} × this applicant ({agree}):")
        else:
            out.append(f"    counterexample (applicant row; blank cells left out; {agree}):")
        evaluate = Evaluator(v)
        for i, row in enumerate(p.rows):
            if len(p.rows) > 1:
                out.append(f"    applicant with the {'lower' if i == 0 else 'higher'} value:")
            out += row_lines(v, row, indent="      ")
            if p.invariant.kind != "batch":
                out.append("    trace:")
                out += _trace(v, evaluate, row, _clauses_read(v, p.invariant), "      ")
    line = coverage_line(v)
    if line is not None:
        out.append(line)
    return out
