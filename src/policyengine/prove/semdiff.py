"""The semantic diff of two versions: for each clause and for the total, either proved the same for every
applicant, or the smallest applicant row whose status or amount differs (replayed through the interpreter).

Both programs read one set of solver variables (the facts, shared by name). Validity windows are part of the
meaning: outside its window a version decides nothing (`not_in_force`), as `evaluate` does without a forced
version. A clause only one version has is compared with its absence (it differs where it is eligible,
undetermined or excluded). A different annual fund is a difference when some population is over-subscribed under
one of them: the witness is copies of one applicant, paid differently after proration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import z3

from policyengine.decide.decision import PackageResult
from policyengine.decide.evaluate import evaluate
from policyengine.ir.lower import program as lower
from policyengine.model.policy import PolicyVersion
from policyengine.prove.settle import Outcome, outcome
from policyengine.prove.solve import MINIMISE_S, TIMEOUT_S, smallness, solve
from policyengine.prove.translate import (
    ELIGIBLE,
    EXCLUDED,
    STATUSES,
    UNDETERMINED,
    Codes,
    FactVar,
    Term,
    fact_vars,
    program_strings,
    row_of,
)

Verdict = Literal["same", "differs", "unknown"]
Row = dict[str, str]


@dataclass
class Finding:
    what: str
    """A clause id, `total`, or `annual_fund`."""
    title: str
    verdict: Verdict
    seconds: float
    row: Row | None = None
    copies: int = 1
    solver: tuple[tuple[str, int], tuple[str, int]] | None = None
    """(status, amount) under OLD and NEW as the solver computes them for the witness."""
    interpreter: tuple[tuple[str, int], tuple[str, int]] | None = None
    """The same, from the reference interpreter."""

    @property
    def confirmed(self) -> bool:
        if self.interpreter is None:
            return False
        old, new = self.interpreter
        if self.what == "annual_fund":
            return old != new
        return old != new and (self.solver is None or self.solver == self.interpreter)


@dataclass
class SemanticDiff:
    old: PolicyVersion
    new: PolicyVersion
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def differences(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict != "same"]


def _clause_title(v: PolicyVersion, cid: str) -> str:
    c = v.clause(cid)
    return f"第{c.article}条 {c.id} {c.title}"


def _status_amount(result: PackageResult, cid: str | None) -> tuple[str, int]:
    if result.status != "evaluated":
        return ("not_in_force", 0)
    if cid is None:
        return ("evaluated", result.total)
    found = next((r for r in result.clauses if r.clause == cid), None)
    return ("absent", 0) if found is None else (found.status, found.amount)


def _model_pair(model: object, old: Outcome, new: Outcome, cid: str | None) -> tuple[tuple[str, int], tuple[str, int]]:
    def one(out: Outcome) -> tuple[str, int]:
        ev = model.eval  # type: ignore[attr-defined]
        if cid is None:
            return ("evaluated" if z3.is_true(ev(out.in_force, model_completion=True)) else "not_in_force",
                    ev(out.total, model_completion=True).as_long())
        if cid not in out.clauses:
            in_force = z3.is_true(ev(out.in_force, model_completion=True))
            return ("absent" if in_force else "not_in_force", 0)
        c = out.clauses[cid]
        return (STATUSES[ev(c.status, model_completion=True).as_long()], ev(c.amount, model_completion=True).as_long())
    return one(old), one(new)


def _own(v: PolicyVersion, row: Row) -> Row:
    """The cells of `row` that `v` reads (a fact only the other version has is not in its schema)."""
    return {k: x for k, x in row.items() if k in v.facts}


def _interpreted(old: PolicyVersion, new: PolicyVersion, row: Row, cid: str | None
                 ) -> tuple[tuple[str, int], tuple[str, int]]:
    a = evaluate(old, _own(old, row), backend="interpreter").packages[0]
    b = evaluate(new, _own(new, row), backend="interpreter").packages[0]
    return _status_amount(a, cid), _status_amount(b, cid)


def _changed(out_old: Outcome, out_new: Outcome, cid: str) -> Term:
    present = (ELIGIBLE, UNDETERMINED, EXCLUDED)
    if cid not in out_old.clauses:
        s = out_new.clauses[cid].status
        return z3.And(out_new.in_force, z3.Or(*[s == k for k in present]))
    if cid not in out_new.clauses:
        s = out_old.clauses[cid].status
        return z3.And(out_old.in_force, z3.Or(*[s == k for k in present]))
    a, b = out_old.clauses[cid], out_new.clauses[cid]
    in_force = z3.And(out_old.in_force, out_new.in_force)
    return z3.Or(z3.And(in_force, z3.Or(a.status != b.status, a.amount != b.amount)),
                 z3.And(out_old.in_force != out_new.in_force,
                        z3.Or(*[x.status == k for x in (a, b) for k in present])))


def semantic_diff(old: PolicyVersion, new: PolicyVersion, timeout_s: float = TIMEOUT_S,
                  minimise_s: float = MINIMISE_S) -> SemanticDiff:
    """Every clause and the total of `old` and `new`, proved the same or shown different with a witness."""
    start = time.perf_counter()
    p_old, p_new = lower(old), lower(new)
    codes = Codes([*program_strings(p_old), *program_strings(p_new)])
    specs = {**p_old.facts, **p_new.facts}
    facts = fact_vars(specs.values(), codes)
    domain = z3.And(*[fv.domain for fv in facts.values()])
    year_var = facts.get("application_year")
    year = year_var.tv.val if year_var is not None else None
    out_old = outcome(p_old, facts, codes, year)
    out_new = outcome(p_new, facts, codes, year)
    soft = smallness(facts, new.meta.effective.from_year)
    report = SemanticDiff(old, new)

    ids = [c.id for c in old.clauses] + [c.id for c in new.clauses if c.id not in {x.id for x in old.clauses}]
    goals: list[tuple[str, str, Term]] = []
    for cid in ids:
        title = _clause_title(new if cid in out_new.clauses else old, cid)
        goals.append((cid, title, _changed(out_old, out_new, cid)))
    goals.append(("total", "total 合计", out_old.total != out_new.total))
    for what, title, goal in goals:
        ans = solve([domain, goal], soft, timeout_s, minimise_s)
        if ans.result != "sat":
            report.findings.append(Finding(what, title, "same" if ans.result == "unsat" else "unknown", ans.seconds))
            continue
        row = row_of(ans.model, facts, codes)
        only = None if what == "total" else what
        report.findings.append(Finding(what, title, "differs", ans.seconds, row,
                                       solver=_model_pair(ans.model, out_old, out_new, only),
                                       interpreter=_interpreted(old, new, row, only)))
    if old.annual_fund != new.annual_fund:
        report.findings.append(_fund(old, new, domain, facts, codes, out_old, out_new, timeout_s))
    report.seconds = time.perf_counter() - start
    return report


def _fund(old: PolicyVersion, new: PolicyVersion, domain: Term, facts: dict[str, FactVar], codes: Codes,
          out_old: Outcome, out_new: Outcome, timeout_s: float) -> Finding:
    """A population (copies of one applicant in force under both) paid differently after proration."""
    from policyengine.drafting.budget import Budget
    from policyengine.drafting.check import _Checker

    start = time.perf_counter()
    title = f"年度资金 annual fund {old.annual_fund} → {new.annual_fund}"
    ans = solve([domain, out_old.in_force, out_new.in_force, out_old.total > 0, out_new.total > 0],
                smallness(facts, new.meta.effective.from_year), timeout_s)
    if ans.result != "sat":
        verdict: Verdict = "same" if ans.result == "unsat" else "unknown"
        return Finding("annual_fund", title, verdict, time.perf_counter() - start)
    row = row_of(ans.model, facts, codes)
    a, b = _Checker(old, Budget()), _Checker(new, Budget())
    row_a, row_b = _own(old, row), _own(new, row)
    each = min(a.evaluate(row_a)[1].total, b.evaluate(row_b)[1].total)
    smallest_fund = min(f for f in (old.annual_fund, new.annual_fund) if f is not None)
    copies = smallest_fund // max(each, 1) + 1
    paid = (a.year_total([(row_a, copies)]) or 0, b.year_total([(row_b, copies)]) or 0)
    return Finding("annual_fund", title, "differs", time.perf_counter() - start, row, copies,
                   interpreter=(("paid", paid[0]), ("paid", paid[1])))


def report_lines(d: SemanticDiff) -> list[str]:
    from policyengine.drafting.render import clause_heading, clause_trace, row_lines
    from policyengine.facts.applicant import FactIndex, read_facts

    out = [f"semantic diff {d.old.key} → {d.new.key} (z3, no population needed; {d.seconds:.1f} s)"]
    for f in d.findings:
        if f.verdict == "same":
            out.append(f"  same     {f.title}: the same for every applicant (proved)")
            continue
        if f.verdict == "unknown":
            out.append(f"  unknown  {f.title}: no answer within {f.seconds:.1f} s")
            continue
        agree = "the interpreter agrees" if f.confirmed else "THE INTERPRETER DISAGREES (an internal error)"
        out.append(f"  differs  {f.title}")
        if f.what == "annual_fund" and f.interpreter is not None:
            out.append(f"    witness: a population of {f.copies} × this applicant, paid {f.interpreter[0][1]} under "
                       f"{d.old.key} and {f.interpreter[1][1]} under {d.new.key} after proration ({agree}):")
            out += row_lines(d.new, f.row or {}, indent="      ")
            continue
        out.append(f"    smallest witness (applicant row; blank cells left out; {agree}):")
        out += row_lines(d.new, f.row or {}, indent="      ")
        assert f.interpreter is not None
        for label, v, (status, amount) in (("old", d.old, f.interpreter[0]), ("new", d.new, f.interpreter[1])):
            out.append(f"    {label} {v.key}: {status} {amount}")
            if f.what == "total" or status in ("not_in_force", "absent"):
                continue
            own = _own(v, f.row or {})
            facts = read_facts(FactIndex(v.facts.values()), own)
            result = evaluate(v, own, backend="interpreter").packages[0].clause(f.what)
            out.append("      " + clause_heading(v.clause(f.what), result))
            out += clause_trace(v, facts, result, indent="        ")
    n = len(d.differences)
    out.append(f"  {n} difference{'s' if n != 1 else ''} found" if n else
               "  every clause and the total are the same for every applicant (proved)")
    return out


def to_json(d: SemanticDiff) -> list[dict[str, object]]:
    """The findings as plain data (the JSON and HTML reports)."""
    out: list[dict[str, object]] = []
    for f in d.findings:
        item: dict[str, object] = {"what": f.what, "title": f.title, "verdict": f.verdict,
                                   "seconds": round(f.seconds, 3)}
        if f.verdict == "differs":
            item.update(witness=f.row, copies=f.copies, confirmed=f.confirmed)
            if f.interpreter is not None:
                item.update(old={"status": f.interpreter[0][0], "amount": f.interpreter[0][1]},
                            new={"status": f.interpreter[1][0], "amount": f.interpreter[1][1]})
        out.append(item)
    return out
