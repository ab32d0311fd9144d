"""Settlement, in the fixed order: clause cap → exclusive group → per-applicant cap → fund proration.

The first three apply to one applicant (`settle`); proration applies to a population (`prorate`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policyengine.decide.decision import ClauseResult, Decision, PackageResult, SettlementStep
from policyengine.facts.money import prorate as prorate_amount
from policyengine.ir.lower import program
from policyengine.model.policy import PolicyVersion


def settle(version: PolicyVersion, results: Sequence[ClauseResult]) -> tuple[list[ClauseResult], list[SettlementStep]]:
    """Apply clause caps, exclusive groups and the per-applicant cap to one applicant's clause results, in the
    order and with the tie rule of the version's settlement plan."""
    out = list(results)
    for r in out:
        if r.amount or r.status == "eligible":
            break
    else:   # nothing eligible, nothing paid (most applicants, most versions): no step applies
        return out, []
    plan = program(version).settlement
    position = {r.clause: i for i, r in enumerate(out)}
    steps: list[SettlementStep] = []

    def changing(cid: str) -> ClauseResult:
        """The result of `cid`, copied before its first change (the results given are never changed)."""
        i = position[cid]
        r = out[i]
        if r is results[i]:
            r = out[i] = r.model_copy(update={"settlement": list(r.settlement)})
        return r

    for cid, cap in plan.caps:
        r = out[position[cid]]
        if r.status == "eligible" and r.amount > cap:
            r = changing(cid)
            note = f"capped at {cap} (clause cap)"
            steps.append(SettlementStep(step="clause_cap", clause=r.clause, before=r.amount, after=cap, note=note))
            r.settlement.append(f"{r.amount} → {cap}: {note}")
            r.amount = cap

    for group in plan.groups:
        members = {m: out[position[m]] for m in group.members}
        eligible = {m: r.amount for m, r in members.items() if r.status == "eligible"}
        if len(eligible) < 2:
            continue
        winner = members[group.winner(eligible)]
        for m in eligible:
            if m == winner.clause:
                continue
            r = changing(m)
            tie = " (tie: the lower article stands)" if r.amount == winner.amount else ""
            note = f"group {group.id} 就高不重复: {winner.clause} ({winner.amount}) stands{tie}"
            steps.append(SettlementStep(step="group", clause=r.clause, before=r.amount, after=0, note=note))
            r.settlement.append(f"excluded: {note}")
            r.status = "excluded"
            r.reason = group.excluded_reason(winner.clause)
            r.amount = 0

    if plan.applicant_cap is not None:
        total = sum(r.amount for r in out)
        excess = total - plan.applicant_cap
        for cid in plan.cut_order:
            if excess <= 0:
                break
            if out[position[cid]].amount == 0:
                continue
            r = changing(cid)
            cut = min(r.amount, excess)
            note = f"per-applicant cap {plan.applicant_cap} (total was {total})"
            steps.append(SettlementStep(step="applicant_cap", clause=r.clause, before=r.amount,
                                        after=r.amount - cut, note=note))
            r.settlement.append(f"{r.amount} → {r.amount - cut}: {note}")
            r.amount -= cut
            excess -= cut
    return out, steps


FundKey = tuple[str, str, int]
"""(package, version, application year): the unit a fund is paid from."""


def recorded_over(rows: Iterable[Sequence[Any]]) -> dict[FundKey, tuple[int, int]]:
    """The over-subscribed funds a run records (`[package, version, year, fund, demand]` each, as
    `Scored.proration` gives them) as `prorate_decision` takes them."""
    return {(p, v, y): (f, d) for p, v, y, f, d in rows}

def prorate(decisions: Sequence[Decision]) -> list[Decision]:
    """Scale every award so no package's annual fund is over-subscribed.

    Per package, version and application year: when the settled totals exceed the fund, each award becomes
    `amount * fund // demand` (rounded down to the yuan), so the total never exceeds the fund. The result does
    not depend on the order of `decisions`.
    """
    demand: dict[FundKey, int] = defaultdict(int)
    funds: dict[FundKey, int] = {}
    for d in decisions:
        for p in d.packages:
            key = _fund_key(p)
            if key is not None and p.annual_fund is not None:
                demand[key] += p.total
                funds[key] = p.annual_fund
    over = {k: (fund, demand[k]) for k, fund in funds.items() if demand[k] > fund}
    if not over:
        return list(decisions)
    return [prorate_decision(d, over) for d in decisions]


def prorate_decision(decision: Decision, over: Mapping[FundKey, tuple[int, int]], *, copy: bool = True,
                     ) -> Decision:
    """One decision with proration applied: `over` maps each over-subscribed key to (fund, demand).

    This is `prorate` for one member of a population whose demand is already known (a batch scores millions
    of applicants and cannot hold their decisions at once). A decision that no proration touches is given back
    as it is; one that is touched is a copy, or with `copy=False` (for a caller that owns `decision`) is
    changed in place.
    """
    if not any((key := _fund_key(p)) is not None and key in over and any(r.amount for r in p.clauses)
               for p in decision.packages):
        return decision
    d2 = decision.model_copy(deep=True) if copy else decision
    for p in d2.packages:
        key = _fund_key(p)
        if key is None or key not in over:
            continue
        fund, want = over[key]
        for r in p.clauses:
            if r.amount == 0:
                continue
            after = prorate_amount(r.amount, fund, want)
            note = f"annual fund {fund} over-subscribed ({want}): × {fund}/{want}, rounded down"
            p.steps.append(SettlementStep(step="proration", clause=r.clause, before=r.amount, after=after,
                                          note=note, fund=fund, demand=want))
            r.settlement.append(f"{r.amount} → {after}: {note}")
            r.amount = after
        p.total = sum(r.amount for r in p.clauses)
    d2.total = sum(p.total for p in d2.packages)
    return d2


def recorded_proration(decision: Decision) -> dict[FundKey, tuple[int, int]]:
    """The (fund, demand) of every proration a decision records, read back from its proration steps."""
    out: dict[FundKey, tuple[int, int]] = {}
    for p in decision.packages:
        key = _fund_key(p)
        for step in p.steps:
            if key is not None and step.step == "proration" and step.fund is not None and step.demand is not None:
                out[key] = (step.fund, step.demand)
    return out


def _fund_key(p: PackageResult) -> tuple[str, str, int] | None:
    if p.status != "evaluated" or p.version is None or p.application_year is None:
        return None
    return (p.package, p.version, p.application_year)


def fund_use(decisions: Sequence[Decision]) -> dict[tuple[str, str, int], tuple[int, int]]:
    """(fund, paid) per package, version and application year."""
    out: dict[tuple[str, str, int], tuple[int, int]] = {}
    for d in decisions:
        for p in d.packages:
            key = _fund_key(p)
            if key is None or p.annual_fund is None:
                continue
            fund, paid = out.get(key, (p.annual_fund, 0))
            out[key] = (fund, paid + p.total)
    return out
