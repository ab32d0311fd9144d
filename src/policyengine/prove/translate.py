"""The lowered program as SMT terms: one fold (`ExprFold[TV]`) over each expression, three-valued.

Every value is a `TV`: `unk` (the value is unknown: a fact the applicant must supply), `none` (the event did not
happen: Python's None) and `val` (a real for numbers, exact; a bool; an integer code for text). The fold mirrors
the reference interpreter node by node (engines/interpreter.py), so the solver's value of an expression is the
interpreter's; tests/test_prove.py checks that on random applicants.

Facts range over what a spreadsheet cell can hold (facts/cells.py): integers and money are not negative, money is
whole fen, years lie in 1900–2200, rates in 0–100% (written to 0.01%), text is one of the strings the rules name
or some other text, and a fact is unknown or 'did not happen' only where its blank says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import z3

from policyengine.facts.values import UNKNOWN, Value
from policyengine.ir.program import Program
from policyengine.lang import ast as A
from policyengine.lang.fold import fold
from policyengine.lang.traverse import walk
from policyengine.model.rulefile import FactSpec

Term = Any
"""A z3 term (z3 ships no type information)."""

Kind = Literal["num", "bool", "str"]

TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)
OTHER_TEXT = "其他"
"""How a counterexample writes text that none of the rules names (made unique against the rules' strings)."""


@dataclass(frozen=True)
class TV:
    """A three-valued SMT value."""

    kind: Kind
    unk: Term
    none: Term
    val: Term

    @property
    def known(self) -> Term:
        return z3.Not(self.unk)

    def is_false(self) -> Term:
        """The interpreter's `v is False`."""
        return z3.And(z3.Not(self.unk), z3.Not(self.none), z3.Not(self.val)) if self.kind == "bool" else FALSE

    def is_true(self) -> Term:
        """The interpreter's `v is True`."""
        return z3.And(z3.Not(self.unk), z3.Not(self.none), self.val) if self.kind == "bool" else FALSE


def num(value: Term) -> TV:
    return TV("num", FALSE, FALSE, value)


def boolean(value: Term) -> TV:
    return TV("bool", FALSE, FALSE, value)


def ite(c: Term, a: TV, b: TV) -> TV:
    return TV(a.kind, z3.If(c, a.unk, b.unk), z3.If(c, a.none, b.none), z3.If(c, a.val, b.val))


def real(f: Fraction | int) -> Term:
    f = Fraction(f)
    return z3.RealVal(f"{f.numerator}/{f.denominator}")


class Codes:
    """Text values as integers: 0 is any text the rules do not name, each named string its own code."""

    def __init__(self, strings: Iterable[str] = ()) -> None:
        self.codes: dict[str, int] = {}
        for s in strings:
            self.code(s)

    def code(self, s: str) -> int:
        if s not in self.codes:
            self.codes[s] = len(self.codes) + 1
        return self.codes[s]

    def text(self, code: int) -> str:
        for s, c in self.codes.items():
            if c == code:
                return s
        other = OTHER_TEXT
        while other in self.codes:
            other += "_"
        return other


STATUSES = ("ineligible", "eligible", "undetermined", "excluded", "error", "not_in_force")
"""Clause outcomes as integers (index in this tuple); `error`: the amount cannot be computed."""
INELIGIBLE, ELIGIBLE, UNDETERMINED, EXCLUDED, ERROR, NOT_IN_FORCE = range(len(STATUSES))


def program_strings(program: Program, extra: Iterable[A.Expr] = ()) -> list[str]:
    """Every string a program (and the given expressions) can compare text with."""
    out: list[str] = [*STATUSES]
    for spec in program.facts.values():
        out += spec.values or []
        if spec.none_value:
            out.append(spec.none_value)
    exprs = [d.expr for d in program.definitions] + [c.expr for p in program.clauses for c in p.conditions] \
        + [p.amount for p in program.clauses] + list(extra)
    out += [x.value for e in exprs for x in walk(e) if isinstance(x, A.Str)]
    for t in program.tables.values():
        out += list(t.values)
    return out


# -- facts ----------------------------------------------------------------------------------------------------

@dataclass
class FactVar:
    """One fact as solver variables, with its domain."""

    spec: FactSpec
    tv: TV
    domain: Term
    blank: Term
    """True when the cell is blank (the counterexample leaves it out)."""


def fact_var(spec: FactSpec, codes: Codes, prefix: str = "") -> FactVar:
    n = prefix + spec.name
    unk = z3.Bool(f"{n}?unk") if spec.blank == "unknown" and not spec.required else FALSE
    none = z3.Bool(f"{n}?none") if spec.blank == "none" and spec.type != "enum" else FALSE
    t = spec.type
    if t == "bool":
        val = z3.Bool(n)
        return FactVar(spec, TV("bool", unk, none, val), TRUE, z3.Or(unk, none))
    if t in ("text", "uscc", "enum"):
        val = z3.Int(n)
        if t == "enum":
            dom = z3.Or(*[val == codes.code(v) for v in spec.values or ()])
            blank_is = (val == codes.code(spec.none_value)) if spec.none_value else FALSE
        else:
            dom = z3.And(val >= 0, val <= max(codes.codes.values(), default=0))
            blank_is = FALSE
        blank = z3.Or(unk, none, blank_is) if spec.blank != "zero" else blank_is
        return FactVar(spec, TV("str", unk, none, val), dom, blank)
    val = z3.Real(n)
    if t in ("integer", "year"):
        dom = z3.And(z3.IsInt(val), val >= 0)
        if t == "year":
            dom = z3.And(dom, val >= 1900, val <= 2200)
    elif t == "money":
        dom = z3.And(z3.IsInt(val * 100), val >= 0)
    else:  # rate
        dom = z3.And(z3.IsInt(val * 10000), val >= 0, val <= 1)
    blank = z3.Or(unk, none, val == 0) if spec.blank == "zero" else z3.Or(unk, none)
    return FactVar(spec, TV("num", unk, none, val), dom, blank)


def fact_vars(specs: Iterable[FactSpec], codes: Codes, prefix: str = "") -> dict[str, FactVar]:
    return {s.name: fact_var(s, codes, prefix) for s in specs}


def row_of(model: Any, facts: Mapping[str, FactVar], codes: Codes) -> dict[str, str]:
    """A model as an applicant row (fact name → cell text); blank cells left out."""
    from policyengine.drafting.strategies import SAMPLE_USCC, cell_text

    row: dict[str, str] = {}
    for name, fv in facts.items():
        if z3.is_true(model.eval(fv.blank, model_completion=True)):
            continue
        value = model.eval(fv.tv.val, model_completion=True)
        spec = fv.spec
        if spec.type == "bool":
            row[name] = cell_text(spec, z3.is_true(value))
        elif spec.type == "uscc" and value.as_long() not in codes.codes.values():
            row[name] = SAMPLE_USCC  # a valid code the rules do not name
        elif fv.tv.kind == "str":
            row[name] = codes.text(value.as_long())
        else:
            row[name] = cell_text(spec, Fraction(value.as_fraction()))
    return row


# -- expressions ----------------------------------------------------------------------------------------------

def _eq(a: TV, b: TV) -> Term:
    """Python's `a == b` for two known values (None equals only None)."""
    both = z3.And(z3.Not(a.none), z3.Not(b.none))
    if a.kind != b.kind:
        return z3.And(a.none, b.none)
    return z3.Or(z3.And(a.none, b.none), z3.And(both, a.val == b.val))


class Translate:
    """`ExprFold[TV]`: each expression of a program as a three-valued SMT value (memoised per node)."""

    def __init__(self, program: Program, facts: Mapping[str, FactVar], codes: Codes,
                 extra: Mapping[str, TV] | None = None, attrs: Callable[[str, str], TV] | None = None) -> None:
        self.program = program
        self.facts = facts
        self.codes = codes
        self.extra = dict(extra or {})
        self.attrs = attrs
        self.defs: dict[str, TV] = {}
        self._memo: dict[int, tuple[A.Expr, TV]] = {}

    def of(self, e: A.Expr) -> TV:
        hit = self._memo.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        tv = fold(e, self)
        self._memo[id(e)] = (e, tv)
        return tv

    def const(self, v: Value) -> TV:
        if v is UNKNOWN:
            return TV("num", TRUE, FALSE, real(0))
        if v is None:
            return TV("num", FALSE, TRUE, real(0))
        if isinstance(v, bool):
            return boolean(z3.BoolVal(v))
        if isinstance(v, str):
            return TV("str", FALSE, FALSE, z3.IntVal(self.codes.code(v)))
        assert isinstance(v, Fraction)
        return num(real(v))

    def num(self, e: A.Num) -> TV:
        return num(real(e.value))

    def money(self, e: A.Money) -> TV:
        return num(real(e.value))

    def percent(self, e: A.Percent) -> TV:
        return num(real(e.value))

    def str_(self, e: A.Str) -> TV:
        return self.const(e.value)

    def bool_(self, e: A.Bool) -> TV:
        return boolean(z3.BoolVal(e.value))

    def name(self, e: A.Name) -> TV:
        if e.id in self.extra:
            return self.extra[e.id]
        if e.id in self.facts:
            return self.facts[e.id].tv
        if e.id in self.program.definition_index:
            found = self.defs.get(e.id)
            if found is None:
                found = self.defs[e.id] = self.of(self.program.definition(e.id).expr)
            return found
        raise KeyError(f"{e.id} has no value here")

    def attr(self, e: A.Attr) -> TV:
        if self.attrs is None:
            raise KeyError(f"{e.obj}.{e.attr} is only defined in invariants")
        return self.attrs(e.obj, e.attr)

    def lookup(self, e: A.Lookup) -> TV:
        key = self.of(e.key)
        out = TV("num", FALSE, FALSE, real(0))
        for k, v in self.program.tables[e.table].values.items():
            out = ite(key.val == self.codes.code(k), num(real(v)), out)
        return TV("num", key.unk, FALSE, out.val)

    def neg(self, e: A.Neg) -> TV:
        x = self.of(e.operand)
        return TV(x.kind, x.unk, x.none, -x.val if x.kind == "num" else x.val)

    def not_(self, e: A.Not) -> TV:
        x = self.of(e.operand)
        return TV("bool", x.unk, FALSE, z3.Or(x.none, z3.Not(x.val)) if x.kind == "bool" else x.none)

    def arith(self, e: A.Arith) -> TV:
        a, b = self.of(e.left), self.of(e.right)
        ops: dict[str, Callable[[Term, Term], Term]] = {
            "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y, "/": lambda x, y: x / y}
        return TV("num", z3.Or(a.unk, b.unk), z3.Or(a.none, b.none), ops[e.op](a.val, b.val))

    def compare(self, e: A.Compare) -> TV:
        a, b = self.of(e.left), self.of(e.right)
        unk = z3.Or(a.unk, b.unk)
        if e.op in ("==", "!="):
            eq = _eq(a, b)
            return TV("bool", unk, FALSE, eq if e.op == "==" else z3.Not(eq))
        order: dict[str, Callable[[Term, Term], Term]] = {
            "<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}
        val = z3.And(z3.Not(a.none), z3.Not(b.none), order[e.op](a.val, b.val))
        return TV("bool", unk, FALSE, val)

    def boolop(self, e: A.BoolOp) -> TV:
        xs = [self.of(x) for x in e.operands]
        any_unk = z3.Or(*[x.unk for x in xs])
        if e.op == "and":
            false = z3.Or(*[x.is_false() for x in xs])
            return TV("bool", z3.And(z3.Not(false), any_unk), FALSE, z3.Not(false))
        true = z3.Or(*[x.is_true() for x in xs])
        return TV("bool", z3.And(z3.Not(true), any_unk), FALSE, true)

    def in_(self, e: A.In) -> TV:
        item = self.of(e.item)
        hits = [z3.And(z3.Not(o.unk), _eq(item, o)) for o in (self.of(x) for x in e.options)]
        found = z3.Or(*hits) if hits else FALSE
        return TV("bool", item.unk, FALSE, z3.Not(found) if e.negated else found)

    def call(self, e: A.Call) -> TV:
        xs = [self.of(a) for a in e.args]
        unk = z3.Or(*[x.unk for x in xs])
        if e.func == "count":
            total = z3.Sum(*[z3.If(x.is_true(), real(1), real(0)) for x in xs])
            return TV("num", unk, FALSE, total)
        best = xs[0].val
        for x in xs[1:]:
            better = x.val < best if e.func == "min" else x.val > best
            best = z3.If(better, x.val, best)
        return TV("num", unk, z3.And(z3.Not(unk), z3.Or(*[x.none for x in xs])), best)

    def ifelse(self, e: A.IfElse) -> TV:
        c, a, b = self.of(e.cond), self.of(e.then), self.of(e.else_)
        picked = ite(z3.And(z3.Not(c.none), c.val), a, b) if c.kind == "bool" else b  # None reads as false
        # an unknown condition: both branches when they agree (and are known), else unknown
        same = z3.And(z3.Not(a.unk), z3.Not(b.unk), _eq(a, b))
        when_unknown = TV(a.kind, z3.Not(same), a.none, a.val)
        return ite(c.unk, when_unknown, picked)


def assignment(facts: Mapping[str, FactVar], values: Mapping[str, Value], codes: Codes) -> list[tuple[Term, Term]]:
    """The solver variables of `facts` set to an applicant's values (for `z3.substitute`): how the tests evaluate
    the translation on one applicant and compare it with the interpreter."""
    out: list[tuple[Term, Term]] = []
    for name, fv in facts.items():
        v = values[name]
        tv = fv.tv
        if z3.is_const(tv.unk) and not z3.is_true(tv.unk) and not z3.is_false(tv.unk):
            out.append((tv.unk, z3.BoolVal(v is UNKNOWN)))
        if z3.is_const(tv.none) and not z3.is_true(tv.none) and not z3.is_false(tv.none):
            out.append((tv.none, z3.BoolVal(v is None)))
        if v is UNKNOWN or v is None:
            continue
        if isinstance(v, bool):
            out.append((tv.val, z3.BoolVal(v)))
        elif isinstance(v, str):
            out.append((tv.val, z3.IntVal(codes.codes.get(v, 0))))
        elif isinstance(v, Fraction):
            out.append((tv.val, real(v)))
    return out
