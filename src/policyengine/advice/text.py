"""Advice as people read it (`上年度研发费用 45万 → 50万 (+5万): 第5条 研发投入增量补助 可获 10,000 元`) and as
plain data (`--json`)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from policyengine.advice.advice import Advice, AdviceReport, Change
from policyengine.advice.cost import _level
from policyengine.decide.sentences import percent
from policyengine.drafting.render import money
from policyengine.facts.cells import canonical_text
from policyengine.facts.money import format_decimal
from policyengine.facts.values import UNKNOWN, Value
from policyengine.model.policy import Package
from policyengine.model.rulefile import FactSpec

UNREACHABLE_ZH = "无法通过企业可改变的事实达到"
UNREACHABLE_EN = "not reachable by changing facts this enterprise controls"


def _number(spec: FactSpec, v: Fraction) -> str:
    if spec.type == "money":
        return format_decimal(v / 10_000) + "万" if (v / 100).denominator == 1 and v >= 10_000 else f"{money(v)}元"
    if spec.type == "rate":
        return percent(v)
    return format_decimal(v) + (spec.unit or "" if spec.type == "integer" else "")


def value_text(spec: FactSpec, v: Value) -> str:
    """A fact's value for the reader: `45万`, `1,234.5元`, `85%`, `3家`, `是`, `空白`."""
    if v is UNKNOWN:
        return "未填写"
    if v is None:
        return "空白"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Fraction):
        return _number(spec, v)
    return str(v)


def change_text(spec: FactSpec, c: Change) -> str:
    """`上年度研发费用 45万 → 50万 (+5万)`; a level: `双创载体级别 无 → 市级 (+1级)`."""
    out = f"{c.label} {value_text(spec, c.before)} → {value_text(spec, c.after)}"
    if isinstance(c.before, Fraction) and isinstance(c.after, Fraction):
        diff = c.after - c.before
        out += f" ({'+' if diff > 0 else '-'}{_number(spec, abs(diff))})"
    elif spec.type == "enum" and spec.values:
        out += f" ({'+' if _level(spec, c.after) > _level(spec, c.before) else '-'}{c.cost}级)"
    return out


def _spec(packages: Sequence[Package], a: Advice, fact: str) -> FactSpec:
    return next(p for p in packages if p.id == a.package).version(a.version).facts[fact]


def heading(a: Advice) -> str:
    return f"第{a.article}条 {a.title}"


def changes_text(packages: Sequence[Package], a: Advice) -> str:
    return "; ".join(change_text(_spec(packages, a, c.fact), c) for c in a.changes)


def advice_lines(packages: Sequence[Package], a: Advice) -> list[str]:
    """One advice, as the lines under its clause's heading."""
    if a.outcome == "reachable":
        paid = f"可获 {money(a.computed or 0)} 元"
        if a.paid != a.computed:
            paid += f"（结算后 {money(a.paid or 0)} 元）"
        out = [f"{changes_text(packages, a)}: {paid}",
               f"合计 total {money(a.total_before)} → {money(a.total_after or 0)} 元; 代价 cost "
               f"{format_decimal(Fraction(a.cost or 0))}; 解释器已确认 confirmed by the interpreter"]
        return out + ([a.note] if a.note else [])
    if a.outcome == "unreachable":
        out = [f"{UNREACHABLE_ZH} ({UNREACHABLE_EN})"]
        for b in a.blocking:
            seen = ", ".join(f"{label}={value_text(_spec(packages, a, f), v)}{'' if ch else ' 不可改变'}"
                             for f, label, v, ch in b.facts)
            cond = b.part if b.part == b.condition else f"{b.part} (in {b.condition})"
            out.append(f"阻碍条件 blocking: {cond} ({seen}) {b.where}")
        return out + ([a.note] if a.note else [])
    if a.outcome == "missing":
        return ["先补充 supply first: " + ", ".join(f"{label} ({f})" for f, label in a.missing)]
    if a.outcome == "eligible":
        return ["已符合 already eligible"]
    if a.outcome == "unconfirmed":
        return [f"未经解释器确认，不予建议 (not confirmed by the interpreter): {a.note}"]
    return [f"未知 unknown: {a.note}"]


STATUS_ZH = {"eligible": "符合", "ineligible": "不符合", "undetermined": "待补充", "excluded": "不重复享受"}


def report_lines(packages: Sequence[Package], report: AdviceReport, where: str = "") -> list[str]:
    who = report.applicant.get("name") or "(no name)"
    uscc = report.applicant.get("uscc")
    out = [f"申报企业 applicant: {who}" + (f" ({uscc})" if uscc else "") + (f" — {where}" if where else "")]
    out += report.notes
    last = None
    for a in report.advices:
        if (a.package, a.version) != last:
            last = (a.package, a.version)
            out.append(f"{a.package}@{a.version} (合计 total {money(a.total_before)} 元)")
        out.append(f"  {a.clause} {heading(a)} [{STATUS_ZH.get(a.status, a.status)} {a.status}]")
        out += [f"    {line}" for line in advice_lines(packages, a)]
    near = report.nearest()
    out.append(f"最近可达 nearest: {near.key} {heading(near)}: {changes_text(packages, near)}" if near
               else "最近可达 nearest: none")
    return out


def nearest_cell(packages: Sequence[Package], report: AdviceReport, labels: str) -> str:
    """The `score --advise` cell: the nearest reachable clause and its change (`id`: ids and yuan)."""
    a = report.nearest()
    if a is None:
        return ""
    if labels == "zh":
        title = ""
        if len(packages) > 1:
            from policyengine.batch.reasons_zh import short_title

            title = short_title(next(p for p in packages if p.id == a.package)) + " "
        return f"{changes_text(packages, a)}: {title}{heading(a)} 可获 {money(a.computed or 0)} 元"
    moved = " ".join(f"{c.fact}={canonical_text(c.after) if c.after is not UNKNOWN else ''}" for c in a.changes)
    return f"{a.key} {moved} amount={a.computed} cost={format_decimal(Fraction(a.cost or 0))}"


def _plain(v: Value) -> Any:
    if v is UNKNOWN:
        return None
    return canonical_text(v)


def to_json(report: AdviceReport) -> dict[str, Any]:
    near = report.nearest()
    return {
        "applicant": report.applicant,
        "notes": report.notes,
        "nearest": near.key if near else None,
        "advice": [{
            "package": a.package, "version": a.version, "clause": a.clause, "article": a.article, "title": a.title,
            "status": a.status, "outcome": a.outcome,
            "changes": [{"fact": c.fact, "label": c.label, "before": _plain(c.before), "after": _plain(c.after),
                         "cost": format_decimal(c.cost)} for c in a.changes],
            "cost": None if a.cost is None else format_decimal(a.cost),
            "computed": a.computed, "paid": a.paid, "total_before": a.total_before, "total_after": a.total_after,
            "blocking": [{"condition": b.condition, "part": b.part, "where": b.where,
                          "facts": [{"fact": f, "label": label, "value": _plain(v), "changeable": ch}
                                    for f, label, v, ch in b.facts]} for b in a.blocking],
            "missing": [f for f, _ in a.missing],
            "seconds": round(a.seconds, 3), "note": a.note,
        } for a in report.advices],
    }
