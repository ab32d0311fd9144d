"""Where a change applies, in the drafter's words: the values of one fact that a changed condition now admits or
no longer admits (`50万 <= 上年度研发费用 < 100万 now meets it`), and the application years a changed window now
covers or no longer covers (`申报年度 2024– now in force`).

Only simple cases are described: a condition that is one comparison of one fact with a literal (or with the
application year plus a literal, after inlining definitions such as `Y`), old and new on the same fact; anything
else gives None and the diff shows the two conditions only. The region is worked out on the breakpoints of the
two comparisons: between two breakpoints (and at each) both comparisons are constant, so one sample decides.
Integer and year facts take whole values only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from policyengine.drafting.analysis import YEAR_FACT, Bound, inline, numeric_bound
from policyengine.lang import ast as A
from policyengine.lang import printer
from policyengine.model.policy import PolicyVersion

Member = Callable[[Fraction], bool]
_OPS: dict[str, Callable[[Fraction, Fraction], bool]] = {
    "<": lambda x, v: x < v, "<=": lambda x, v: x <= v, ">": lambda x, v: x > v, ">=": lambda x, v: x >= v,
    "==": lambda x, v: x == v, "!=": lambda x, v: x != v}


@dataclass(frozen=True)
class Span:
    """An interval of values; None is unbounded."""

    lo: Fraction | None
    lo_closed: bool
    hi: Fraction | None
    hi_closed: bool


def _pieces(breaks: Sequence[Fraction]) -> list[tuple[Span, Fraction]]:
    """The line cut at `breaks`: each point and each open stretch between, with a value inside it."""
    points = sorted(set(breaks))
    if not points:
        return [(Span(None, False, None, False), Fraction(0))]
    out = [(Span(None, False, points[0], False), points[0] - 1)]
    for i, p in enumerate(points):
        out.append((Span(p, True, p, True), p))
        nxt = points[i + 1] if i + 1 < len(points) else None
        out.append((Span(p, False, nxt, False), (p + nxt) / 2 if nxt is not None else p + 1))
    return out


def _whole(span: Span) -> Span | None:
    """The integers of `span` as a closed span, or None when it holds none."""
    lo = None if span.lo is None else (Fraction(math.floor(span.lo) + 1) if not span.lo_closed else
                                       Fraction(math.ceil(span.lo)))
    hi = None if span.hi is None else (Fraction(math.ceil(span.hi) - 1) if not span.hi_closed else
                                       Fraction(math.floor(span.hi)))
    if lo is not None and hi is not None and lo > hi:
        return None
    return Span(lo, lo is not None, hi, hi is not None)


def _joins(a: Span, b: Span, integer: bool) -> bool:
    if a.hi is None or b.lo is None:
        return False
    if integer:
        return a.hi + 1 == b.lo
    return a.hi == b.lo and (a.hi_closed or b.lo_closed)


def where(breaks: Sequence[Fraction], inside: Member, integer: bool) -> list[Span]:
    """The values (whole ones for `integer`) where `inside` holds, as merged spans."""
    spans: list[Span] = []
    for span, sample in _pieces(breaks):
        if not inside(sample):
            continue
        found = _whole(span) if integer else span
        if found is None:
            continue
        if spans and _joins(spans[-1], found, integer):
            last = spans[-1]
            spans[-1] = Span(last.lo, last.lo_closed, found.hi, found.hi_closed)
        else:
            spans.append(found)
    return spans


def _value(v: Fraction, kind: str, relative: bool, year_label: str) -> str:
    if relative:
        return year_label if v == 0 else f"{year_label} {'+' if v > 0 else '-'} {printer.literal_text(A.Num(abs(v)))}"
    if kind == "money":
        return printer.literal_text(A.Money(v))
    if kind == "rate":
        return printer.literal_text(A.Percent(v))
    return printer.literal_text(A.Num(v))


def span_text(span: Span, label: str, show: Callable[[Fraction], str]) -> str:
    """`50万 <= 上年度研发费用 < 100万`, `科技型中小企业入库年份 >= 申报年度`, `技术合同登记成交额 == 100万`."""
    lo_op, hi_op = ("<=" if span.lo_closed else "<"), ("<=" if span.hi_closed else "<")
    if span.lo is None and span.hi is None:
        return f"every {label}"
    if span.lo is not None and span.lo == span.hi:
        return f"{label} == {show(span.lo)}"
    if span.lo is None and span.hi is not None:
        return f"{label} {hi_op} {show(span.hi)}"
    if span.hi is None and span.lo is not None:
        return f"{label} {'>=' if span.lo_closed else '>'} {show(span.lo)}"
    assert span.lo is not None and span.hi is not None  # both bounded: the cases above return otherwise
    return f"{show(span.lo)} {lo_op} {label} {hi_op} {show(span.hi)}"


def _bound(e: A.Expr, v: PolicyVersion) -> Bound | None:
    found = numeric_bound(inline(e, v), set(v.facts))
    return found if isinstance(found, Bound) else None


def same_fact(old: A.Expr, new: A.Expr, ov: PolicyVersion, nv: PolicyVersion) -> bool:
    """Whether both conditions compare the same fact with a literal (or the application year plus one)."""
    a, b = _bound(old, ov), _bound(new, nv)
    return a is not None and b is not None and (a.fact, a.relative) == (b.fact, b.relative)


def condition_region(old: A.Expr, new: A.Expr, ov: PolicyVersion, nv: PolicyVersion) -> str | None:
    """Which values of the fact now meet the condition and which no longer do, or None when not simple."""
    a, b = _bound(old, ov), _bound(new, nv)
    if a is None or b is None or (a.fact, a.relative) != (b.fact, b.relative) or a.fact not in nv.facts:
        return None
    spec = nv.facts[a.fact]
    integer = spec.type in ("integer", "year")
    year = nv.facts[YEAR_FACT].label if YEAR_FACT in nv.facts else YEAR_FACT

    def show(x: Fraction) -> str:
        return _value(x, spec.type, a.relative, year)

    def holds(bound: Bound) -> Member:
        return lambda x: _OPS[bound.op](x, bound.value)

    was, now = holds(a), holds(b)
    parts = []
    for spans, said in ((where([a.value, b.value], lambda x: now(x) and not was(x), integer), "now meets it (新满足)"),
                        (where([a.value, b.value], lambda x: was(x) and not now(x), integer),
                         "no longer meets it (不再满足)")):
        if spans:
            parts.append(" or ".join(span_text(s, spec.label, show) for s in spans) + f" {said}")
    return "; ".join(parts) or None


def _years(span: Span) -> str:
    if span.lo is not None and span.lo == span.hi:
        return str(span.lo)
    return f"{span.lo if span.lo is not None else ''}–{span.hi if span.hi is not None else ''}"


def window_region(ov: PolicyVersion, nv: PolicyVersion) -> str | None:
    """The application years the new window covers and the old did not, and the other way round."""
    (f1, t1), (f2, t2) = ((v.meta.effective.from_year, v.meta.effective.to_year) for v in (ov, nv))
    breaks = [Fraction(y) for y in (f1, t1, f2, t2) if y is not None]

    def covers(first: int, last: int | None) -> Member:
        return lambda x: first <= x and (last is None or x <= last)

    was, now = covers(f1, t1), covers(f2, t2)
    year = nv.facts[YEAR_FACT].label if YEAR_FACT in nv.facts else YEAR_FACT
    parts = []
    for spans, said in ((where(breaks, lambda x: now(x) and not was(x), True), "now in force (新适用)"),
                        (where(breaks, lambda x: was(x) and not now(x), True), "no longer in force (不再适用)")):
        if spans:
            parts.append(", ".join(f"{year} {_years(s)}" for s in spans) + f" {said}")
    return "; ".join(parts) or None
