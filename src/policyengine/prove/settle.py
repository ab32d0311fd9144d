"""One applicant's decision under one program, as SMT terms: clause outcomes, then settlement in its fixed order
(clause cap → exclusive group → per-applicant cap), read from the program's `SettlementPlan`.

Mirrors `engines.interpreter.evaluate_plan` (a false condition → ineligible; else an unknown one →
undetermined; else the amount, rounded once per clause) and `decide.settlement.settle`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import z3

from policyengine.ir.program import ClausePlan, Program
from policyengine.model.rulefile import Rounding
from policyengine.prove.translate import (
    ELIGIBLE,
    ERROR,
    EXCLUDED,
    FALSE,
    INELIGIBLE,
    NOT_IN_FORCE,
    STATUSES,
    TRUE,
    TV,
    UNDETERMINED,
    Codes,
    FactVar,
    Term,
    Translate,
    num,
    real,
)


@dataclass
class ClauseTerm:
    id: str
    status: Term
    """An integer: the index of the outcome in `translate.STATUSES`."""
    amount: Term
    """The settled amount in whole yuan (an integer)."""
    computed: Term
    """The rounded amount before settlement."""


@dataclass
class Outcome:
    """One applicant's settled decision under one program."""

    program: Program
    clauses: dict[str, ClauseTerm]
    total: Term
    in_force: Term
    translate: Translate

    def status_text(self, cid: str, codes: Codes) -> TV:
        """A clause's status as a text value (`a05.status` in an invariant)."""
        status = self.clauses[cid].status
        out: Term = z3.IntVal(codes.code(STATUSES[0]))
        for i, s in enumerate(STATUSES):
            out = z3.If(status == i, codes.code(s), out)
        return TV("str", FALSE, FALSE, out)

    def attrs(self, codes: Codes) -> Callable[[str, str], TV]:
        def attr(obj: str, name: str) -> TV:
            if name == "amount":
                return num(z3.ToReal(self.clauses[obj].amount))
            return self.status_text(obj, codes)
        return attr


def rounded(value: Term, rounding: Rounding) -> Term:
    """`facts.money.round_amount` on a real: whole yuan, to the unit, half up (or down, or up) away from zero."""
    step = 10_000 if rounding.unit == "wan" else 1
    y = value / step
    if rounding.mode == "half_up":
        pos, neg = z3.ToInt(y + real(Fraction(1, 2))), -z3.ToInt(-y + real(Fraction(1, 2)))
    elif rounding.mode == "down":
        pos, neg = z3.ToInt(y), -z3.ToInt(-y)
    else:
        pos, neg = -z3.ToInt(-y), z3.ToInt(y)
    return z3.If(y >= 0, pos, neg) * step


def clause_outcome(plan: ClausePlan, tr: Translate) -> tuple[Term, Term]:
    """(status, rounded amount) of a clause before settlement; the amount is 0 unless eligible."""
    conds = [tr.of(c.expr) for c in plan.conditions]
    false = z3.Or(*[c.is_false() for c in conds]) if conds else FALSE
    unk = z3.Or(*[c.unk for c in conds]) if conds else FALSE
    a = tr.of(plan.amount)
    status = z3.If(false, INELIGIBLE, z3.If(unk, UNDETERMINED, z3.If(a.unk, UNDETERMINED,
                                                                      z3.If(a.none, ERROR, ELIGIBLE))))
    amount = z3.If(status == ELIGIBLE, rounded(a.val, plan.rounding), 0)
    return status, amount


def outcome(program: Program, facts: Mapping[str, FactVar], codes: Codes, year: Term | None = None) -> Outcome:
    """The settled decision of `program`; with `year` (the application year's term), a version outside its
    validity window gives every clause `not_in_force` and pays nothing (as `evaluate` without a forced version)."""
    tr = Translate(program, facts, codes)
    status: dict[str, Term] = {}
    computed: dict[str, Term] = {}
    for plan in program.clauses:
        status[plan.id], computed[plan.id] = clause_outcome(plan, tr)
    amount = dict(computed)
    s = program.settlement
    for cid, cap in s.caps:
        amount[cid] = z3.If(z3.And(status[cid] == ELIGIBLE, amount[cid] > cap), cap, amount[cid])
    for group in s.groups:
        order = list(group.members)
        excluded: dict[str, Term] = {}
        for i, m in enumerate(order):
            beaten = [z3.And(status[n] == ELIGIBLE, z3.Or(amount[n] > amount[m],
                                                           z3.And(amount[n] == amount[m], j < i)))
                      for j, n in enumerate(order) if n != m]
            excluded[m] = z3.And(status[m] == ELIGIBLE, z3.Or(*beaten)) if beaten else FALSE
        for m, out in excluded.items():
            status[m] = z3.If(out, EXCLUDED, status[m])
            amount[m] = z3.If(out, 0, amount[m])
    if s.applicant_cap is not None:
        excess = z3.Sum(*amount.values()) - s.applicant_cap
        for cid in s.cut_order:
            cut = z3.If(z3.And(excess > 0, amount[cid] != 0), z3.If(amount[cid] < excess, amount[cid], excess), 0)
            amount[cid] = amount[cid] - cut
            excess = excess - cut
    in_force: Term = TRUE
    if year is not None:
        eff = program.version.meta.effective
        in_force = z3.And(year >= eff.from_year, *([year <= eff.to_year] if eff.to_year is not None else []))
        for cid in status:
            status[cid] = z3.If(in_force, status[cid], NOT_IN_FORCE)
            amount[cid] = z3.If(in_force, amount[cid], 0)
            computed[cid] = z3.If(in_force, computed[cid], 0)
    clauses = {p.id: ClauseTerm(p.id, status[p.id], amount[p.id], computed[p.id]) for p in program.clauses}
    total = z3.Sum(*[c.amount for c in clauses.values()]) if clauses else z3.IntVal(0)
    return Outcome(program, clauses, total, in_force, tr)
