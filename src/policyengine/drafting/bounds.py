"""Static bounds on what an amount can reach: interval arithmetic over the AST, facts within their ranges.

A fact's range is what the engine holds exactly (`batch.parse.LIMIT` / `SCALE`: money below 10^13 yuan, counts
below 10^12, rates 0–100%) and what `facts.cells.read_value` accepts (never negative; years 1900–2200). An
expression's interval is then computed bottom-up: literals, table lookups (their smallest and largest entry),
`+ - * /`, unary minus, `min`/`max`, `count`, `if` (both branches). Where it cannot tell (a division by
something that may be zero or near it, a name it does not know) an end is open (None) and nothing is claimed.
Definitions are followed (each measured once). Magnitudes are clamped at `CLAMP` so a product chain stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from policyengine.batch.parse import LIMIT, SCALE
from policyengine.lang import ast as A
from policyengine.model.policy import PolicyVersion

CLAMP = Fraction(10**40)
"""Bounds are clamped here: anything beyond is reported as 'more than 10^40'."""

YEAR_RANGE = (Fraction(1900), Fraction(2200))  # facts.cells._read_year


@dataclass(frozen=True)
class Interval:
    """lo ≤ value ≤ hi; None is an open end (no bound known)."""

    lo: Fraction | None
    hi: Fraction | None

    @property
    def magnitude(self) -> Fraction | None:
        """The largest |value|, or None when an end is open."""
        if self.lo is None or self.hi is None:
            return None
        return max(abs(self.lo), abs(self.hi))


OPEN = Interval(None, None)


def _clamp(x: Fraction | None) -> Fraction | None:
    if x is None:
        return None
    return max(-CLAMP, min(CLAMP, x))


def _make(lo: Fraction | None, hi: Fraction | None) -> Interval:
    return Interval(_clamp(lo), _clamp(hi))


def fact_range(version: PolicyVersion, name: str) -> Interval | None:
    """The values fact `name` can hold (None: not a number)."""
    kind = version.facts[name].type
    if kind == "year":
        return Interval(*YEAR_RANGE)
    if kind == "rate":
        return Interval(Fraction(0), Fraction(1))
    if kind in ("money", "integer"):
        return Interval(Fraction(0), Fraction(LIMIT[kind] - 1, SCALE[kind]))
    return None


class Bounds:
    """Intervals of one version's numeric expressions (definitions measured once)."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self._defs: dict[str, Interval | None] = {}

    def of(self, e: A.Expr) -> Interval | None:
        """The interval of `e`, or None when `e` is not a number (a condition, text)."""
        v = self.version
        if isinstance(e, A.Num | A.Money | A.Percent):
            return _make(e.value, e.value)
        if isinstance(e, A.Name):
            if e.id in v.facts:
                return fact_range(v, e.id)
            if e.id in v.definitions:
                if e.id not in self._defs:
                    self._defs[e.id] = OPEN  # a circle (refused when loading) reads as unknown
                    self._defs[e.id] = self.of(v.definitions[e.id])
                return self._defs[e.id]
            return OPEN
        if isinstance(e, A.Lookup):
            table = v.tables.get(e.table)
            if table is None or not table.values:
                return OPEN
            return _make(min(table.values.values()), max(table.values.values()))
        if isinstance(e, A.Neg):
            x = self.of(e.operand)
            return None if x is None else Interval(_neg(x.hi), _neg(x.lo))
        if isinstance(e, A.Arith):
            a, b = self.of(e.left), self.of(e.right)
            if a is None or b is None:
                return OPEN
            return _arith(e.op, a, b)
        if isinstance(e, A.Call):
            if e.func == "count":
                return Interval(Fraction(0), Fraction(len(e.args)))
            args = [self.of(x) or OPEN for x in e.args]
            return _min(args) if e.func == "min" else _max(args)
        if isinstance(e, A.IfElse):
            a, b = self.of(e.then), self.of(e.else_)
            if a is None or b is None:
                return None
            return _hull(a, b)
        if isinstance(e, A.Attr):
            return OPEN
        return None


def _neg(x: Fraction | None) -> Fraction | None:
    return None if x is None else -x


def _add(x: Fraction | None, y: Fraction | None) -> Fraction | None:
    return None if x is None or y is None else x + y


def _arith(op: str, a: Interval, b: Interval) -> Interval:
    if op == "+":
        return _make(_add(a.lo, b.lo), _add(a.hi, b.hi))
    if op == "-":
        return _make(_add(a.lo, _neg(b.hi)), _add(a.hi, _neg(b.lo)))
    a_lo, a_hi, b_lo, b_hi = a.lo, a.hi, b.lo, b.hi
    if a_lo is None or a_hi is None or b_lo is None or b_hi is None:
        return OPEN
    if op == "*":
        products = [a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi]
        return _make(min(products), max(products))
    if b_lo <= 0 <= b_hi:  # division by something that may be zero (or as near it as it likes)
        return OPEN
    quotients = [a_lo / b_lo, a_lo / b_hi, a_hi / b_lo, a_hi / b_hi]
    return _make(min(quotients), max(quotients))


def _min(args: Iterable[Interval]) -> Interval:
    items = list(args)
    los = [x.lo for x in items]
    his = [x.hi for x in items if x.hi is not None]
    return Interval(None if None in los else min(x for x in los if x is not None), min(his) if his else None)


def _max(args: Iterable[Interval]) -> Interval:
    items = list(args)
    los = [x.lo for x in items if x.lo is not None]
    his = [x.hi for x in items]
    return Interval(max(los) if los else None, None if None in his else max(x for x in his if x is not None))


def _hull(a: Interval, b: Interval) -> Interval:
    lo = None if a.lo is None or b.lo is None else min(a.lo, b.lo)
    hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
    return Interval(lo, hi)


def describe(x: Fraction) -> str:
    """A magnitude for a message: exact with separators up to 10^15, else `about 1.2×10^20`, never a huge
    integer's full text."""
    if abs(x) >= CLAMP:
        return "more than 10^40"
    if abs(x) < 10**15:
        whole = round(x)
        return f"{whole:,}" if whole == x else f"about {whole:,}"
    exponent = math.floor(math.log10(abs(x.numerator)) - math.log10(x.denominator))
    mantissa = float(abs(x) / Fraction(10) ** exponent)
    if mantissa >= 9.95:
        mantissa, exponent = mantissa / 10, exponent + 1
    sign = "-" if x < 0 else ""
    return f"{sign}{mantissa:.1f}×10^{exponent}"
