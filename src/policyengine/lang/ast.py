"""The expression AST: immutable nodes, and printing back to text that parses to the same tree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

from policyengine.facts.money import format_decimal


@dataclass(frozen=True)
class Num:
    """A plain number (`500000`, `0.5`)."""

    value: Fraction


@dataclass(frozen=True)
class Money:
    """A money literal in yuan, written with a unit (`50万`, `300元`)."""

    value: Fraction


@dataclass(frozen=True)
class Percent:
    """A rate written as a percentage (`10%` is the rate 1/10)."""

    value: Fraction


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Name:
    """A fact or a named definition."""

    id: str


@dataclass(frozen=True)
class Attr:
    """`a05.amount`: a clause's result, in invariants."""

    obj: str
    attr: str


@dataclass(frozen=True)
class Lookup:
    """`L[carrier_level]`: a small table of the package, keyed by an enum value."""

    table: str
    key: Expr


@dataclass(frozen=True)
class Neg:
    operand: Expr


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class In:
    item: Expr
    options: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True)
class Call:
    func: str  # min | max | count
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class IfElse:
    cond: Expr
    then: Expr
    else_: Expr


Expr = Num | Money | Percent | Str | Bool | Name | Attr | Lookup | Neg | Not | Arith | Compare | BoolOp | In \
    | Call | IfElse

# Binding strength, loosest first; a child binding more loosely than its slot needs parentheses.
PREC_IF, PREC_OR, PREC_AND, PREC_NOT, PREC_CMP, PREC_ADD, PREC_MUL, PREC_NEG, PREC_ATOM = range(9)


def precedence(e: Expr) -> int:
    """How tightly `e` binds (PREC_IF loosest … PREC_ATOM tightest), for printers that add parentheses."""
    if isinstance(e, IfElse):
        return PREC_IF
    if isinstance(e, BoolOp):
        return PREC_OR if e.op == "or" else PREC_AND
    if isinstance(e, Not):
        return PREC_NOT
    if isinstance(e, Compare | In):
        return PREC_CMP
    if isinstance(e, Arith):
        return PREC_ADD if e.op in "+-" else PREC_MUL
    if isinstance(e, Neg):
        return PREC_NEG
    return PREC_ATOM


def _wrap(e: Expr, min_prec: int) -> str:
    text = to_text(e)
    return f"({text})" if precedence(e) < min_prec else text


def literal_text(e: Num | Money | Percent) -> str:
    if isinstance(e, Percent):
        return format_decimal(e.value * 100) + "%"
    if isinstance(e, Money):
        if e.value % 10_000 == 0 and e.value != 0:
            return format_decimal(e.value / 10_000) + "万"
        return format_decimal(e.value) + "元"
    return format_decimal(e.value)


def to_text(e: Expr) -> str:
    """Canonical source text of `e`; `parse(to_text(e)) == e` for every tree the parser makes."""
    if isinstance(e, Num | Money | Percent):
        return literal_text(e)
    if isinstance(e, Str):
        return '"' + e.value + '"' if '"' not in e.value else "'" + e.value + "'"
    if isinstance(e, Bool):
        return "true" if e.value else "false"
    if isinstance(e, Name):
        return e.id
    if isinstance(e, Attr):
        return f"{e.obj}.{e.attr}"
    if isinstance(e, Lookup):
        return f"{e.table}[{to_text(e.key)}]"
    if isinstance(e, Neg):
        return "-" + _wrap(e.operand, PREC_NEG)
    if isinstance(e, Not):
        return "not " + _wrap(e.operand, PREC_NOT)
    if isinstance(e, Arith):
        p = precedence(e)
        # left-associative: the right operand of the same strength needs parentheses
        return f"{_wrap(e.left, p)} {e.op} {_wrap(e.right, p + 1)}"
    if isinstance(e, Compare):
        return f"{_wrap(e.left, PREC_ADD)} {e.op} {_wrap(e.right, PREC_ADD)}"
    if isinstance(e, BoolOp):
        p = precedence(e)
        return f" {e.op} ".join(_wrap(x, p + 1) for x in e.operands)
    if isinstance(e, In):
        opts = ", ".join(to_text(o) for o in e.options)
        return f"{_wrap(e.item, PREC_ADD)} {'not in' if e.negated else 'in'} [{opts}]"
    if isinstance(e, Call):
        return f"{e.func}(" + ", ".join(to_text(a) for a in e.args) + ")"
    if isinstance(e, IfElse):
        return f"if {to_text(e.cond)} then {to_text(e.then)} else {_wrap(e.else_, PREC_IF)}"
    raise TypeError(f"not an expression node: {e!r}")


def children(e: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of `e`."""
    if isinstance(e, Lookup):
        return (e.key,)
    if isinstance(e, Neg | Not):
        return (e.operand,)
    if isinstance(e, Arith | Compare):
        return (e.left, e.right)
    if isinstance(e, BoolOp):
        return e.operands
    if isinstance(e, In):
        return (e.item, *e.options)
    if isinstance(e, Call):
        return e.args
    if isinstance(e, IfElse):
        return (e.cond, e.then, e.else_)
    return ()


def walk(e: Expr) -> Iterator[Expr]:
    """`e` and every sub-expression, parents first, left to right."""
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(reversed(children(x)))


def names(e: Expr) -> set[str]:
    """Every `Name` referenced anywhere in `e`."""
    return {x.id for x in walk(e) if isinstance(x, Name)}


def rewrite(e: Expr, replace: Callable[[Expr], Expr | None]) -> Expr:
    """`e` rebuilt bottom-up, with each node for which `replace` returns a node swapped for that node.

    `replace` is asked about a node before its children; where it returns None the node is rebuilt from its
    rewritten children.
    """
    new = replace(e)
    if new is not None:
        return new

    def r(x: Expr) -> Expr:
        return rewrite(x, replace)

    if isinstance(e, Lookup):
        return Lookup(e.table, r(e.key))
    if isinstance(e, Neg):
        return Neg(r(e.operand))
    if isinstance(e, Not):
        return Not(r(e.operand))
    if isinstance(e, Arith):
        return Arith(e.op, r(e.left), r(e.right))
    if isinstance(e, Compare):
        return Compare(e.op, r(e.left), r(e.right))
    if isinstance(e, BoolOp):
        return BoolOp(e.op, tuple(r(x) for x in e.operands))
    if isinstance(e, In):
        return In(r(e.item), tuple(r(o) for o in e.options), e.negated)
    if isinstance(e, Call):
        return Call(e.func, tuple(r(x) for x in e.args))
    if isinstance(e, IfElse):
        return IfElse(r(e.cond), r(e.then), r(e.else_))
    return e
