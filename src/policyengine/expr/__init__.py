"""The expression language: parse text to an AST, print it back, type-check it."""

from .ast import Expr, to_text
from .parser import ExprSyntaxError, parse

__all__ = ["Expr", "ExprSyntaxError", "parse", "to_text"]
