"""The expression AST: immutable nodes. Printing is in `printer`, traversal in `traverse`, and every consumer
reaches the nodes through `fold`."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import get_args


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

NODE_KINDS: tuple[type, ...] = get_args(Expr)
"""Every kind of node, for the one check that a value is an expression at all (the parser's result)."""
