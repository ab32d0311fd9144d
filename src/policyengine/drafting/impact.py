"""`diff --population`: what a new version would pay a population, compared with the old one.

Each version scores the whole population as `policyengine score --version` would: every row it can read is
decided by `evaluate()` with that version forced (whatever the row's application year), settled, then the
batch is prorated with `settlement.prorate` (per application year, when the annual fund is over-subscribed).
The report is plain data (`report` → JSON); the text and the HTML report are views of the same numbers.
All money is integer yuan; the proration factor is kept as the exact fraction fund/demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from policyengine.batch.read import Reject
from policyengine.decide.decision import PackageResult
from policyengine.decide.evaluate import evaluate
from policyengine.decide.settlement import prorate
from policyengine.drafting.diff import StructuralDiff
from policyengine.drafting.population import Sheet, read_applicants
from policyengine.drafting.render import money
from policyengine.model.policy import PolicyVersion

REPORT_FORMAT = "policyengine-diff/1"


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
            "rejected_rows": sorted({r.row for r in s.rejects})}


def _clause_ids(old: PolicyVersion, new: PolicyVersion) -> list[str]:
    ids = [c.id for c in old.clauses]
    return ids + [c.id for c in new.clauses if c.id not in ids]


def _title(v: PolicyVersion, cid: str) -> str | None:
    return next((c.title for c in v.clauses if c.id == cid), None)


def _both_titles(old: str | None, new: str | None) -> str:
    """`title`, or `old title → new title` when one id names a different article in each version."""
    if old and new and old != new:
        return f"{old} → {new}"
    return new or old or ""


def _paid(result: PackageResult | None, cid: str) -> int:
    if result is None:
        return 0
    return next((r.amount for r in result.clauses if r.clause == cid), 0)


def _per_clause(old: Scored, new: Scored) -> list[dict[str, Any]]:
    out = []
    for cid in _clause_ids(old.version, new.version):
        o = [_paid(r, cid) for r in old.paid.values()]
        n = [_paid(r, cid) for r in new.paid.values()]
        out.append({"id": cid, "old_title": _title(old.version, cid), "new_title": _title(new.version, cid),
                    "old_paid": sum(o), "new_paid": sum(n), "change": sum(n) - sum(o),
                    "old_count": sum(1 for x in o if x > 0), "new_count": sum(1 for x in n if x > 0)})
    return out


def _cause(changes: list[dict[str, Any]], delta: int) -> dict[str, Any] | None:
    if not changes:
        return None
    same_sign = [c for c in changes if (c["change"] > 0) == (delta > 0)] if delta else changes
    return max(same_sign or changes, key=lambda c: (abs(c["change"]), -len(c["id"])))


def _applicants(old: Scored, new: Scored, ids: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for row in sorted(set(old.paid) & set(new.paid)):
        a, b = old.paid[row], new.paid[row]
        changes: list[dict[str, Any]] = [
            {"id": cid, "old": _paid(a, cid), "new": _paid(b, cid), "change": _paid(b, cid) - _paid(a, cid)}
            for cid in ids]
        changes = [c for c in changes if c["change"]]
        changes.sort(key=lambda c: (-abs(c["change"]), c["id"]))
        delta = b.total - a.total
        cause = _cause(changes, delta)
        name, uscc = new.names.get(row) or old.names.get(row) or ("", "")
        out.append({"row": row, "name": name, "uscc": uscc, "old": a.total, "new": b.total, "change": delta,
                    "cause": cause["id"] if cause else None, "clauses": changes})
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
    ids = _clause_ids(diff.old, diff.new)
    people = _applicants(old, new, ids)
    winners = [p for p in people if p["change"] > 0]
    losers = [p for p in people if p["change"] < 0]
    ranked = sorted([p for p in people if p["change"]], key=lambda p: (-abs(int(p["change"])), int(p["row"])))
    titles = {cid: _both_titles(_title(diff.old, cid), _title(diff.new, cid)) for cid in ids}
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
        "clauses": _per_clause(old, new),
        "applicants": {"compared": len(people),
                       "winners": {"count": len(winners), "amount": sum(p["change"] for p in winners)},
                       "losers": {"count": len(losers), "amount": sum(p["change"] for p in losers)},
                       "unchanged": len(people) - len(winners) - len(losers),
                       "only_old": sorted(set(old.paid) - set(new.paid)),
                       "only_new": sorted(set(new.paid) - set(old.paid))},
        "largest_changes": [{**p, "cause_title": titles.get(p["cause"]) if p["cause"] else None}
                            for p in ranked[:top]],
        "per_applicant": [{k: p[k] for k in ("row", "name", "old", "new", "change", "cause")} for p in people],
    }
    return out


def impact_lines(data: dict[str, Any]) -> list[str]:
    """The impact part of a report as text."""
    imp = data.get("impact")
    if not imp:
        return []
    old_key, new_key = data["old"]["label"], data["new"]["label"]
    pop = imp["population"]
    out = [f"impact on {pop['file']} ({pop['rows_in']} rows; {imp['forced']}):"]
    for side, key in (("old", old_key), ("new", new_key)):
        f = imp[side]
        fund = "no annual fund" if f["fund"] is None else f"annual fund {money(f['fund'])}"
        line = (f"  {key}: paid {money(f['paid'])} to {f['applicants_paid']} of {f['applicants_scored']} "
                f"applicants; demand {money(f['demand'])}, {fund}")
        if f["prorated"]:
            line += (f"; over-subscribed: every award × {f['factor']} ({f['factor_percent']}%), "
                     f"{money(f['cut_by_proration'])} cut by proration")
        out.append(line)
    out.append(f"  change in total paid: {money(imp['change'])} (before proration: "
               f"{money(imp['change_before_proration'])})")
    a = imp["applicants"]
    out.append(f"  winners: {a['winners']['count']} applicants, +{money(a['winners']['amount'])}; losers: "
               f"{a['losers']['count']} applicants, {money(a['losers']['amount'])}; unchanged: {a['unchanged']}")
    out.append("  per clause (paid old → new, applicants paid old → new):")
    for c in imp["clauses"]:
        title = _both_titles(c["old_title"], c["new_title"])
        out.append(f"    {c['id']} {title}: {money(c['old_paid'])} → {money(c['new_paid'])} "
                   f"({'+' if c['change'] > 0 else ''}{money(c['change'])}); {c['old_count']} → {c['new_count']}")
    if imp["largest_changes"]:
        out.append("  largest changes per applicant:")
        for p in imp["largest_changes"]:
            cause = f"mostly {p['cause']} {p['cause_title']}" if p["cause"] else ""
            out.append(f"    row {p['row']} {p['name']}: {money(p['old'])} → {money(p['new'])} "
                       f"({'+' if p['change'] > 0 else ''}{money(p['change'])}) {cause}".rstrip())
    for r in pop["rejected"]:
        out.append(f"  row {r['row']} not scored: {r['column']} {r['value']!r}: {r['reason']}")
    return out
