"""The declared cost of changing a fact, as an SMT term over the fact's new value (its old value a constant).

Money 1 per yuan; integers and years 1 per unit; rates 1 per percentage point; an enum 1 per level moved in the
order its `values` list them; a bool or a text 1 when it differs; blank ↔ filled ('did not happen' ↔ a value) 1.
The reading is written in `rules/facts.yaml`.
"""

from __future__ import annotations

from fractions import Fraction

import z3

from policyengine.facts.values import UNKNOWN, Value
from policyengine.model.rulefile import FactSpec
from policyengine.prove.translate import Codes, FactVar, Term, real

RATE_STEP = Fraction(1, 100)
"""A rate moves one step per percentage point."""
NUMBER_TYPES = ("money", "integer", "year", "rate")


def _abs(x: Term) -> Term:
    return z3.If(x >= 0, x, -x)


def weight(fv: FactVar) -> Fraction:
    """The cost of one unit of a number fact's value."""
    return 1 / RATE_STEP if fv.spec.type == "rate" else Fraction(1)


def cost(fv: FactVar, old: Value, codes: Codes) -> Term:
    """The cost of moving `fv` from `old` (known) to the value the solver gives it (a real, 0 when unchanged)."""
    if old is UNKNOWN:
        raise ValueError(f"{fv.spec.name}: an unknown fact has no cost of change")
    tv, spec = fv.tv, fv.spec
    if tv.kind == "num":
        if old is None:
            return z3.If(tv.none, real(0), real(1))
        assert isinstance(old, Fraction)
        return z3.If(tv.none, real(1), _abs(tv.val - real(old)) * real(weight(fv)))
    if tv.kind == "bool":
        same = tv.none if old is None else z3.And(z3.Not(tv.none), tv.val == z3.BoolVal(bool(old)))
        return z3.If(same, real(0), real(1))
    if spec.type == "enum" and spec.values:
        was = _level(spec, old)
        level: Term = z3.IntVal(0)
        for i, value in enumerate(spec.values):
            level = z3.If(tv.val == codes.code(value), i, level)
        return z3.ToReal(_abs(level - was))
    same = tv.none if old is None else z3.And(z3.Not(tv.none), tv.val == codes.codes.get(str(old), 0))
    return z3.If(same, real(0), real(1))


def _level(spec: FactSpec, v: Value) -> int:
    """An enum value's place in `values` (blank: the none value's; a value not listed: 0)."""
    v = v if v is not None else spec.none_value
    return spec.values.index(v) if spec.values and isinstance(v, str) and v in spec.values else 0


def cost_of(spec: FactSpec, old: Value, new: Value) -> Fraction:
    """The cost of moving a fact from `old` to `new`, exactly (what `cost` makes the solver pay)."""
    if old == new and type(old) is type(new):
        return Fraction(0)
    if spec.type in NUMBER_TYPES:
        if isinstance(old, Fraction) and isinstance(new, Fraction):
            return abs(new - old) * (1 / RATE_STEP if spec.type == "rate" else 1)
        return Fraction(1)
    if spec.type == "enum" and spec.values:
        return Fraction(abs(_level(spec, new) - _level(spec, old)))
    return Fraction(1)


def relative_of(spec: FactSpec, old: Value, new: Value) -> Fraction:
    """How far a change is for this applicant, comparable across facts: a number moves by |new - old| / the larger
    of the two (45万 → 50万: 0.1; from 0 or from blank: 1, starting something); an enum level, a bool or a
    text 1 per step (`cost_of`)."""
    if spec.type in NUMBER_TYPES:
        if isinstance(old, Fraction) and isinstance(new, Fraction):
            top = max(abs(old), abs(new))
            return abs(new - old) / top if top else Fraction(0)
        return Fraction(0) if old == new else Fraction(1)
    return cost_of(spec, old, new)
