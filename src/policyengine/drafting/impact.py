"""`diff --population`: what a new version would pay a population, compared with the old one.

Each version scores the whole population as `policyengine score --version` would: every row it can read is
decided by `evaluate()` with that version forced (whatever the row's application year), settled, then the
batch is prorated with `settlement.prorate` (per application year, when the annual fund is over-subscribed).
The report is plain data (`report` → JSON); the text and the HTML report are views of the same numbers.
All money is integer yuan; the proration factor is kept as the exact fraction fund/demand.

Clauses are compared as the structural diff pairs them (by article and title, `diff.pair_clauses`). The report
also says which applicants each version leaves 待补充 (a clause undetermined: a fact they must supply is blank, a
possible extra liability once they supply it), splits the winners and losers into bands (gain > 5%, gain ≤ 5%,
no change, lose ≤ 5%, lose > 5% of the old award), and warns when the population has no column for a fact that
a new or changed clause reads: every applicant then reads it as blank, and `0 → 0` is not what the clause costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from policyengine.batch.read import Reject, map_headers
from policyengine.decide.decision import PackageResult
from policyengine.decide.evaluate import evaluate
from policyengine.decide.settlement import prorate
from policyengine.drafting.diff import ClauseDiff, StructuralDiff
from policyengine.drafting.population import Sheet, read_applicants
from policyengine.drafting.render import money
from policyengine.facts.applicant import FactIndex
from policyengine.ir.lower import program
from policyengine.model.policy import PolicyVersion

REPORT_FORMAT = "policyengine-diff/2"
"""2: clauses paired by article and title (`key`, `old_id`, `new_id`, `state`, `heading`), 待补充 counts, bands,
missing columns, the changed region."""


@dataclass
class Scored:
    """One version's decisions on the population: prorated results and settled totals, by row number."""

    version: PolicyVersion
    paid: dict[int, PackageResult]
    settled: dict[int, int]
    names: dict[int, tuple[str, str]]
    rejects: list[Reject]

    @property
    def demand(self) -> int:
        return sum(self.settled.values())

    @property
    def total(self) -> int:
        return sum(r.total for r in self.paid.values())


def score(version: PolicyVersion, sheet: Sheet) -> Scored:
    """Decide every readable row under `version` (forced), settle, and prorate the batch."""
    applicants = read_applicants(sheet, version)
    decisions = [evaluate(version, facts, version=version.version) for _, facts in applicants.accepted]
    prorated = prorate(decisions)
    rows = [row.number for row, _ in applicants.accepted]
    names = {}
    for row, facts in applicants.accepted:
        name, uscc = facts.values.get("name"), facts.values.get("uscc")
        names[row.number] = (name if isinstance(name, str) else "", uscc if isinstance(uscc, str) else "")
    return Scored(version,
                  {n: d.package(version.package_id) for n, d in zip(rows, prorated, strict=True)},
                  {n: d.package(version.package_id).total for n, d in zip(rows, decisions, strict=True)},
                  names, applicants.rejects)


def percent(part: Fraction) -> str:
    """A ratio as a percentage with two decimals (display only; the exact fraction is kept beside it)."""
    value = Decimal(part.numerator * 100) / Decimal(part.denominator)
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _fund(s: Scored) -> dict[str, Any]:
    fund = s.version.annual_fund
    over = fund is not None and s.demand > fund
    factor = Fraction(fund, s.demand) if over and fund is not None else None
    return {"fund": fund, "demand": s.demand, "paid": s.total, "prorated": over,
            "factor": f"{factor.numerator}/{factor.denominator}" if factor is not None else None,
            "factor_percent": percent(factor) if factor is not None else None,
            "cut_by_proration": s.demand - s.total,
            "applicants_scored": len(s.paid), "applicants_paid": sum(1 for r in s.paid.values() if r.total > 0),
            "applicants_undetermined": sum(1 for r in s.paid.values()
                                           if any(c.status == "undetermined" for c in r.clauses)),
            "rejected_rows": sorted({r.row for r in s.rejects})}


def _paid(result: PackageResult | None, cid: str | None) -> int:
    if result is None or cid is None:
        return 0
    return next((r.amount for r in result.clauses if r.clause == cid), 0)


def _undetermined(result: PackageResult | None, cid: str | None) -> bool:
    if result is None or cid is None:
        return False
    return any(r.clause == cid and r.status == "undetermined" for r in result.clauses)


def _sides(d: ClauseDiff) -> tuple[str | None, str | None]:
    return (d.old.id if d.old else None), (d.new.id if d.new else None)


def _per_clause(diff: StructuralDiff, old: Scored, new: Scored) -> list[dict[str, Any]]:
    out = []
    for d in diff.clauses:
        oid, nid = _sides(d)
        o = [_paid(r, oid) for r in old.paid.values()]
        n = [_paid(r, nid) for r in new.paid.values()]
        out.append({"id": d.key or d.id, "state": d.state, "heading": d.heading, "old_id": oid, "new_id": nid,
                    "old_title": d.old.title if d.old else None, "new_title": d.new.title if d.new else None,
                    "old_paid": sum(o), "new_paid": sum(n), "change": sum(n) - sum(o),
                    "old_count": sum(1 for x in o if x > 0), "new_count": sum(1 for x in n if x > 0),
                    "old_undetermined": sum(_undetermined(r, oid) for r in old.paid.values()),
                    "new_undetermined": sum(_undetermined(r, nid) for r in new.paid.values())})
    return out


def _cause(changes: list[dict[str, Any]], delta: int) -> dict[str, Any] | None:
    if not changes:
        return None
    same_sign = [c for c in changes if (c["change"] > 0) == (delta > 0)] if delta else changes
    return max(same_sign or changes, key=lambda c: (abs(c["change"]), -len(c["id"])))


def _applicants(old: Scored, new: Scored, diff: StructuralDiff) -> list[dict[str, Any]]:
    out = []
    sides = [(d.key or d.id, *_sides(d)) for d in diff.clauses]
    for row in sorted(set(old.paid) & set(new.paid)):
        a, b = old.paid[row], new.paid[row]
        changes: list[dict[str, Any]] = [
            {"id": key, "old": _paid(a, oid), "new": _paid(b, nid), "change": _paid(b, nid) - _paid(a, oid)}
            for key, oid, nid in sides]
        changes = [c for c in changes if c["change"]]
        changes.sort(key=lambda c: (-abs(c["change"]), c["id"]))
        delta = b.total - a.total
        cause = _cause(changes, delta)
        name, uscc = new.names.get(row) or old.names.get(row) or ("", "")
        out.append({"row": row, "name": name, "uscc": uscc, "old": a.total, "new": b.total, "change": delta,
                    "cause": cause["id"] if cause else None, "clauses": changes})
    return out


BAND_PERCENT = 5
BANDS = (("gain_over", f"增加超过{BAND_PERCENT}%", f"gain > {BAND_PERCENT}%"),
         ("gain_within", f"增加不超过{BAND_PERCENT}%", f"gain ≤ {BAND_PERCENT}%"),
         ("same", "不变", "no change"),
         ("lose_within", f"减少不超过{BAND_PERCENT}%", f"lose ≤ {BAND_PERCENT}%"),
         ("lose_over", f"减少超过{BAND_PERCENT}%", f"lose > {BAND_PERCENT}%"))
"""The bands applicants fall into by their change relative to the old award (a gain from nothing is over)."""


def band(old: int, change: int) -> str:
    """The band of an applicant paid `old` before and `old + change` now."""
    if change == 0:
        return "same"
    side = "gain" if change > 0 else "lose"
    over = old == 0 or Fraction(abs(change), old) > Fraction(BAND_PERCENT, 100)
    return f"{side}_{'over' if over else 'within'}"


def _bands(people: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [band(int(p["old"]), int(p["change"])) for p in people]
    return [{"band": key, "label": zh, "label_en": en, "count": found.count(key),
             "amount": sum(int(p["change"]) for p, b in zip(people, found, strict=True) if b == key)}
            for key, zh, en in BANDS]


PAYOUT_CHANGES = ("门槛 ", "条件 condition", "金额 ", "上限 ", "表 ", "定义 ", "就高不重复 ", "取整 ")
"""Changes (`Change.what`) that can change what a clause pays; a new title, text, id or note cannot."""


def missing_columns(diff: StructuralDiff, sheet: Sheet) -> list[dict[str, Any]]:
    """New clauses, and clauses whose conditions or amount changed, that read a fact the population has no column
    for."""
    new = diff.new
    present = map_headers(sheet.headers, FactIndex(new.facts.values()), [], []).facts
    plans = {plan.id: plan for plan in program(new).clauses}
    out = []
    for d in diff.clauses:
        if d.new is None or d.state == "unchanged" or (
                d.state == "changed" and not any(c.what.startswith(PAYOUT_CHANGES) for c in d.changes)):
            continue
        absent = [f for f in plans[d.new.id].reads if f not in present]
        if absent:
            out.append({"clause": d.key or d.id, "heading": d.heading, "state": d.state,
                        "facts": [{"name": f, "label": new.facts[f].label} for f in absent]})
    return out


def report(diff: StructuralDiff, sheet: Sheet | None, *, top: int = 10) -> dict[str, Any]:
    """The whole diff as plain data: the structural changes, and with a population the impact."""
    labels = dict(zip(("old", "new"), diff.labels(), strict=True))

    def about(v: PolicyVersion, side: str) -> dict[str, Any]:
        return {"key": v.key, "label": labels[side], "package": v.package_id, "version": v.version,
                "title": v.meta.title, "document_number": v.meta.document_number, "years": v.years_text(),
                "content_hash": v.content_hash,
                "applicant_cap": v.applicant_cap, "annual_fund": v.annual_fund,
                "unverified_clauses": [c.id for c in v.clauses if not c.verified]}

    out: dict[str, Any] = {"format": REPORT_FORMAT, "old": about(diff.old, "old"), "new": about(diff.new, "new"),
                           "structural": diff.as_json(), "impact": None}
    if sheet is None:
        return out
    old, new = score(diff.old, sheet), score(diff.new, sheet)
    people = _applicants(old, new, diff)
    winners = [p for p in people if p["change"] > 0]
    losers = [p for p in people if p["change"] < 0]
    ranked = sorted([p for p in people if p["change"]], key=lambda p: (-abs(int(p["change"])), int(p["row"])))
    headings = {d.key or d.id: d.heading for d in diff.clauses}
    out["impact"] = {
        "population": {"file": sheet.source.name, "sha256": sheet.sha256, "encoding": sheet.encoding,
                       "rows_in": sheet.rows_in,
                       "rejected": [{"row": r.row, "column": r.column, "value": r.value, "reason": r.reason}
                                    for r in sorted({(r.row, r.column): r for r in [*old.rejects, *new.rejects]}
                                                    .values(), key=lambda r: r.row)]},
        "forced": "both versions are applied to every row, whatever its application year",
        "old": _fund(old), "new": _fund(new),
        "change": new.total - old.total,
        "change_before_proration": new.demand - old.demand,
        "missing_columns": missing_columns(diff, sheet),
        "clauses": _per_clause(diff, old, new),
        "applicants": {"compared": len(people),
                       "winners": {"count": len(winners), "amount": sum(p["change"] for p in winners)},
                       "losers": {"count": len(losers), "amount": sum(p["change"] for p in losers)},
                       "unchanged": len(people) - len(winners) - len(losers),
                       "bands": _bands(people),
                       "only_old": sorted(set(old.paid) - set(new.paid)),
                       "only_new": sorted(set(new.paid) - set(old.paid))},
        "largest_changes": [{**p, "cause_title": headings.get(p["cause"]) if p["cause"] else None}
                            for p in ranked[:top]],
        "per_applicant": [{k: p[k] for k in ("row", "name", "old", "new", "change", "cause")} for p in people],
    }
    return out


def missing_lines(imp: dict[str, Any]) -> list[str]:
    """The warning for clauses the population cannot measure (no column for a fact they read)."""
    out = []
    for m in imp.get("missing_columns") or []:
        facts = ", ".join(f"{f['label']} ({f['name']})" for f in m["facts"])
        out.append(f"  warning: {m['heading']} ({m['state']}) reads {facts}: the population has no such column, so "
                   "every applicant reads it as blank and what this clause would pay is not measured here "
                   "(测算样本缺少该列，本条影响未能测算)")
    return out


def impact_lines(data: dict[str, Any]) -> list[str]:
    """The impact part of a report as text."""
    imp = data.get("impact")
    if not imp:
        return []
    old_key, new_key = data["old"]["label"], data["new"]["label"]
    pop = imp["population"]
    out = [f"impact on {pop['file']} ({pop['rows_in']} rows; {imp['forced']}):", *missing_lines(imp)]
    for side, key in (("old", old_key), ("new", new_key)):
        f = imp[side]
        fund = "no annual fund" if f["fund"] is None else f"annual fund {money(f['fund'])}"
        line = (f"  {key}: paid {money(f['paid'])} to {f['applicants_paid']} of {f['applicants_scored']} "
                f"applicants; demand {money(f['demand'])}, {fund}")
        if f["prorated"]:
            line += (f"; over-subscribed: every award × {f['factor']} ({f['factor_percent']}%), "
                     f"{money(f['cut_by_proration'])} cut by proration")
        out.append(line)
        if f["applicants_undetermined"]:
            out.append(f"    {f['applicants_undetermined']} applicants left 待补充 (undetermined: a fact they must "
                       "supply is blank): a possible extra liability once they supply it")
    out.append(f"  change in total paid: {money(imp['change'])} (before proration: "
               f"{money(imp['change_before_proration'])})")
    a = imp["applicants"]
    out.append(f"  winners: {a['winners']['count']} applicants, +{money(a['winners']['amount'])}; losers: "
               f"{a['losers']['count']} applicants, {money(a['losers']['amount'])}; unchanged: {a['unchanged']}")
    out.append("  by change 按变化幅度: " + "; ".join(
        f"{b['label_en']}: {b['count']}" + (f" ({'+' if b['amount'] > 0 else ''}{money(b['amount'])})"
                                            if b["amount"] else "") for b in a["bands"]))
    out.append("  per clause (paid old → new, applicants paid old → new, 待补充 undetermined old → new):")
    for c in imp["clauses"]:
        out.append(f"    {c['heading']} [{c['state']}]: {money(c['old_paid'])} → {money(c['new_paid'])} "
                   f"({'+' if c['change'] > 0 else ''}{money(c['change'])}); {c['old_count']} → {c['new_count']}"
                   + (f"; 待补充 {c['old_undetermined']} → {c['new_undetermined']}"
                      if c["old_undetermined"] or c["new_undetermined"] else ""))
    if imp["largest_changes"]:
        out.append("  largest changes per applicant:")
        for p in imp["largest_changes"]:
            cause = f"mostly {p['cause_title']}" if p["cause"] else ""
            out.append(f"    row {p['row']} {p['name']}: {money(p['old'])} → {money(p['new'])} "
                       f"({'+' if p['change'] > 0 else ''}{money(p['change'])}) {cause}".rstrip())
    for r in pop["rejected"]:
        out.append(f"  row {r['row']} not scored: {r['column']} {r['value']!r}: {r['reason']}")
    return out
