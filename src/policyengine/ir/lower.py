"""Lowering: a typed `PolicyVersion` → its `Program`, once per version (cached; the version is immutable)."""

from __future__ import annotations

import re
from functools import reduce
from weakref import WeakKeyDictionary

from policyengine.ir.program import (
    ClausePlan,
    ConditionPlan,
    Deciding,
    DefinitionPlan,
    GroupPlan,
    Piece,
    Program,
    SettlementPlan,
    Slot,
    facts_read,
)
from policyengine.lang import ast as A
from policyengine.lang import printer, traverse
from policyengine.lang.types import INT, MONEY, Scope, TableType, Ty, check, fact_type
from policyengine.model.policy import Clause, ConditionDef, PolicyVersion

_PROGRAMS: WeakKeyDictionary[PolicyVersion, Program] = WeakKeyDictionary()

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`{name}` in a drafter's reason text: the value of a fact or definition (the only place this is spelled)."""


def program(version: PolicyVersion) -> Program:
    """The lowered program of `version`, built on first use."""
    found = _PROGRAMS.get(version)
    if found is None:
        found = _PROGRAMS[version] = _lower(version)
    return found


def reason_template(text: str, known: set[str] | frozenset[str] | dict[str, object]) -> tuple[Piece, ...]:
    """A drafter's reason text as pieces; `{name}` of a fact or definition in `known` becomes a slot, any other
    braces stay as written."""
    pieces: list[Piece] = []
    pos = 0
    for m in PLACEHOLDER.finditer(text):
        if m.group(1) in known:
            pieces.append(text[pos:m.start()])
            pieces.append(Slot(m.group(1)))
            pos = m.end()
    pieces.append(text[pos:])
    return tuple(p for p in pieces if p != "")


def placeholders(text: str) -> list[str]:
    """Every `{name}` a reason text mentions."""
    return PLACEHOLDER.findall(text)


def _order(version: PolicyVersion) -> list[str]:
    """Definitions in dependency order (the builder has refused circles)."""
    done: dict[str, None] = {}

    def visit(name: str) -> None:
        if name in done:
            return
        for ref in sorted(traverse.names(version.definitions[name])):
            if ref in version.definitions:
                visit(ref)
        done[name] = None

    for name in version.definitions:
        visit(name)
    return list(done)


class _Lowering:
    def __init__(self, version: PolicyVersion, def_reads: dict[str, tuple[str, ...]],
                 definitions: dict[str, A.Expr]) -> None:
        self.version = version
        self.def_reads = def_reads
        self.definitions = definitions
        self.known = {*version.facts, *definitions}

    def reads(self, e: A.Expr) -> tuple[str, ...]:
        return facts_read(e, self.version.facts, self.def_reads)

    def deciding(self, e: A.Expr) -> Deciding:
        if isinstance(e, A.Name) and e.id in self.definitions:
            return self.deciding(self.definitions[e.id])
        text = printer.to_text(e)
        reads = self.reads(e)
        operands: tuple[tuple[A.Expr, Deciding], ...] = ()
        if isinstance(e, A.BoolOp) and e.op == "and":
            operands = tuple((x, self.deciding(x)) for x in e.operands)
        shown = [(self.version.facts[f].label, f) for f in reads]
        return Deciding(e, text, reads, _false_pieces(text, shown), operands)

    def condition(self, i: int, cond: ConditionDef, shared: frozenset[str]) -> ConditionPlan:
        template = reason_template(cond.reason, self.known) if cond.reason else None
        return ConditionPlan(i, cond.expr, cond.text, self.reads(cond.expr), template, self.deciding(cond.expr),
                             bool(cond.reason) or cond.text in shared)

    def clause(self, clause: Clause, scope: Scope, shared: frozenset[str]) -> ClausePlan:
        conds = tuple(self.condition(i, c, shared) for i, c in enumerate(clause.conditions))
        return ClausePlan(clause, conds, clause.amount, printer.to_text(clause.amount), self.reads(clause.amount),
                          check(clause.amount, scope), clause.cap, clause.rounding, clause.group)


def _false_pieces(text: str, shown: list[tuple[str, str]]) -> tuple[Piece, ...]:
    """`TEXT is false (label=value, ...)`: the default reason of a false condition part."""
    head = f"{text} is false"
    if not shown:
        return (head,)
    pieces: list[Piece] = [head + " ("]
    for i, (label, name) in enumerate(shown):
        pieces += [("" if i == 0 else ", ") + label + "=", Slot(name)]
    pieces.append(")")
    return tuple(pieces)


def shared_conditions(version: PolicyVersion) -> frozenset[str]:
    """Condition texts every clause of the version has (general eligibility such as `E`)."""
    sets = [frozenset(c.text for c in clause.conditions) for clause in version.clauses]
    return reduce(lambda a, b: a & b, sets) if sets else frozenset()


def _lower(version: PolicyVersion) -> Program:
    fact_types = {n: fact_type(s) for n, s in version.facts.items()}
    table_types = {n: TableType(frozenset(t.values), {"money": MONEY, "integer": INT}.get(t.type, INT))
                   for n, t in version.tables.items()}
    types: dict[str, Ty] = dict(fact_types)
    def_reads: dict[str, tuple[str, ...]] = {}
    defs: list[DefinitionPlan] = []
    for i, name in enumerate(_order(version)):
        expr = version.definitions[name]
        types[name] = check(expr, Scope(types, table_types))
        def_reads[name] = facts_read(expr, version.facts, def_reads)
        defs.append(DefinitionPlan(name, i, expr, types[name], def_reads[name]))
    settlement = SettlementPlan(
        caps=tuple((c.id, c.cap) for c in version.clauses if c.cap is not None),
        groups=tuple(GroupPlan(g.id, g.label, tuple(sorted(g.members, key=lambda m: version.clause(m).article)))
                     for g in version.groups.values()),
        applicant_cap=version.applicant_cap,
        cut_order=tuple(c.id for c in sorted(version.clauses, key=lambda c: c.article, reverse=True)),
        annual_fund=version.annual_fund,
    )
    low = _Lowering(version, def_reads, dict(version.definitions))
    scope = Scope(types, table_types)
    shared = shared_conditions(version)
    clauses = tuple(low.clause(c, scope, shared) for c in version.clauses)
    return Program(version, version.facts, fact_types, tuple(defs), {d.name: d.index for d in defs}, version.tables,
                   clauses, settlement)
