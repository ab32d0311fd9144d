"""The expression language: parse text to an AST, print it back, type-check it."""

from policyengine.lang.ast import Expr, to_text
from policyengine.lang.parser import ExprSyntaxError, parse

__all__ = ["Expr", "ExprSyntaxError", "parse", "to_text"]
