"""The lowered program of one policy version: what every evaluator, report and check reads.

`lower.program(version)` builds it once per version. It holds, resolved: the facts and their static types,
the definitions in dependency order (each with its index: every backend computes a definition once per
applicant, in that slot), the tables, one plan per clause (conditions with their reason plans, amount, cap,
rounding) and the settlement plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from policyengine.lang import ast as A
from policyengine.lang.traverse import walk
from policyengine.lang.types import Ty
from policyengine.model.policy import Clause, PolicyVersion, TableDef
from policyengine.model.rulefile import FactSpec, Rounding

# -- reasons ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A place in a reason where the value of a fact or definition is shown."""

    name: str


Piece = str | Slot
"""A reason is a sequence of pieces: literal text and the values of names."""


def render(pieces: Sequence[Piece], show: Callable[[str], str]) -> str:
    """A reason's text, with `show(name)` for each slot: the only place reason pieces become text per applicant
    (the columnar backend renders the same pieces as a concatenation of columns)."""
    return "".join(p if isinstance(p, str) else show(p.name) for p in pieces)


@dataclass(frozen=True)
class Deciding:
    """Where to look for the part of a false condition that made it false.

    For a conjunction, the first operand that is false, looked into in turn (`operands`); a named definition is
    looked into; anything else is itself the deciding part (`expr`, with the reason shown for it).
    """

    expr: A.Expr
    text: str
    reads: tuple[str, ...]
    pieces: tuple[Piece, ...]
    """The default reason when this part decides: `TEXT is false (label=value, ...)`."""
    operands: tuple[tuple[A.Expr, Deciding], ...] = ()


@dataclass(frozen=True)
class ConditionPlan:
    index: int
    expr: A.Expr
    text: str
    reads: tuple[str, ...]
    """Facts the condition reads, through definitions, in first-use order."""
    template: tuple[Piece, ...] | None
    """The drafter's `reason:` parsed once, or None (the deciding part's default reason is used)."""
    deciding: Deciding
    listed: bool
    """Whether the batch `reasons` column reports this condition's failure: it has a drafter's reason, or every
    clause of the version shares it (so a failing general condition is reported once for all)."""


@dataclass(frozen=True)
class ClausePlan:
    clause: Clause
    conditions: tuple[ConditionPlan, ...]
    amount: A.Expr
    amount_text: str
    amount_reads: tuple[str, ...]
    amount_type: Ty
    cap: int | None
    rounding: Rounding
    group: str | None

    @property
    def id(self) -> str:
        return self.clause.id

    @property
    def article(self) -> int:
        return self.clause.article

    @property
    def title(self) -> str:
        return self.clause.title

    @property
    def reads(self) -> tuple[str, ...]:
        """Every fact the clause reads (conditions, then amount), in first-use order."""
        out = dict.fromkeys(f for c in self.conditions for f in c.reads)
        out.update(dict.fromkeys(self.amount_reads))
        return tuple(out)


def unknown_reason(labels: Sequence[str]) -> str:
    """The reason of an undetermined clause: the labels of the facts it still needs."""
    return ", ".join(labels) + " unknown"


# -- settlement -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupPlan:
    """An exclusive group (就高不重复): the highest award among eligible members stands, the others are excluded;
    `members` are in article order and a tie goes to the member that comes first."""

    id: str
    label: str
    members: tuple[str, ...]

    def excluded_reason(self, winner: str) -> str:
        """The reason of a member the group excluded (the batch renders it with the winner as a column)."""
        return f"excluded by {winner} ({self.id} 就高不重复)"

    def winner(self, amounts: Mapping[str, int]) -> str:
        """The member that stands among `amounts` (the eligible members' amounts): the tie rule, in one place."""
        best = max(amounts.values())
        return next(m for m in self.members if m in amounts and amounts[m] == best)


@dataclass(frozen=True)
class SettlementPlan:
    """Settlement, in its fixed order: clause caps → exclusive groups → per-applicant cap → fund proration."""

    caps: tuple[tuple[str, int], ...]
    """(clause, cap) in clause order."""
    groups: tuple[GroupPlan, ...]
    applicant_cap: int | None
    cut_order: tuple[str, ...]
    """The per-applicant cap cuts the clauses in this order (the highest article first) until the total fits."""
    annual_fund: int | None


# -- the program -----------------------------------------------------------------------------------------------


def facts_read(e: A.Expr, facts: Mapping[str, object], definitions: Mapping[str, tuple[str, ...]]
               ) -> tuple[str, ...]:
    """Facts `e` reads, directly or through the definitions it names (`definitions`: what each reads)."""
    out: dict[str, None] = {}
    for x in walk(e):
        if isinstance(x, A.Name):
            if x.id in facts:
                out.setdefault(x.id)
            elif x.id in definitions:
                out.update(dict.fromkeys(definitions[x.id]))
    return tuple(out)


@dataclass(frozen=True)
class DefinitionPlan:
    name: str
    index: int
    expr: A.Expr
    type: Ty
    reads: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Program:
    """One policy version, lowered (hashed by identity)."""

    version: PolicyVersion
    facts: Mapping[str, FactSpec]
    fact_types: Mapping[str, Ty]
    definitions: tuple[DefinitionPlan, ...]
    """In dependency order: a definition's slot comes after those of the definitions it reads."""
    definition_index: Mapping[str, int]
    tables: Mapping[str, TableDef]
    clauses: tuple[ClausePlan, ...]
    settlement: SettlementPlan
    _reads: dict[int, tuple[A.Expr, tuple[str, ...]]] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return self.version.key

    @property
    def package_id(self) -> str:
        return self.version.package_id

    def clause(self, clause_id: str) -> ClausePlan:
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise KeyError(clause_id)

    def definition(self, name: str) -> DefinitionPlan:
        return self.definitions[self.definition_index[name]]

    def reads(self, e: A.Expr) -> tuple[str, ...]:
        """Facts `e` reads, through definitions, in first-use order (memoised per node)."""
        hit = self._reads.get(id(e))
        if hit is not None and hit[0] is e:  # the memo keeps the node alive, so its id is not reused
            return hit[1]
        result = facts_read(e, self.facts, {d.name: d.reads for d in self.definitions})
        self._reads[id(e)] = (e, result)
        return result
