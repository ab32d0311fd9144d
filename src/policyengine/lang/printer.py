"""Printing expressions back to source text that parses to the same tree, and binding strengths for printers
that add parentheses (the clause tables use them too)."""

from __future__ import annotations

from policyengine.facts.money import format_decimal
from policyengine.lang import ast as A
from policyengine.lang.fold import fold

# Binding strength, loosest first; a child binding more loosely than its slot needs parentheses.
PREC_IF, PREC_OR, PREC_AND, PREC_NOT, PREC_CMP, PREC_ADD, PREC_MUL, PREC_NEG, PREC_ATOM = range(9)


class _Precedence:
    """How tightly each kind of node binds."""

    def num(self, e: A.Num) -> int:
        return PREC_ATOM

    def money(self, e: A.Money) -> int:
        return PREC_ATOM

    def percent(self, e: A.Percent) -> int:
        return PREC_ATOM

    def str_(self, e: A.Str) -> int:
        return PREC_ATOM

    def bool_(self, e: A.Bool) -> int:
        return PREC_ATOM

    def name(self, e: A.Name) -> int:
        return PREC_ATOM

    def attr(self, e: A.Attr) -> int:
        return PREC_ATOM

    def lookup(self, e: A.Lookup) -> int:
        return PREC_ATOM

    def call(self, e: A.Call) -> int:
        return PREC_ATOM


    def neg(self, e: A.Neg) -> int:
        return PREC_NEG

    def not_(self, e: A.Not) -> int:
        return PREC_NOT

    def arith(self, e: A.Arith) -> int:
        return PREC_ADD if e.op in "+-" else PREC_MUL

    def compare(self, e: A.Compare) -> int:
        return PREC_CMP

    def in_(self, e: A.In) -> int:
        return PREC_CMP

    def boolop(self, e: A.BoolOp) -> int:
        return PREC_OR if e.op == "or" else PREC_AND

    def ifelse(self, e: A.IfElse) -> int:
        return PREC_IF


_PREC = _Precedence()


def precedence(e: A.Expr) -> int:
    """How tightly `e` binds (PREC_IF loosest … PREC_ATOM tightest), for printers that add parentheses."""
    return fold(e, _PREC)


def literal_text(e: A.Num | A.Money | A.Percent) -> str:
    if isinstance(e, A.Percent):
        return format_decimal(e.value * 100) + "%"
    if isinstance(e, A.Money):
        if e.value % 10_000 == 0 and e.value != 0:
            return format_decimal(e.value / 10_000) + "万"
        return format_decimal(e.value) + "元"
    return format_decimal(e.value)


class SourcePrinter:
    """Canonical source text, with the parentheses precedence requires. Printers for people (the clause tables)
    subclass it and change the spelling of operators, names and values; the structure stays here."""

    def op(self, op: str) -> str:
        """How an arithmetic or comparison operator, or `and`/`or`, is written."""
        return op

    def wrap(self, e: A.Expr, min_prec: int) -> str:
        text = fold(e, self)
        return f"({text})" if precedence(e) < min_prec else text

    def num(self, e: A.Num) -> str:
        return literal_text(e)

    def money(self, e: A.Money) -> str:
        return literal_text(e)

    def percent(self, e: A.Percent) -> str:
        return literal_text(e)

    def str_(self, e: A.Str) -> str:
        return '"' + e.value + '"' if '"' not in e.value else "'" + e.value + "'"

    def bool_(self, e: A.Bool) -> str:
        return "true" if e.value else "false"

    def name(self, e: A.Name) -> str:
        return e.id

    def attr(self, e: A.Attr) -> str:
        return f"{e.obj}.{e.attr}"

    def lookup(self, e: A.Lookup) -> str:
        return f"{e.table}[{fold(e.key, self)}]"

    def neg(self, e: A.Neg) -> str:
        return "-" + self.wrap(e.operand, PREC_NEG)

    def not_(self, e: A.Not) -> str:
        return "not " + self.wrap(e.operand, PREC_NOT)

    def arith(self, e: A.Arith) -> str:
        p = precedence(e)
        # left-associative: the right operand of the same strength needs parentheses
        return f"{self.wrap(e.left, p)} {self.op(e.op)} {self.wrap(e.right, p + 1)}"

    def compare(self, e: A.Compare) -> str:
        return f"{self.wrap(e.left, PREC_ADD)} {self.op(e.op)} {self.wrap(e.right, PREC_ADD)}"

    def boolop(self, e: A.BoolOp) -> str:
        p = precedence(e)
        return f" {self.op(e.op)} ".join(self.wrap(x, p + 1) for x in e.operands)

    def in_(self, e: A.In) -> str:
        opts = ", ".join(fold(o, self) for o in e.options)
        return f"{self.wrap(e.item, PREC_ADD)} {'not in' if e.negated else 'in'} [{opts}]"

    def call(self, e: A.Call) -> str:
        return f"{e.func}(" + ", ".join(fold(a, self) for a in e.args) + ")"

    def ifelse(self, e: A.IfElse) -> str:
        return f"if {fold(e.cond, self)} then {fold(e.then, self)} else {self.wrap(e.else_, PREC_IF)}"


_SOURCE = SourcePrinter()


def to_text(e: A.Expr) -> str:
    """Canonical source text of `e`; `parse(to_text(e)) == e` for every tree the parser makes."""
    return fold(e, _SOURCE)
