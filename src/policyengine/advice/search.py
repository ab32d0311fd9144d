"""Asking z3 for the cheapest change of an applicant's changeable facts that makes a clause eligible.

One `Space` per version (built once, cached): the lowered program folded into SMT by `prove.translate` and each
clause's outcome before settlement (`prove.settle.clause_outcome`). Per applicant (`Pinned`), the facts it cannot
change and the facts it left unknown are substituted by its values; each changeable fact the clause reads (the
lowered program's `ClausePlan.reads`) is free within its domain, at the declared cost (`advice.cost`); the others
stay as they are. A question is the goal (the clause eligible and paying at least 1 yuan) at the least total
cost, then with the fewest facts changed.

z3's `Optimize` was tried first: over the translation's real-valued money, with its whole-fen and rounding
constraints, it often gave no answer within seconds (a16, a05). Every cost is a whole number of hundredths, so
the least cost is found by bisection instead, each step a plain satisfiability question to the prover's
simplifying solver with its seed-retry loop (`prove.solve`), which answers in milliseconds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import z3

from policyengine.advice.cost import cost
from policyengine.facts.values import UNKNOWN, Value
from policyengine.ir.lower import program as lower
from policyengine.ir.program import ClausePlan, Deciding
from policyengine.model.policy import PolicyVersion
from policyengine.prove import solve
from policyengine.prove.settle import clause_outcome
from policyengine.prove.solve import _check as check
from policyengine.prove.translate import (
    ELIGIBLE,
    Codes,
    Term,
    Translate,
    assignment,
    fact_vars,
    program_strings,
    real,
)

TIMEOUT_S = 5.0
"""Default time z3 may spend on one question (one clause of one applicant) before the answer is `unknown`."""


HUNDRED = 100
"""Costs are whole hundredths: money in fen, rates in hundredths of a percentage point, the rest whole steps."""


@dataclass
class Answer(solve.Answer):
    """The prover's answer, and whether its model is the cheapest."""

    least: bool = True
    """Whether the model is proved the cheapest (False: time ran out while looking for a cheaper one)."""


class Space:
    """One version's applicants as solver variables, with each clause's goal: eligible and paying > 0."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self.program = lower(version)
        self.codes = Codes(program_strings(self.program))
        self.facts = fact_vars(self.program.facts.values(), self.codes)
        self.translate = Translate(self.program, self.facts, self.codes)
        self.status: dict[str, Term] = {}
        self.amount: dict[str, Term] = {}
        for plan in self.program.clauses:
            self.status[plan.id], self.amount[plan.id] = clause_outcome(plan, self.translate)
        self.known = {name: z3.simplify(z3.And(fv.domain, z3.Not(fv.tv.unk))) for name, fv in self.facts.items()}
        """Each fact's domain, known (a fact that moves is never made unknown)."""

    def goal(self, clause: str) -> Term:
        return z3.And(self.status[clause] == ELIGIBLE, self.amount[clause] > 0)

    def pinned(self, values: Mapping[str, Value], free: Iterable[str] = ()) -> Pinned:
        """An applicant with `values` as a question: unchangeable and unknown facts pinned (substituted into every
        term, so the solver sees only what may move), changeable known facts free at their cost; facts in `free`
        free and known at no cost (to ask whether supplying them could help)."""
        free = set(free)
        pairs: list[tuple[Term, Term]] = []
        moving: dict[str, Value] = {}
        for name, fv in self.facts.items():
            v = values.get(name, UNKNOWN)
            if name in free:
                moving[name] = UNKNOWN     # free at no cost
            elif v is UNKNOWN or not fv.spec.changeable:
                pairs += assignment({name: fv}, {name: v}, self.codes)
            else:
                moving[name] = v
        return Pinned(self, pairs, moving)

    def possible(self, hard: Sequence[Term], goal: Term, timeout_s: float) -> Literal["sat", "unsat", "unknown"]:
        r, _ = check([*hard, goal], timeout_s, time.perf_counter())
        return "sat" if r == z3.sat else "unsat" if r == z3.unsat else "unknown"

    def value(self, model: Any, name: str) -> Value:
        """A fact's value in `model`, as the interpreter holds it."""
        fv = self.facts[name]

        def ev(t: Term) -> Any:
            return model.eval(t, model_completion=True)

        if z3.is_true(ev(fv.tv.unk)):
            return UNKNOWN
        if z3.is_true(ev(fv.tv.none)):
            return None
        val = ev(fv.tv.val)
        if fv.tv.kind == "bool":
            return bool(z3.is_true(val))
        if fv.tv.kind == "str":
            return self.codes.text(val.as_long())
        return Fraction(val.as_fraction())


class Pinned:
    """One applicant's question space: the pinned facts substituted, the free ones' domains and costs."""

    def __init__(self, space: Space, pairs: list[tuple[Term, Term]], moving: Mapping[str, Value]) -> None:
        self.space = space
        self.pairs = pairs
        self.moving = dict(moving)
        """The facts that may move, with the applicant's value (UNKNOWN: free at no cost)."""
        self._costs: dict[str, Term] = {}

    def free(self, names: Iterable[str]) -> list[str]:
        """The facts among `names` (what a clause or condition reads, from the lowered program) that may move;
        the others stay as they are."""
        return [n for n in dict.fromkeys(names) if n in self.moving]

    def cost(self, name: str) -> Term:
        found = self._costs.get(name)
        if found is None:
            old = self.moving[name]
            found = self._costs[name] = real(0) if old is UNKNOWN else \
                z3.simplify(cost(self.space.facts[name], old, self.space.codes))
        return found

    def scope(self, names: Iterable[str]) -> tuple[list[Term], list[Term]]:
        """(domains, costs) of the facts among `names` that may move."""
        free = self.free(names)
        return [self.space.known[n] for n in free], [self.cost(n) for n in free]

    def term(self, t: Term) -> Term:
        """`t` with the pinned facts put in."""
        return z3.simplify(z3.substitute(t, *self.pairs)) if self.pairs else t

    def goal(self, clause: str) -> Term:
        return self.term(self.space.goal(clause))

    def amount_of(self, model: Any, clause: str) -> int:
        """The clause's amount (before settlement) in `model`."""
        return int(model.eval(self.term(self.space.amount[clause]), model_completion=True).as_long())

    def cheapest(self, goal: Term, reads: Sequence[str], timeout_s: float) -> Answer:
        """The cheapest model of the free facts' domains and `goal`: the least total cost (every cost is a whole
        number of hundredths, so the least is found by bisection on hundredths, each step a plain satisfiability
        question to the simplifying solver of `prove.solve`), then the fewest facts changed at that cost. When
        time runs out mid-way, the cheapest model found so far, with `least=False`."""
        start = time.perf_counter()
        deadline = start + timeout_s
        hard, costs = self.scope(reads)
        total = z3.Sum(*costs) if costs else real(0)
        changed = z3.Sum(*[z3.If(c > 0, 1, 0) for c in costs]) if costs else z3.IntVal(0)

        def ask(*extra: Term) -> tuple[Literal["sat", "unsat", "unknown"], Any]:
            # the prover's loop: seed 0 first, then other seeds, within the time left
            r, s = check([*hard, goal, *extra], max(0.05, deadline - time.perf_counter()), time.perf_counter())
            return ("sat", s.model()) if r == z3.sat else ("unsat" if r == z3.unsat else "unknown", None)

        r, model = ask()
        if r != "sat":
            return Answer(r, None, time.perf_counter() - start)

        def hundredths(m: Any, t: Term) -> int:
            v = Fraction(m.eval(t, model_completion=True).as_fraction()) * HUNDRED
            return int(v) + (v.denominator != 1)

        least = True
        low, high = -1, hundredths(model, total)   # no model costs `low`; `model` costs `high` at most
        while high - low > 1:
            if time.perf_counter() >= deadline:
                least = False
                break
            mid = (low + high) // 2
            r, found = ask(total * HUNDRED <= mid)
            if r == "sat":
                model, high = found, min(mid, hundredths(found, total))
            elif r == "unsat":
                low = mid
            else:
                least = False
                break
        fewest = int(model.eval(changed, model_completion=True).as_long())
        while least and fewest > 1 and time.perf_counter() < deadline:
            r, found = ask(total * HUNDRED <= high, changed < fewest)
            if r != "sat":
                break
            model, fewest = found, int(found.eval(changed, model_completion=True).as_long())
        return Answer("sat", model, time.perf_counter() - start, least)

    def blocking(self, plan: ClausePlan, timeout_s: float) -> list[Deciding]:
        """The parts of `plan`'s conditions that no change can make true (the first condition that is impossible
        alone, looked into down to the impossible operand), or else the conditions that cannot all hold at
        once (an unsat core); empty when only the amount cannot be more than 0."""
        deadline = time.perf_counter() + timeout_s
        tr = self.space.translate

        def left() -> float:
            return max(0.1, deadline - time.perf_counter())

        def impossible(e: Term, reads: Sequence[str]) -> bool:
            t = self.term(e)
            return self.space.possible(self.scope(reads)[0], t, left()) == "unsat"

        for cond in plan.conditions:
            if impossible(tr.of(cond.expr).is_true(), cond.reads):
                part = cond.deciding
                while part.operands:
                    inner = next((d for e, d in part.operands if impossible(tr.of(e).is_true(), d.reads)), None)
                    if inner is None:
                        break
                    part = inner
                return [part]
        s = z3.Solver()   # assumptions and an unsat core: the plain solver
        s.set("timeout", max(1, int(left() * 1000)))
        s.add(*self.scope(plan.reads)[0])
        marks = {z3.Bool(f"advise?cond{i}"): cond for i, cond in enumerate(plan.conditions)}
        for mark, cond in marks.items():
            s.add(z3.Implies(mark, self.term(tr.of(cond.expr).is_true())))
        if s.check(*marks) != z3.unsat:
            return []
        core = {str(m) for m in s.unsat_core()}
        return [cond.deciding for mark, cond in marks.items() if str(mark) in core]


@functools.lru_cache(maxsize=16)
def space(version: PolicyVersion) -> Space:
    """The version's `Space`, built once per process (versions are hashed by identity)."""
    return Space(version)
