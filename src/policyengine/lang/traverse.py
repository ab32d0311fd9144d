"""Generic traversal of expressions: children, a pre-order walk, the names used, and bottom-up rewriting.

Passes that change only a few kinds of node use `rewrite` and write only those cases (as Catala's `Expr.map`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from policyengine.lang import ast as A
from policyengine.lang.fold import fold

Rebuild = tuple[tuple[A.Expr, ...], Callable[[tuple[A.Expr, ...]], A.Expr]]


def _leaf(e: A.Expr) -> Rebuild:
    return (), lambda _: e


class _Children:
    """Each node's direct sub-expressions, and how to rebuild the node from new ones."""

    def num(self, e: A.Num) -> Rebuild:
        return _leaf(e)

    def money(self, e: A.Money) -> Rebuild:
        return _leaf(e)

    def percent(self, e: A.Percent) -> Rebuild:
        return _leaf(e)

    def str_(self, e: A.Str) -> Rebuild:
        return _leaf(e)

    def bool_(self, e: A.Bool) -> Rebuild:
        return _leaf(e)

    def name(self, e: A.Name) -> Rebuild:
        return _leaf(e)

    def attr(self, e: A.Attr) -> Rebuild:
        return _leaf(e)


    def lookup(self, e: A.Lookup) -> Rebuild:
        return (e.key,), lambda c: A.Lookup(e.table, c[0])

    def neg(self, e: A.Neg) -> Rebuild:
        return (e.operand,), lambda c: A.Neg(c[0])

    def not_(self, e: A.Not) -> Rebuild:
        return (e.operand,), lambda c: A.Not(c[0])

    def arith(self, e: A.Arith) -> Rebuild:
        return (e.left, e.right), lambda c: A.Arith(e.op, c[0], c[1])

    def compare(self, e: A.Compare) -> Rebuild:
        return (e.left, e.right), lambda c: A.Compare(e.op, c[0], c[1])

    def boolop(self, e: A.BoolOp) -> Rebuild:
        return e.operands, lambda c: A.BoolOp(e.op, c)

    def in_(self, e: A.In) -> Rebuild:
        return (e.item, *e.options), lambda c: A.In(c[0], c[1:], e.negated)

    def call(self, e: A.Call) -> Rebuild:
        return e.args, lambda c: A.Call(e.func, c)

    def ifelse(self, e: A.IfElse) -> Rebuild:
        return (e.cond, e.then, e.else_), lambda c: A.IfElse(c[0], c[1], c[2])


_CHILDREN = _Children()


def children(e: A.Expr) -> tuple[A.Expr, ...]:
    """The direct sub-expressions of `e`."""
    return fold(e, _CHILDREN)[0]


def walk(e: A.Expr) -> Iterator[A.Expr]:
    """`e` and every sub-expression, parents first, left to right."""
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(reversed(children(x)))


def names(e: A.Expr) -> set[str]:
    """Every `Name` referenced anywhere in `e`."""
    return {x.id for x in walk(e) if isinstance(x, A.Name)}


def rewrite(e: A.Expr, replace: Callable[[A.Expr], A.Expr | None]) -> A.Expr:
    """`e` rebuilt bottom-up, with each node for which `replace` returns a node swapped for that node.

    `replace` is asked about a node before its children; where it returns None the node is rebuilt from its
    rewritten children.
    """
    new = replace(e)
    if new is not None:
        return new
    kids, rebuild = fold(e, _CHILDREN)
    if not kids:
        return e
    return rebuild(tuple(rewrite(x, replace) for x in kids))
