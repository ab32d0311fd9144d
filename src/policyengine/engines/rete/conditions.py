"""Conditions over the one applicant fact, as the Rete engine can test them, with simplification and DNF.

There is no negation node: durable_rules has no `$not`, so the compiler builds every condition positively
(each expression compiles to an exhaustive set of alternatives, see `compile.py`), and the only negative
tests are leaves the engine has (`$nex`, `$neq`, the opposite ordering).

A leaf holds only when every engine field it names is present: that is the engine's own rule for literal
comparisons, and the emitted JSON adds `$ex` guards wherever a comparison refers to another field (`$m`),
because a `$m` reference to a missing field evaluates to garbage and can make a rule fire.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor, gcd
from typing import Any

from policyengine.engines.rete.errors import ReteCompileError

Json = Any

# Every comparison or arithmetic step must stay far inside int64: the engine saturates values outside it
# silently and wraps on overflow. Each fact's encoded magnitude is bounded (FieldSpec.bound, enforced by
# encode.py), and a comparison whose arithmetic could exceed _LIMIT with facts at those bounds is refused.
_LIMIT = 2**62

NEGATE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
MIRROR = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
ENGINE_OP = {"==": "$eq", "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


@dataclass(frozen=True)
class Const:
    value: bool


TRUE = Const(True)
FALSE = Const(False)


@dataclass(frozen=True)
class Exists:
    field: str


@dataclass(frozen=True)
class Absent:
    field: str


@dataclass(frozen=True)
class BoolIs:
    field: str
    value: bool


@dataclass(frozen=True)
class TextCmp:
    """`field == "text"` or `field != "text"` (the field present)."""

    op: str
    field: str
    text: str


@dataclass(frozen=True)
class TextFieldCmp:
    op: str
    field: str
    other: str


@dataclass(frozen=True)
class NumCmp:
    """`sum(coef * field) + const OP 0` over encoded integers, normalised (see `num_cmp`)."""

    op: str
    terms: tuple[tuple[str, int], ...]
    const: int


Leaf = Exists | Absent | BoolIs | TextCmp | TextFieldCmp | NumCmp


@dataclass(frozen=True)
class And:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Cond, ...]


Cond = Const | Leaf | And | Or


def present_fields(leaf: Leaf) -> tuple[str, ...]:
    """The fields a leaf needs present to hold."""
    if isinstance(leaf, Exists | BoolIs | TextCmp):
        return (leaf.field,)
    if isinstance(leaf, TextFieldCmp):
        return (leaf.field, leaf.other)
    if isinstance(leaf, NumCmp):
        return tuple(f for f, _ in leaf.terms)
    return ()


# -- smart constructors --------------------------------------------------------------------------

def conj(*items: Cond) -> Cond:
    flat: list[Cond] = []
    for x in items:
        if x == FALSE:
            return FALSE
        if x == TRUE:
            continue
        flat.extend(x.items if isinstance(x, And) else (x,))
    out = list(dict.fromkeys(flat))
    if len(out) == 0:
        return TRUE
    if len(out) == 1:
        return out[0]
    return And(tuple(out))


def disj(*items: Cond) -> Cond:
    flat: list[Cond] = []
    for x in items:
        if x == TRUE:
            return TRUE
        if x == FALSE:
            continue
        flat.extend(x.items if isinstance(x, Or) else (x,))
    out = list(dict.fromkeys(flat))
    if len(out) == 0:
        return FALSE
    if len(out) == 1:
        return out[0]
    return Or(tuple(out))


def _sign_ok(op: str, value: int) -> bool:
    return {"==": value == 0, "!=": value != 0, "<": value < 0, "<=": value <= 0, ">": value > 0,
            ">=": value >= 0}[op]


def num_cmp(op: str, coefs: dict[str, Fraction], const: Fraction, bounds: dict[str, int]) -> Cond:
    """The leaf for `sum(coefs[f] * f) + const OP 0` over encoded integer fields (all present), where
    `|f| <= bounds[f]`.

    Coefficients are made integers (multiplied by the positive lcm of denominators); a single field is
    normalised to `f OP t` with an integer t, using that fields hold integers (`f > 2.5` is `f > 2`).
    """
    coefs = {f: c for f, c in coefs.items() if c != 0}
    if not coefs:
        return TRUE if _sign_ok(op, 1 if const > 0 else -1 if const < 0 else 0) else FALSE
    present = conj(*(Exists(f) for f in sorted(coefs)))
    if len(coefs) == 1:
        ((field, c),) = coefs.items()
        if c < 0:
            op = MIRROR[op]
        t = -const / c  # field OP t
        if op in ("==", "!="):
            if t.denominator != 1:
                return FALSE if op == "==" else present
            k = int(t)
        elif op in (">", "<="):
            k = floor(t)
        else:
            k = ceil(t)
        if abs(k) > bounds[field]:  # beyond any value the fact can hold: decided here
            holds = _sign_ok(op, -1 if k > 0 else 1)  # compare a value in range against k
            return present if holds else FALSE
        return NumCmp(op, ((field, 1),), -k)
    denominators = [c.denominator for c in coefs.values()] + [const.denominator]
    lcm = 1
    for d in denominators:
        lcm = lcm * d // gcd(lcm, d)
    ints = {f: int(c * lcm) for f, c in coefs.items()}
    k = int(const * lcm)
    g = 0
    for v in (*ints.values(), k):
        g = gcd(g, v)
    ints = {f: v // g for f, v in ints.items()}
    k //= g
    # the engine computes `pivot OP rhs` with rhs = pivot - (the form): both within twice the form's bound
    bound = 2 * sum(abs(v) * bounds[f] for f, v in ints.items()) + max(bounds[f] for f in ints) + abs(k)
    if bound > _LIMIT:
        raise ReteCompileError("the comparison could overflow the engine's 64-bit integers")
    return NumCmp(op, tuple(sorted(ints.items())), k)


# -- disjunctive normal form ---------------------------------------------------------------------

Path = tuple[Leaf, ...]


def _consistent(path: Path, exclusive: dict[str, str]) -> bool:
    present: set[str] = set()
    absent: set[str] = set()
    bools: dict[str, bool] = {}
    text_eq: dict[str, str] = {}
    text_ne: dict[str, set[str]] = {}
    for leaf in path:
        if isinstance(leaf, Absent):
            absent.add(leaf.field)
        present.update(present_fields(leaf))
        if isinstance(leaf, BoolIs) and bools.setdefault(leaf.field, leaf.value) != leaf.value:
            return False
        if isinstance(leaf, TextCmp):
            if leaf.op == "==":
                if text_eq.setdefault(leaf.field, leaf.text) != leaf.text:
                    return False
            else:
                text_ne.setdefault(leaf.field, set()).add(leaf.text)
    if present & absent:
        return False
    if any(exclusive.get(f) in present for f in present):
        return False
    return all(text_eq[f] not in ne for f, ne in text_ne.items() if f in text_eq)


def _simplify_path(path: Path) -> Path:
    """Drop duplicates and `Exists` guards that another leaf of the path already implies."""
    leaves = list(dict.fromkeys(path))
    implied = {f for leaf in leaves if not isinstance(leaf, Exists) for f in present_fields(leaf)}
    kept = [leaf for leaf in leaves if not (isinstance(leaf, Exists) and leaf.field in implied)]
    return tuple(sorted(kept, key=repr))


def dnf(cond: Cond, exclusive: dict[str, str], limit: int) -> list[Path]:
    """`cond` as a list of paths (conjunctions of leaves), without contradictory or subsumed paths.

    `exclusive` maps a field to a field that is never present together with it (a fact's value and its
    "did not happen" flag). Raises `ReteCompileError` beyond `limit` paths.
    """

    def go(c: Cond) -> list[Path]:
        if isinstance(c, Const):
            return [()] if c.value else []
        if isinstance(c, Or):
            out: list[Path] = []
            for x in c.items:
                out.extend(go(x))
                if len(out) > limit:
                    raise ReteCompileError(f"the condition expands to more than {limit} alternatives")
            return out
        if isinstance(c, And):
            paths: list[Path] = [()]
            for x in c.items:
                sub = go(x)
                paths = [p + q for p, q in itertools.product(paths, sub) if _consistent(p + q, exclusive)]
                if len(paths) > limit:
                    raise ReteCompileError(f"the condition expands to more than {limit} alternatives")
            return paths
        return [(c,)]

    raw = [_simplify_path(p) for p in go(cond) if _consistent(p, exclusive)]
    unique = list(dict.fromkeys(raw))
    sets = [frozenset(p) for p in unique]
    return [p for i, p in enumerate(unique)
            if not any(j != i and sets[j] < sets[i] for j in range(len(unique)))]


# -- engine JSON ---------------------------------------------------------------------------------

def _ref(field: str) -> Json:
    return {"$m": field}


def _linear(terms: list[tuple[str, int]], const: int) -> Json:
    """`sum(coef * field) + const` as engine arithmetic ($add/$sub/$mul of `$m` references)."""
    expr: Json = None
    for field, coef in sorted(terms, key=lambda t: t[1] < 0):   # a positive term first, where there is one
        term: Json = _ref(field) if abs(coef) == 1 else {"$mul": {"$l": _ref(field), "$r": abs(coef)}}
        if expr is None:
            expr = term if coef > 0 else {"$sub": {"$l": 0, "$r": term}}
        else:
            expr = {"$add" if coef > 0 else "$sub": {"$l": expr, "$r": term}}
    if expr is None:
        return const
    if const:
        expr = {"$add" if const > 0 else "$sub": {"$l": expr, "$r": abs(const)}}
    return expr


def leaf_json(leaf: Leaf) -> list[Json]:
    """The engine conditions for one leaf (several when `$ex` guards are needed)."""
    if isinstance(leaf, Exists):
        return [{"$ex": {leaf.field: 1}}]
    if isinstance(leaf, Absent):
        return [{"$nex": {leaf.field: 1}}]
    if isinstance(leaf, BoolIs):
        return [{"$eq": {leaf.field: leaf.value}}]
    if isinstance(leaf, TextCmp):
        return [{ENGINE_OP[leaf.op]: {leaf.field: leaf.text}}]
    if isinstance(leaf, TextFieldCmp):
        return [{"$ex": {leaf.field: 1}}, {"$ex": {leaf.other: 1}},
                {ENGINE_OP[leaf.op]: {leaf.field: _ref(leaf.other)}}]
    # NumCmp: sum(c*f) + k OP 0. Pick a pivot field with coefficient +-1 and move the rest to the right:
    # f OP -(rest). With no unit coefficient, `f OP f - form` is the same test with f alone on the left.
    terms = list(leaf.terms)
    op = leaf.op
    pivot = next((i for i, (_, c) in enumerate(terms) if abs(c) == 1), None)
    if pivot is not None and terms[pivot][1] == -1:
        terms = [(f, -c) for f, c in terms]
        op, k = MIRROR[op], -leaf.const
    else:
        k = leaf.const
    if pivot is not None:
        field = terms[pivot][0]
        rest = [(f, -c) for i, (f, c) in enumerate(terms) if i != pivot]
    else:
        field = terms[0][0]
        rest = [(f, (1 - c) if f == field else -c) for f, c in terms]
        rest = [(f, c) for f, c in rest if c != 0]
    rhs = _linear(rest, -k)
    guards = [{"$ex": {f: 1}} for f, _ in sorted(leaf.terms)] if rest else []
    return [*guards, {ENGINE_OP[op]: {field: rhs}}]


ENGINE_STACK = 64  # durable_rules walks its alpha network with a stack of 64 nodes (error 303 beyond)


def _key(j: Json) -> str:
    return json.dumps(j, sort_keys=True, ensure_ascii=False)


def emit_rules(rules: dict[str, list[Path]], tag: tuple[str, str], never: tuple[str, str]
               ) -> tuple[dict[str, Json], int]:
    """The ruleset definition for `rules` (rule name → paths), and the deepest match stack it can need.

    Every rule is one pattern `m` over the applicant fact (no joins). Each path starts with the applicant tag
    (which fences off the engine's own per-session state record, that a condition of only `$nex` tests would
    also match), then its leaves, the most widely shared first: the engine shares the alpha nodes of a common
    prefix, which keeps its match stack shallow. A rule with no path tests the tag against a second value and
    never matches.
    """
    freq: Counter[Leaf] = Counter(leaf for paths in rules.values() for p in paths for leaf in set(p))
    tag_json: Json = {"$eq": {tag[0]: tag[1]}}
    definition: dict[str, Json] = {}
    chains: list[list[Json]] = []
    for name, paths in rules.items():
        alternatives: list[Json] = []
        for path in paths:
            parts: list[Json] = [tag_json]
            for leaf in sorted(path, key=lambda x: (-freq[x], repr(x))):
                parts.extend(j for j in leaf_json(leaf) if j not in parts)
            alternatives.append({"$and": parts})
            chains.append(parts)
        if not alternatives:
            never_parts = [tag_json, {"$eq": {never[0]: never[1]}}]
            alternatives.append({"$and": never_parts})
            chains.append(never_parts)
        cond = alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}
        definition[name] = {"all": [{"m": cond}]}
    return definition, stack_bound(chains)


def stack_bound(chains: list[list[Json]]) -> int:
    """The most alpha nodes the engine's match stack can hold for these condition chains.

    The engine shares a node between chains with the same prefix, pops a node, pushes every child that
    matches, and goes on with the last pushed. Assuming every child matches gives an upper bound.
    """
    trie: dict[str, Any] = {}
    for chain in chains:
        node = trie
        for j in chain:
            node = node.setdefault(_key(j), {})

    def bound(node: dict[str, Any], base: int) -> int:
        k = len(node)
        return max([base + k, *(bound(child, base + k - 1) for child in node.values())])

    return bound(trie, 0)
