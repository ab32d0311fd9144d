"""`advise()`: for each clause an applicant is not eligible for, the cheapest change to the facts it can change
that makes the clause eligible, and what it would then pay; or why no such change exists.

Every change the solver proposes is CONFIRMED before it is reported: the changed facts are decided by the
reference interpreter (`evaluate`, the version held), and the clause must come out eligible (or eligible but
excluded by its group) with the amount the solver computed. A change the interpreter does not confirm is
dropped and reported as `unconfirmed` (an internal disagreement, never advice).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from policyengine.advice.cost import cost_of, relative_of
from policyengine.advice.search import TIMEOUT_S, Space, space
from policyengine.decide.decision import ClauseResult, PackageResult
from policyengine.decide.evaluate import Packages, _as_packages, applicant_index, evaluate
from policyengine.decide.versions import VersionChoice
from policyengine.engines.interpreter import Env, deciding
from policyengine.errors import PolicyEngineError
from policyengine.facts.applicant import Facts, read_facts
from policyengine.facts.values import UNKNOWN, Value
from policyengine.ir.program import ClausePlan, ConditionPlan, Deciding
from policyengine.model.policy import Package, PolicyVersion

Outcome = Literal["reachable", "unreachable", "missing", "unconfirmed", "unknown", "eligible"]
"""reachable: a confirmed change; unreachable: no change of changeable facts helps (`blocking` says why);
missing: facts the clause reads are unknown (supply them first); unconfirmed: the interpreter did not confirm the
solver's change (dropped); unknown: no answer in time; eligible: the clause already is (only when asked for)."""


class AdviseError(PolicyEngineError):
    """A clause asked for that no version in force has, and the like: one line."""


@dataclass(frozen=True)
class Change:
    """One fact moved: from `before` to `after`, at `cost`."""

    fact: str
    label: str
    before: Value
    after: Value
    cost: Fraction
    relative: Fraction
    """How far the change is for this applicant (`cost.relative_of`): what `nearest` compares."""


@dataclass(frozen=True)
class Blocking:
    """A condition no change of the applicant's changeable facts can make true."""

    condition: str
    """The clause's condition as written (`E`, `rd_expense >= 50万`)."""
    part: str
    """The part of it that cannot hold (`registered_district == "皇姑区"`); the condition itself if it is the part."""
    facts: tuple[tuple[str, str, Value, bool], ...]
    """(fact, label, the applicant's value, changeable) for each fact the part reads."""
    where: str
    """The rule file and line of the condition."""


@dataclass
class Advice:
    """One clause of one version for one applicant."""

    package: str
    version: str
    clause: str
    article: int
    title: str
    status: str
    """The clause's status for the applicant as it is."""
    outcome: Outcome
    changes: tuple[Change, ...] = ()
    cost: Fraction | None = None
    computed: int | None = None
    """What the clause computes after the change (its own amount, rounded, before settlement)."""
    paid: int | None = None
    """What the clause pays after the change, after settlement (0 when its group's higher award stands)."""
    total_before: int = 0
    total_after: int | None = None
    blocking: tuple[Blocking, ...] = ()
    missing: tuple[tuple[str, str], ...] = ()
    """(fact, label) of unknown facts the clause reads, for `missing`."""
    seconds: float = 0.0
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.package}.{self.clause}"

    @property
    def distance(self) -> Fraction:
        """The changes' relative size summed (`cost.relative_of`): 0.1 for 45万 → 50万, 1 per level or start."""
        return sum((c.relative for c in self.changes), Fraction(0))


@dataclass
class AdviceReport:
    """The advice for one applicant under every package given."""

    advices: list[Advice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """A package with no version in force, or the like: why it has no advice."""
    applicant: dict[str, str | None] = field(default_factory=dict)

    def nearest(self) -> Advice | None:
        """The reachable advice nearest the applicant as it is: the least `distance` (each change relative to
        the applicant's own figure, so raising 45万 to 50万 is nearer than starting an activity from 0), then the
        most gained, then the least cost, then package and article order."""
        found = [a for a in self.advices if a.outcome == "reachable"]
        if not found:
            return None
        return min(found, key=lambda a: (a.distance, a.total_before - (a.total_after or 0), a.cost or 0))


def _same(a: Value, b: Value) -> bool:
    return a is b if a is UNKNOWN or b is UNKNOWN else type(a) is type(b) and a == b


def _values(version: PolicyVersion, facts: Facts) -> dict[str, Value]:
    return {name: facts.get(name, spec) for name, spec in version.facts.items()}


def _clause_result(result: PackageResult, clause: str) -> ClauseResult | None:
    return next((c for c in result.clauses if c.clause == clause), None)


class _Adviser:
    """The questions for one applicant under one version."""

    def __init__(self, package: Package, version: PolicyVersion, facts: Facts, before: PackageResult,
                 timeout_s: float) -> None:
        self.package = package
        self.version = version
        self.facts = facts
        self.before = before
        self.timeout_s = timeout_s
        self.space: Space = space(version)
        self.values = _values(version, facts)
        self.pinned = self.space.pinned(self.values)
        self.env = Env(version, facts)

    def _fixed_false(self, plan: ClausePlan) -> ConditionPlan | None:
        """The first condition of `plan` that is false and reads only facts no change moves (unchangeable, or
        unknown): false whatever the changeable facts are (and whatever the unknown ones turn out to be, as a
        false three-valued result stays false however its unknowns are filled in)."""
        closures = self.env.closures.by_id[plan.id].conditions
        for cond, value in zip(plan.conditions, closures, strict=True):
            if all(not self.version.facts[n].changeable or self.values[n] is UNKNOWN for n in cond.reads) \
                    and value(self.env) is False:
                return cond
        return None

    def _blocked(self, plan: ClausePlan, cond: ConditionPlan, part: Deciding) -> Blocking:
        facts = tuple((f, self.version.facts[f].label, self.values.get(f, UNKNOWN), self.version.facts[f].changeable)
                      for f in part.reads)
        return Blocking(cond.text, part.text, facts, _where(self.version, plan.id, cond.index))

    def advice(self, result: ClauseResult, *, explain: bool = True) -> Advice:
        start = time.perf_counter()
        plan = self.space.program.clause(result.clause)
        base = Advice(self.package.id, self.version.version, plan.id, plan.article, plan.title, result.status,
                      "unknown", total_before=self.before.total)
        if result.status in ("eligible", "excluded"):
            base.outcome = "eligible"
            return base
        fixed = self._fixed_false(plan)
        if fixed is not None:   # no question for the solver
            base.outcome = "unreachable"
            if explain:
                base.blocking = (self._blocked(plan, fixed, deciding(fixed.deciding, self.env)),)
            base.seconds = time.perf_counter() - start
            return base
        goal = self.pinned.goal(plan.id)
        answer = self.pinned.cheapest(goal, plan.reads, self.timeout_s)
        if answer.result == "sat" and not answer.least:
            base.note = f"the cheapest change found within {self.timeout_s:g} s (a cheaper one may exist)"
        base.seconds = answer.seconds
        if answer.result == "sat":
            self._confirm(base, answer.model, self.pinned.free(plan.reads))
        elif answer.result == "unknown":
            base.note = f"no answer within {self.timeout_s:g} s"
        elif explain:
            self._why_not(base)
        else:   # a batch: not worked out; a clause reading an unknown fact may need only that fact supplied
            unknown = [f for f in plan.reads if self.values.get(f, UNKNOWN) is UNKNOWN]
            base.outcome = "missing" if unknown else "unreachable"
            base.missing = tuple((f, self.version.facts[f].label) for f in unknown)
        base.seconds = time.perf_counter() - start
        return base

    def _confirm(self, advice: Advice, model: Any, free: Sequence[str]) -> None:
        """The model's changes (to the free facts the goal reads; the others stay as they are), confirmed by the
        reference interpreter."""
        changes: list[Change] = []
        values = dict(self.facts.values)
        for name in free:
            spec = self.version.facts[name]
            old = self.values[name]
            new = self.space.value(model, name)
            if _same(old, new):
                continue
            changes.append(Change(name, spec.label, old, new, cost_of(spec, old, new), relative_of(spec, old, new)))
            values[name] = new
        computed = self.pinned.amount_of(model, advice.clause)
        forced = {self.package.id: self.version.version}
        after = evaluate(self.package, Facts(values, self.facts.unused), version=forced,
                         backend="interpreter").packages[0]
        found = _clause_result(after, advice.clause)
        if found is None or found.status not in ("eligible", "excluded") or found.computed != computed:
            advice.outcome = "unconfirmed"
            shown = "absent" if found is None else f"{found.status} {found.computed}"
            advice.note = (f"the solver's change gives eligible {computed}, the interpreter {shown}: dropped "
                           "(an internal disagreement)")
            return
        advice.outcome = "reachable"
        advice.changes = tuple(changes)
        advice.cost = sum((c.cost for c in changes), Fraction(0))
        advice.computed = computed
        advice.paid = found.amount
        advice.total_after = after.total

    def _why_not(self, advice: Advice) -> None:
        plan = self.space.program.clause(advice.clause)
        unknown = [f for f in plan.reads if self.values.get(f, UNKNOWN) is UNKNOWN]
        pinned = self.pinned
        if unknown:
            pinned = self.space.pinned(self.values, free=unknown)
            goal = pinned.goal(plan.id)
            if self.space.possible(pinned.scope(plan.reads)[0], goal, self.timeout_s) != "unsat":
                advice.outcome = "missing"
                advice.missing = tuple((f, self.version.facts[f].label) for f in unknown)
                return
        advice.outcome = "unreachable"
        parts = pinned.blocking(plan, self.timeout_s)
        out: list[Blocking] = []
        for part in parts:
            cond = next((c for c in plan.conditions if _contains(c.deciding, part)), plan.conditions[0])
            out.append(self._blocked(plan, cond, part))
        if not out:
            advice.note = f"the amount {plan.amount_text} cannot be more than 0 for this applicant"
        advice.blocking = tuple(out)


def _contains(d: Deciding, part: Deciding) -> bool:
    """Whether `part` is `d` or lies within it."""
    return d is part or any(_contains(sub, part) for _, sub in d.operands)


def _where(version: PolicyVersion, clause: str, index: int) -> str:
    """`huangzuan16/3.0/policy.yaml:61`: the condition's file (from the package's folder) and line."""
    c = version.clause(clause)
    loc = c.conditions[index].loc if index < len(c.conditions) else c.loc
    path = Path(loc.file)
    with contextlib.suppress(ValueError):
        path = path.relative_to(version.source.parent.parent)
    return f"{path.as_posix()}:{loc.line}" if loc.line else path.as_posix()


def advise(packages: Packages, facts: Mapping[str, object] | Facts, clause: str | None = None, *,
           version: VersionChoice = None, timeout_s: float = TIMEOUT_S, explain: bool = True) -> AdviceReport:
    """For each clause the applicant is not eligible for (under the version in force for its application year),
    the cheapest change to the facts it can change that makes the clause eligible, confirmed by the reference
    interpreter, and what it would then pay; or `unreachable` with the blocking condition; or `missing` with the
    unknown facts to supply first.

    `facts` as `evaluate()` takes them. `clause`: only this clause id (every package that has it). Facts marked
    `changeable: false` in the fact schema are never changed; the cost of a change is declared per fact type
    (money 1 per yuan, one step per enum level, …; see `rules/facts.yaml`). `timeout_s`: the time z3 may spend
    on one clause. `version` forces a version as `evaluate()` does. `explain=False` skips the blocking
    conditions and missing facts (for batches).
    """
    pkgs = _as_packages(packages)
    if clause is not None:
        known = sorted({c.id for p in pkgs for v in p.versions for c in v.clauses})
        if clause not in known:
            raise AdviseError(f"clause {clause!r}: no such clause in {', '.join(p.id for p in pkgs)} "
                              f"(clauses: {', '.join(known)})")
    typed = facts if isinstance(facts, Facts) else read_facts(applicant_index(pkgs), facts, complete=True)
    decision = evaluate(pkgs, typed, version=version, backend="interpreter")
    report = AdviceReport(applicant={k: v for k, v in decision.facts.items() if k in ("uscc", "name")})
    asked_for = False
    for package, result in zip(pkgs, decision.packages, strict=True):
        if result.status != "evaluated" or result.version is None:
            report.notes.append(f"{package.id}: {result.reason or result.status}")
            continue
        chosen = package.version(result.version)
        targets = [c for c in result.clauses if clause is None or c.clause == clause]
        asked_for = asked_for or bool(targets)
        if clause is None:
            targets = [c for c in targets if c.status not in ("eligible", "excluded")]
        if not targets:
            continue
        adviser = _Adviser(package, chosen, typed, result, timeout_s)
        report.advices.extend(adviser.advice(c, explain=explain) for c in targets)
    if clause is not None and not asked_for:
        in_force = ", ".join(f"{p.package}@{p.version}" for p in decision.packages if p.version)
        report.notes.append(f"clause {clause} is not in the version in force for this applicant ({in_force or 'none'})")
    return report
