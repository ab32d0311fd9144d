"""One fold over the expression AST: a protocol with one method per node kind, and `fold`, which dispatches.

Every consumer of expressions (the interpreter, the columnar and Rete compilers, the type checker, the
printers) implements `ExprFold[T]` and calls `fold(node, self)` where it needs a child's result. The fold is
shallow, as Catala's `shallow_fold`: a method receives its node and decides which children to fold and when
(the interpreter's `if` folds one branch, a printer folds all). `fold` matches on the node kind and ends in
`assert_never`, so adding a node kind to `ast.Expr` makes mypy name `fold`, and adding its method to the
protocol makes mypy name every consumer that lacks it.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from typing_extensions import assert_never

from policyengine.lang import ast as A

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class ExprFold(Protocol[T_co]):
    """What a consumer computes for each kind of node."""

    def num(self, e: A.Num) -> T_co: ...
    def money(self, e: A.Money) -> T_co: ...
    def percent(self, e: A.Percent) -> T_co: ...
    def str_(self, e: A.Str) -> T_co: ...
    def bool_(self, e: A.Bool) -> T_co: ...
    def name(self, e: A.Name) -> T_co: ...
    def attr(self, e: A.Attr) -> T_co: ...
    def lookup(self, e: A.Lookup) -> T_co: ...
    def neg(self, e: A.Neg) -> T_co: ...
    def not_(self, e: A.Not) -> T_co: ...
    def arith(self, e: A.Arith) -> T_co: ...
    def compare(self, e: A.Compare) -> T_co: ...
    def boolop(self, e: A.BoolOp) -> T_co: ...
    def in_(self, e: A.In) -> T_co: ...
    def call(self, e: A.Call) -> T_co: ...
    def ifelse(self, e: A.IfElse) -> T_co: ...


def fold(e: A.Expr, f: ExprFold[T]) -> T:
    """`f`'s method for the kind of `e`, applied to `e`."""
    match e:
        case A.Num():
            return f.num(e)
        case A.Money():
            return f.money(e)
        case A.Percent():
            return f.percent(e)
        case A.Str():
            return f.str_(e)
        case A.Bool():
            return f.bool_(e)
        case A.Name():
            return f.name(e)
        case A.Attr():
            return f.attr(e)
        case A.Lookup():
            return f.lookup(e)
        case A.Neg():
            return f.neg(e)
        case A.Not():
            return f.not_(e)
        case A.Arith():
            return f.arith(e)
        case A.Compare():
            return f.compare(e)
        case A.BoolOp():
            return f.boolop(e)
        case A.In():
            return f.in_(e)
        case A.Call():
            return f.call(e)
        case A.IfElse():
            return f.ifelse(e)
        case _:
            assert_never(e)
