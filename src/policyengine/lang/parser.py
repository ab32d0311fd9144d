"""Text → AST, with lark's LALR parser (never `eval`)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from typing import Any

import lark

from policyengine.errors import PolicyEngineError
from policyengine.lang import ast as A
from policyengine.lang.limits import text_problem, tree_problem

_FUNCTIONS = {"min", "max", "count"}


class ExprSyntaxError(PolicyEngineError, ValueError):
    """Text that is not an expression; the message points at the column."""


FULL_WIDTH = {"≥": ">=", "≤": "<=", "≠": "!=", "＝": "==", "＞": ">", "＜": "<", "％": "%", "（": "(", "）": ")",
              "“": '"', "”": '"', "＂": '"', "‘": '"', "’": '"', "，": ",", "［": "[", "］": "]", "【": "[",
              "】": "]", "＋": "+", "－": "-", "—": "-", "×": "*", "＊": "*", "÷": "/", "／": "/", "．": ".",
              "　": " ", **{chr(0xFF10 + d): str(d) for d in range(10)}}
"""Characters a Chinese input method types where the expression language wants ASCII, with the ASCII form."""


def ascii_form(text: str) -> str:
    """`text` with the full-width characters outside "quoted text" written in ASCII (`≥` → `>=`, `“` → `"`)."""
    out, quoted = [], False
    for ch in text:
        ascii_ch = FULL_WIDTH.get(ch, ch)
        if ascii_ch == '"':  # a quote, ASCII or curly, opens or closes the text
            quoted = not quoted
        out.append(ch if quoted and ascii_ch != '"' else ascii_ch)
    return "".join(out)


def _full_width_hint(char: str, text: str) -> str:
    if char not in FULL_WIDTH:
        return ""
    return (f"; write {FULL_WIDTH[char]!r} for {char!r} (an expression is written with ASCII symbols, "
            f"表达式请用半角符号): {ascii_form(text)!r}")


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    # cache=True keeps the LALR tables in a temporary file keyed by the grammar's hash: faster start-up
    return lark.Lark(grammar, parser="lalr", maybe_placeholders=False, cache=True)


def _number(token: lark.Token) -> Fraction:
    return Fraction(Decimal(str(token).replace("_", "")))


class _ToAst(lark.Transformer[lark.Token, A.Expr]):
    def number(self, c: list[Any]) -> A.Expr:
        return A.Num(_number(c[0]))

    def percent(self, c: list[Any]) -> A.Expr:
        return A.Percent(_number(c[0]) / 100)

    def money(self, c: list[Any]) -> A.Expr:
        factor = 1 if str(c[1]) == "元" else 10_000
        return A.Money(_number(c[0]) * factor)

    def string(self, c: list[Any]) -> A.Expr:
        return A.Str(str(c[0])[1:-1])

    def true(self, c: list[Any]) -> A.Expr:
        return A.Bool(True)

    def false(self, c: list[Any]) -> A.Expr:
        return A.Bool(False)

    def name(self, c: list[Any]) -> A.Expr:
        return A.Name(str(c[0]))

    def attr(self, c: list[Any]) -> A.Expr:
        return A.Attr(str(c[0]), str(c[1]))

    def lookup(self, c: list[Any]) -> A.Expr:
        return A.Lookup(str(c[0]), c[1])

    def call(self, c: list[Any]) -> A.Expr:
        func = str(c[0])
        if func not in _FUNCTIONS:
            raise ExprSyntaxError(f"unknown function {func}(); the functions are {', '.join(sorted(_FUNCTIONS))}")
        args = tuple(c[1:])
        if not args:
            raise ExprSyntaxError(f"{func}() needs at least one argument")
        return A.Call(func, args)

    def neg(self, c: list[Any]) -> A.Expr:
        return A.Neg(c[0])

    def not_(self, c: list[Any]) -> A.Expr:
        return A.Not(c[0])

    def arith(self, c: list[Any]) -> A.Expr:
        return A.Arith(str(c[1]), c[0], c[2])

    def compare(self, c: list[Any]) -> A.Expr:
        return A.Compare(str(c[1]), c[0], c[2])

    def and_(self, c: list[Any]) -> A.Expr:
        return A.BoolOp("and", tuple(c))

    def or_(self, c: list[Any]) -> A.Expr:
        return A.BoolOp("or", tuple(c))

    def options(self, c: list[Any]) -> tuple[A.Expr, ...]:
        return tuple(c)

    def in_(self, c: list[Any]) -> A.Expr:
        return A.In(c[0], c[1], False)

    def not_in(self, c: list[Any]) -> A.Expr:
        return A.In(c[0], c[1], True)

    def ifelse(self, c: list[Any]) -> A.Expr:
        return A.IfElse(c[0], c[1], c[2])


def parse(text: str) -> A.Expr:
    """Parse expression text into its AST; raise `ExprSyntaxError` with the column on failure."""
    if not isinstance(text, str):
        raise ExprSyntaxError(f"an expression must be text, got {type(text).__name__} {text!r}")
    too_long = text_problem(text)
    if too_long is not None:
        raise ExprSyntaxError(too_long)
    try:
        tree = _parser().parse(text)
        too_large = tree_problem(tree)  # before the transformer, which recurses
        if too_large is not None:
            raise ExprSyntaxError(too_large)
        result = _ToAst().transform(tree)
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, ExprSyntaxError):
            raise exc.orig_exc from None
        raise
    except lark.exceptions.UnexpectedCharacters as exc:
        char = text[exc.pos_in_stream] if exc.pos_in_stream is not None else "?"
        raise ExprSyntaxError(f"unexpected character {char!r} at column {exc.column} in {text!r}"
                              + _full_width_hint(char, text)) from None
    except lark.exceptions.UnexpectedEOF:
        raise ExprSyntaxError(f"expression ends too early: {text!r}") from None
    except lark.exceptions.UnexpectedToken as exc:
        tok = exc.token
        what = "end of text" if tok.type == "$END" else repr(str(tok))
        raise ExprSyntaxError(f"unexpected {what} at column {tok.column} in {text!r}") from None
    if not isinstance(result, A.NODE_KINDS):
        raise ExprSyntaxError(f"not an expression: {text!r}")  # pragma: no cover
    return result
