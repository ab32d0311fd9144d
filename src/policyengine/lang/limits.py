"""Enforcing the expression bounds of `policyengine.limits`, without recursion.

lark's LALR parser keeps its own stack, so even a 10,000-term sum or 10,000 nested `not`s parse without Python
recursion; what recurses is everything after (the tree-to-AST transformer, the type checker, the evaluators).
So the text's length is checked before parsing (parsing time grows with it), and the parse tree's depth, size,
list lengths and number literals are checked, iteratively, before it becomes an AST. Definitions are followed
by the evaluators and by lint, so `inlined_sizes`/`expanded` measure an expression with every definition it
names written out in place, from the definitions' sizes, without writing anything out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import lark

from policyengine.lang import ast as A
from policyengine.lang import traverse
from policyengine.limits import (
    MAX_EXPR_CHARS,
    MAX_EXPR_DEPTH,
    MAX_EXPR_NODES,
    MAX_INLINED_DEPTH,
    MAX_INLINED_NODES,
    MAX_LIST_ITEMS,
    MAX_NUMBER_DIGITS,
)

_LIST_NODE = "options"  # the `[...]` of `in`: not a level of its own (the `in` is)


def text_problem(text: str) -> str | None:
    """Why `text` is too long to parse, or None."""
    if len(text) > MAX_EXPR_CHARS:
        return f"the expression has {len(text):,} characters; the limit is {MAX_EXPR_CHARS:,}"
    return None


def number_digits(token: str) -> int:
    """The digits of a number literal as written (`1_000.50` has 6)."""
    return len(token) - token.count("_") - token.count(".")


def tree_problem(tree: lark.Tree[lark.Token]) -> str | None:
    """Why the parse tree `tree` makes too large an expression (depth, nodes, list length, digits), or None.

    A node is one level; a name or literal is a level too, so `a` is 1 deep, `a + b` 2, `a + b + c` 3."""
    nodes = 0
    stack: list[tuple[lark.Tree[lark.Token] | lark.Token, int]] = [(tree, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, lark.Token):
            if item.type == "NUMBER" and number_digits(item) > MAX_NUMBER_DIGITS:
                return (f"a number with {number_digits(item):,} digits at column {item.column}; "
                        f"the limit is {MAX_NUMBER_DIGITS} digits")
            continue
        if item.data == _LIST_NODE:
            if len(item.children) > MAX_LIST_ITEMS:
                return f"a list of {len(item.children):,} items; the limit is {MAX_LIST_ITEMS:,} items"
            stack.extend((c, depth) for c in item.children)
            continue
        nodes += 1
        if nodes > MAX_EXPR_NODES:
            return f"the expression has more than {MAX_EXPR_NODES:,} parts; the limit is {MAX_EXPR_NODES:,}"
        if depth > MAX_EXPR_DEPTH:
            return f"the expression nests more than {MAX_EXPR_DEPTH} levels deep; the limit is {MAX_EXPR_DEPTH}"
        if item.data == "call" and len(item.children) - 1 > MAX_LIST_ITEMS:
            return f"a call with {len(item.children) - 1:,} arguments; the limit is {MAX_LIST_ITEMS:,}"
        stack.extend((c, depth + 1) for c in item.children)
    return None


# -- definitions written out -------------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    """How deep an expression nests and how many nodes it has, with its definitions written out in place."""

    depth: int
    nodes: int

    def problem(self) -> str | None:
        """Why an expression of this size is refused, or None."""
        if self.depth > MAX_INLINED_DEPTH:
            return (f"with the definitions it names written out, the expression nests {self.depth:,} levels deep; "
                    f"the limit is {MAX_INLINED_DEPTH}")
        if self.nodes > MAX_INLINED_NODES:
            return (f"with the definitions it names written out, the expression has {_count(self.nodes)} parts; "
                    f"the limit is {MAX_INLINED_NODES:,}")
        return None


_CAP = 10**9  # sizes saturate here: a doubling chain must not grow huge integers


def _count(n: int) -> str:
    return f"more than {_CAP:,}" if n >= _CAP else f"{n:,}"


def expanded(e: A.Expr, sizes: Mapping[str, Size]) -> Size:
    """The size of `e` with each name in `sizes` (a definition) replaced by its expression: a reference to a
    definition is one level above the definition's own depth."""
    depth = nodes = 0
    stack: list[tuple[A.Expr, int]] = [(e, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, A.Name) and x.id in sizes:
            s = sizes[x.id]
            depth, nodes = max(depth, d + s.depth), min(_CAP, nodes + s.nodes)
            continue
        depth, nodes = max(depth, d), min(_CAP, nodes + 1)
        stack.extend((c, d + 1) for c in traverse.children(x))
    return Size(depth, nodes)


def inlined_sizes(definitions: Mapping[str, A.Expr]) -> dict[str, Size]:
    """The written-out size of every definition (each after those it names; iterative, so a chain of any length
    is measured). A definition on a circle is measured as if the name closing the circle were a fact (the
    builder reports circles itself)."""
    sizes: dict[str, Size] = {}
    for root in definitions:
        if root in sizes:
            continue
        on_path: set[str] = {root}
        stack: list[tuple[str, list[str]]] = [(root, _refs(definitions[root], definitions))]
        while stack:
            name, pending = stack[-1]
            while pending and (pending[-1] in sizes or pending[-1] in on_path):
                pending.pop()
            if pending:
                nxt = pending.pop()
                on_path.add(nxt)
                stack.append((nxt, _refs(definitions[nxt], definitions)))
                continue
            stack.pop()
            on_path.discard(name)
            sizes[name] = expanded(definitions[name], sizes)
    return sizes


def _refs(e: A.Expr, definitions: Mapping[str, A.Expr]) -> list[str]:
    return sorted(n for n in traverse.names(e) if n in definitions)
