"""Static views of a version's expressions, shared by the strategies and the lint checks.

Definitions are inlined; conjunctions are flattened; a comparison of one fact with literals (or with
the application year plus a literal) becomes a `Bound`; an equality against text, enum or bool
literals becomes an `Equality`. Anything else is left alone (the analyses stay sound by ignoring it).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from policyengine.ir.lower import program
from policyengine.lang import ast as A
from policyengine.lang import traverse
from policyengine.model.policy import Clause, PolicyVersion

YEAR_FACT = "application_year"

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def inline(e: A.Expr, version: PolicyVersion) -> A.Expr:
    """`e` with every named definition replaced by its own (inlined) expression."""

    def definition(x: A.Expr) -> A.Expr | None:
        if isinstance(x, A.Name) and x.id in version.definitions and x.id not in version.facts:
            return inline(version.definitions[x.id], version)
        return None

    return traverse.rewrite(e, definition)


def walk(e: A.Expr) -> list[A.Expr]:
    """`e` and every sub-expression, parents first."""
    return list(traverse.walk(e))


def conjuncts(e: A.Expr) -> list[A.Expr]:
    """The parts of a conjunction (`a and (b and c)` → a, b, c), with `not` pushed into comparisons."""
    if isinstance(e, A.BoolOp) and e.op == "and":
        return [c for x in e.operands for c in conjuncts(x)]
    if isinstance(e, A.Not):
        inner = e.operand
        if isinstance(inner, A.Compare):
            return [A.Compare(_NEGATE[inner.op], inner.left, inner.right)]
        if isinstance(inner, A.In):
            return [A.In(inner.item, inner.options, not inner.negated)]
        if isinstance(inner, A.Not):
            return conjuncts(inner.operand)
        if isinstance(inner, A.BoolOp) and inner.op == "or":  # not (a or b) = not a and not b
            return [c for x in inner.operands for c in conjuncts(A.Not(x))]
    return [e]


def clause_conjuncts(clause: Clause, version: PolicyVersion) -> list[A.Expr]:
    """Every condition of `clause`, definitions inlined, flattened into one conjunction."""
    return [c for cond in clause.conditions for c in conjuncts(inline(cond.expr, version))]


# -- linear forms ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Linear:
    """sum(coefficient × fact) + constant."""

    terms: tuple[tuple[str, Fraction], ...]
    const: Fraction

    def coefficient(self, name: str) -> Fraction:
        return dict(self.terms).get(name, Fraction(0))


def _lin(terms: dict[str, Fraction], const: Fraction) -> Linear:
    return Linear(tuple(sorted((k, v) for k, v in terms.items() if v != 0)), const)


def linear(e: A.Expr) -> Linear | None:
    """`e` as a linear form over names, or None when it is not one (lookups, min/max, if, ...)."""
    if isinstance(e, A.Num | A.Money | A.Percent):
        return _lin({}, e.value)
    if isinstance(e, A.Name):
        return _lin({e.id: Fraction(1)}, Fraction(0))
    if isinstance(e, A.Neg):
        inner = linear(e.operand)
        return None if inner is None else _lin({k: -v for k, v in inner.terms}, -inner.const)
    if isinstance(e, A.Arith):
        left, right = linear(e.left), linear(e.right)
        if left is None or right is None:
            return None
        if e.op in "+-":
            sign = 1 if e.op == "+" else -1
            terms = dict(left.terms)
            for k, v in right.terms:
                terms[k] = terms.get(k, Fraction(0)) + sign * v
            return _lin(terms, left.const + sign * right.const)
        if e.op == "*":
            if not left.terms:
                left, right = right, left
            if right.terms:
                return None
            return _lin({k: v * right.const for k, v in left.terms}, left.const * right.const)
        if e.op == "/" and not right.terms and right.const != 0:
            return _lin({k: v / right.const for k, v in left.terms}, left.const / right.const)
    return None


@dataclass(frozen=True)
class Bound:
    """`fact OP value`, or with `relative`, `fact OP application_year + value`."""

    fact: str
    relative: bool
    op: str
    value: Fraction
    source: A.Expr


@dataclass(frozen=True)
class Pair:
    """`left OP right`, two facts compared with each other."""

    left: str
    op: str
    right: str
    source: A.Expr


def numeric_bound(e: A.Expr, facts: set[str]) -> Bound | Pair | None:
    """A comparison as a bound on one fact, or as two facts compared; None for anything else."""
    if not isinstance(e, A.Compare):
        return None
    left, right = linear(e.left), linear(e.right)
    if left is None or right is None:
        return None
    terms = dict(left.terms)
    for k, v in right.terms:
        terms[k] = terms.get(k, Fraction(0)) - v
    terms = {k: v for k, v in terms.items() if v != 0}
    const = left.const - right.const
    if any(k not in facts for k in terms):
        return None
    others = [k for k in terms if k != YEAR_FACT]
    if len(terms) == 1:
        (fact, c), = terms.items()
        op = e.op if c > 0 else _FLIP[e.op]
        return Bound(fact, False, op, -const / c, e)
    if len(terms) == 2 and len(others) == 1:
        fact = others[0]
        c = terms[fact]
        if terms[YEAR_FACT] == -c:  # c·(fact − Y) + const OP 0
            op = e.op if c > 0 else _FLIP[e.op]
            return Bound(fact, True, op, -const / c, e)
    if len(terms) == 2 and not const and YEAR_FACT not in terms:
        (a, ca), (b, cb) = sorted(terms.items())
        if ca == -cb:
            return Pair(a, e.op if ca > 0 else _FLIP[e.op], b, e)
    return None


Literal = str | bool


@dataclass(frozen=True)
class Equality:
    """`fact in values` (or, negated, `fact not in values`) for text, enum and bool literals."""

    fact: str
    values: frozenset[Literal]
    negated: bool
    source: A.Expr


def _literal(e: A.Expr) -> Literal | None:
    if isinstance(e, A.Str | A.Bool):
        return e.value
    return None


def equality(e: A.Expr, facts: set[str]) -> Equality | None:
    """An equality or membership test of one fact against literals, or None."""
    if isinstance(e, A.Compare) and e.op in ("==", "!="):
        for name, other in ((e.left, e.right), (e.right, e.left)):
            lit = _literal(other)
            if isinstance(name, A.Name) and name.id in facts and lit is not None:
                return Equality(name.id, frozenset({lit}), e.op == "!=", e)
        return None
    if isinstance(e, A.In) and isinstance(e.item, A.Name) and e.item.id in facts:
        lits = [_literal(o) for o in e.options]
        if all(v is not None for v in lits):
            return Equality(e.item.id, frozenset(v for v in lits if v is not None), e.negated, e)
    return None


def version_expressions(version: PolicyVersion) -> list[tuple[Clause | None, A.Expr]]:
    """Every condition and amount of the version, definitions inlined, with the clause it belongs to."""
    out: list[tuple[Clause | None, A.Expr]] = []
    for clause in version.clauses:
        for cond in clause.conditions:
            out.append((clause, inline(cond.expr, version)))
        out.append((clause, inline(clause.amount, version)))
    return out


def facts_read(version: PolicyVersion) -> set[str]:
    """The facts that some clause reads, directly or through definitions (the lowered program's clause plans)."""
    return {f for plan in program(version).clauses for f in plan.reads}
