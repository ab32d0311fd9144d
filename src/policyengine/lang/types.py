"""Static types of expressions, checked against the fact schema when a package loads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from policyengine.errors import PolicyEngineError, did_you_mean
from policyengine.lang import ast as A
from policyengine.lang import printer
from policyengine.lang.fold import fold
from policyengine.model.rulefile import FactSpec


class ExprTypeError(PolicyEngineError, ValueError):
    """An expression that does not type-check; the message says what and where."""


@dataclass(frozen=True)
class Ty:
    """A type: bool, int, year, money, rate, text, or number (an untyped numeric literal).

    `values` is set for enums: text restricted to those values.
    """

    kind: str
    values: frozenset[str] | None = None

    def __str__(self) -> str:
        if self.values is not None:
            return "enum{" + ", ".join(sorted(self.values)) + "}"
        return self.kind

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


BOOL, INT, YEAR, MONEY, RATE, TEXT, NUMBER = (Ty(k) for k in ("bool", "int", "year", "money", "rate", "text",
                                                               "number"))
NUMERIC = {"int", "year", "money", "rate", "number"}

FACT_TYPES: dict[str, Ty] = {"text": TEXT, "uscc": TEXT, "bool": BOOL, "integer": INT, "year": YEAR,
                             "money": MONEY, "rate": RATE}


def fact_type(spec: FactSpec) -> Ty:
    """The static type of a fact: its declared type, an enum as text restricted to its values."""
    if spec.type == "enum":
        return Ty("text", frozenset(spec.values or ()))
    return FACT_TYPES[spec.type]


@dataclass(frozen=True)
class TableType:
    keys: frozenset[str]
    value: Ty


@dataclass
class Scope:
    """What names mean where an expression is checked."""

    names: Mapping[str, Ty]
    tables: Mapping[str, TableType]
    attrs: Callable[[str, str], Ty] | None = None  # clause results, in invariants


def _unify_numeric(a: Ty, b: Ty, what: object) -> Ty:
    if not (a.numeric and b.numeric):
        raise ExprTypeError(f"{what} needs numbers, got {a} and {b}")
    if a.kind == "number":
        return b
    if b.kind == "number" or a.kind == b.kind:
        return a
    raise ExprTypeError(f"{what} mixes {a} and {b}")


_ARITH: dict[tuple[str, str, str], str] = {
    ("+", "money", "money"): "money", ("-", "money", "money"): "money",
    ("+", "int", "int"): "int", ("-", "int", "int"): "int",
    ("+", "rate", "rate"): "rate", ("-", "rate", "rate"): "rate",
    ("+", "year", "int"): "year", ("-", "year", "int"): "year", ("+", "int", "year"): "year",
    ("-", "year", "year"): "int",
    ("*", "money", "rate"): "money", ("*", "rate", "money"): "money",
    ("*", "money", "int"): "money", ("*", "int", "money"): "money",
    ("*", "int", "int"): "int", ("*", "rate", "rate"): "rate",
    ("*", "rate", "int"): "rate", ("*", "int", "rate"): "rate",
    ("/", "money", "int"): "money", ("/", "money", "money"): "rate", ("/", "int", "int"): "rate",
    ("/", "money", "rate"): "money",
}


def _arith(op: str, a: Ty, b: Ty) -> Ty:
    if not (a.numeric and b.numeric):
        raise ExprTypeError(f"'{op}' needs numbers, got {a} and {b}")
    if a.kind == "number" and b.kind == "number":
        return NUMBER
    # an untyped literal takes the kind that makes the operation valid
    if a.kind == "number":
        for k in ("int", "money", "rate", "year"):
            if (op, k, b.kind) in _ARITH:
                return Ty(_ARITH[(op, k, b.kind)])
    if b.kind == "number":
        for k in ("int", "money", "rate", "year"):
            if (op, a.kind, k) in _ARITH:
                return Ty(_ARITH[(op, a.kind, k)])
    kind = _ARITH.get((op, a.kind, b.kind))
    if kind is None:
        raise ExprTypeError(f"cannot compute {a} {op} {b}")
    return Ty(kind)


def _same_kind(a: Ty, b: Ty, where: object) -> Ty:
    if a.numeric or b.numeric:
        return _unify_numeric(a, b, where)
    if a.kind != b.kind:
        raise ExprTypeError(f"{where} compares {a} with {b}")
    return a


def _check_enum_literal(ty: Ty, other: A.Expr) -> None:
    if ty.values is not None and isinstance(other, A.Str) and other.value not in ty.values:
        raise ExprTypeError(f"{other.value!r} is not one of {sorted(ty.values)}{did_you_mean(other.value, ty.values)}")


class _Checker:
    """The type of each kind of node in a scope (a fold; raises `ExprTypeError`)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def of(self, e: A.Expr) -> Ty:
        return fold(e, self)

    def num(self, e: A.Num) -> Ty:
        return NUMBER

    def money(self, e: A.Money) -> Ty:
        return MONEY

    def percent(self, e: A.Percent) -> Ty:
        return RATE

    def str_(self, e: A.Str) -> Ty:
        return TEXT

    def bool_(self, e: A.Bool) -> Ty:
        return BOOL

    def name(self, e: A.Name) -> Ty:
        if e.id not in self.scope.names:
            raise ExprTypeError(f"unknown name {e.id!r}{did_you_mean(e.id, self.scope.names)}")
        return self.scope.names[e.id]

    def attr(self, e: A.Attr) -> Ty:
        if self.scope.attrs is None:
            raise ExprTypeError(f"{e.obj}.{e.attr}: clause results can only be used in invariants")
        return self.scope.attrs(e.obj, e.attr)

    def lookup(self, e: A.Lookup) -> Ty:
        table = self.scope.tables.get(e.table)
        if table is None:
            raise ExprTypeError(f"unknown table {e.table!r}{did_you_mean(e.table, self.scope.tables)}")
        key = self.of(e.key)
        if key.values is None:
            raise ExprTypeError(f"{e.table}[...] needs an enum key, got {key}")
        missing = key.values - table.keys
        if missing:
            raise ExprTypeError(f"table {e.table} has no entry for {sorted(missing)}")
        return table.value

    def neg(self, e: A.Neg) -> Ty:
        t = self.of(e.operand)
        if not t.numeric or t.kind == "year":
            raise ExprTypeError(f"cannot negate {t}")
        return t

    def not_(self, e: A.Not) -> Ty:
        if self.of(e.operand) != BOOL:
            raise ExprTypeError(f"'not' needs a condition: {printer.to_text(e.operand)}")
        return BOOL

    def arith(self, e: A.Arith) -> Ty:
        return _arith(e.op, self.of(e.left), self.of(e.right))

    def compare(self, e: A.Compare) -> Ty:
        left, right = self.of(e.left), self.of(e.right)
        if e.op in ("==", "!="):
            _same_kind(left, right, _Where(e))
            _check_enum_literal(left, e.right)
            _check_enum_literal(right, e.left)
        else:
            _unify_numeric(left, right, _Where(e))
        return BOOL

    def boolop(self, e: A.BoolOp) -> Ty:
        for x in e.operands:
            if self.of(x) != BOOL:
                raise ExprTypeError(f"'{e.op}' needs conditions; {printer.to_text(x)!r} is not one")
        return BOOL

    def in_(self, e: A.In) -> Ty:
        item = self.of(e.item)
        where = _Where(e)  # the text of the whole list is printed only if there is an error: linear, not n²
        for o in e.options:
            _same_kind(item, self.of(o), where)
            _check_enum_literal(item, o)
        return BOOL

    def call(self, e: A.Call) -> Ty:
        types = [self.of(a) for a in e.args]
        if e.func == "count":
            if any(t != BOOL for t in types):
                raise ExprTypeError("count(...) counts conditions that hold; pass conditions")
            return INT
        result = types[0]
        for t in types[1:]:
            result = _unify_numeric(result, t, f"{e.func}(...)")
        if not result.numeric:
            raise ExprTypeError(f"{e.func}(...) needs numbers")
        return result

    def ifelse(self, e: A.IfElse) -> Ty:
        if self.of(e.cond) != BOOL:
            raise ExprTypeError(f"'if' needs a condition: {printer.to_text(e.cond)}")
        return _same_kind(self.of(e.then), self.of(e.else_), "'if … then … else'")


class _Where:
    """Where an error is, printed only when the error is raised."""

    def __init__(self, e: A.Expr) -> None:
        self.e = e

    def __str__(self) -> str:
        return f"'{printer.to_text(self.e)}'"


def check(e: A.Expr, scope: Scope) -> Ty:
    """The type of `e` in `scope`, or `ExprTypeError`."""
    return fold(e, _Checker(scope))
