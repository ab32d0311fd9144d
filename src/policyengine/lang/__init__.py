"""The expression language: AST (`ast`), parser (`parser`, lark), the one fold every consumer implements
(`fold`), printing (`printer`), traversal (`traverse`) and static types (`types`)."""

from policyengine.lang.ast import Expr
from policyengine.lang.parser import ExprSyntaxError, parse
from policyengine.lang.printer import to_text

__all__ = ["Expr", "ExprSyntaxError", "parse", "to_text"]
