"""Static types of expressions, checked against the fact schema when a package loads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from policyengine.errors import PolicyEngineError, did_you_mean
from policyengine.lang import ast as A


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


def _unify_numeric(a: Ty, b: Ty, what: str) -> Ty:
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


def _same_kind(a: Ty, b: Ty, where: str) -> Ty:
    if a.numeric or b.numeric:
        return _unify_numeric(a, b, where)
    if a.kind != b.kind:
        raise ExprTypeError(f"{where} compares {a} with {b}")
    return a


def _check_enum_literal(ty: Ty, other: A.Expr) -> None:
    if ty.values is not None and isinstance(other, A.Str) and other.value not in ty.values:
        raise ExprTypeError(f"{other.value!r} is not one of {sorted(ty.values)}{did_you_mean(other.value, ty.values)}")


def check(e: A.Expr, scope: Scope) -> Ty:
    """The type of `e` in `scope`, or `ExprTypeError`."""
    if isinstance(e, A.Num):
        return NUMBER
    if isinstance(e, A.Money):
        return MONEY
    if isinstance(e, A.Percent):
        return RATE
    if isinstance(e, A.Str):
        return TEXT
    if isinstance(e, A.Bool):
        return BOOL
    if isinstance(e, A.Name):
        if e.id not in scope.names:
            raise ExprTypeError(f"unknown name {e.id!r}{did_you_mean(e.id, scope.names)}")
        return scope.names[e.id]
    if isinstance(e, A.Attr):
        if scope.attrs is None:
            raise ExprTypeError(f"{e.obj}.{e.attr}: clause results can only be used in invariants")
        return scope.attrs(e.obj, e.attr)
    if isinstance(e, A.Lookup):
        table = scope.tables.get(e.table)
        if table is None:
            raise ExprTypeError(f"unknown table {e.table!r}{did_you_mean(e.table, scope.tables)}")
        key = check(e.key, scope)
        if key.values is None:
            raise ExprTypeError(f"{e.table}[...] needs an enum key, got {key}")
        missing = key.values - table.keys
        if missing:
            raise ExprTypeError(f"table {e.table} has no entry for {sorted(missing)}")
        return table.value
    if isinstance(e, A.Neg):
        t = check(e.operand, scope)
        if not t.numeric or t.kind == "year":
            raise ExprTypeError(f"cannot negate {t}")
        return t
    if isinstance(e, A.Not):
        if check(e.operand, scope) != BOOL:
            raise ExprTypeError(f"'not' needs a condition: {A.to_text(e.operand)}")
        return BOOL
    if isinstance(e, A.Arith):
        return _arith(e.op, check(e.left, scope), check(e.right, scope))
    if isinstance(e, A.Compare):
        left, right = check(e.left, scope), check(e.right, scope)
        if e.op in ("==", "!="):
            _same_kind(left, right, f"'{A.to_text(e)}'")
            _check_enum_literal(left, e.right)
            _check_enum_literal(right, e.left)
        else:
            _unify_numeric(left, right, f"'{A.to_text(e)}'")
        return BOOL
    if isinstance(e, A.BoolOp):
        for x in e.operands:
            if check(x, scope) != BOOL:
                raise ExprTypeError(f"'{e.op}' needs conditions; {A.to_text(x)!r} is not one")
        return BOOL
    if isinstance(e, A.In):
        item = check(e.item, scope)
        for o in e.options:
            _same_kind(item, check(o, scope), f"'{A.to_text(e)}'")
            _check_enum_literal(item, o)
        return BOOL
    if isinstance(e, A.Call):
        types = [check(a, scope) for a in e.args]
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
    if isinstance(e, A.IfElse):
        if check(e.cond, scope) != BOOL:
            raise ExprTypeError(f"'if' needs a condition: {A.to_text(e.cond)}")
        return _same_kind(check(e.then, scope), check(e.else_, scope), "'if … then … else'")
    raise ExprTypeError(f"not an expression: {e!r}")  # pragma: no cover
