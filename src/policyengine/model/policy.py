"""The typed model of a policy that every consumer reads: packages, versions, clauses.

Built once by `loader.load_package`; no consumer reads YAML again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from policyengine.lang import ast as A
from policyengine.lang import printer
from policyengine.model.rulefile import FactSpec, InvariantSpec, PackageMeta, Rounding, TestCase


@dataclass(frozen=True)
class Loc:
    """Where something was written: file, line and key path."""

    file: str
    line: int | None
    path: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class ConditionDef:
    expr: A.Expr
    reason: str | None
    loc: Loc
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", printer.to_text(self.expr))


@dataclass(frozen=True)
class Clause:
    id: str
    article: int
    title: str
    text: str
    conditions: tuple[ConditionDef, ...]
    amount: A.Expr
    cap: int | None
    group: str | None
    rounding: Rounding
    notes: str
    verified: bool
    loc: Loc
    # the version this clause belongs to, set once the version is built (for `reads`)
    _version: PolicyVersion | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def reads(self) -> tuple[str, ...]:
        """The ids of the facts this clause reads (its conditions, then its amount, through the definitions they
        name), in first-use order: what an applicant must supply for the clause to be decided."""
        from policyengine.ir import program  # the IR is built on the model: imported here, not at the top

        if self._version is None:
            raise ValueError(f"clause {self.id} belongs to no loaded version")
        return program(self._version).clause(self.id).reads


@dataclass(frozen=True)
class Group:
    id: str
    members: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class TableDef:
    type: str
    values: dict[str, Fraction]


@dataclass(frozen=True, eq=False)
class PolicyVersion:
    """One version of a package, as its document publishes it (hashed by identity)."""

    meta: PackageMeta
    facts: dict[str, FactSpec]
    definitions: dict[str, A.Expr]
    tables: dict[str, TableDef]
    clauses: tuple[Clause, ...]
    groups: dict[str, Group]
    applicant_cap: int | None
    annual_fund: int | None
    rounding: Rounding
    tests: tuple[TestCase, ...]
    invariants: tuple[InvariantSpec, ...]
    content_hash: str
    source: Path
    invariant_exprs: dict[str, A.Expr] = field(default_factory=dict)
    catalogue: dict[str, FactSpec] = field(default_factory=dict, compare=False, repr=False)
    """Every fact of the shared catalogue the version's rule files name (`facts_catalog:`), read or not: a key
    naming one of these that the version does not read is accepted and ignored by `evaluate()`."""
    # facts read by each expression node (through definitions), filled on first use by the interpreter
    reads_cache: dict[int, tuple[A.Expr, tuple[str, ...]]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def package_id(self) -> str:
        return self.meta.id

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def key(self) -> str:
        return f"{self.meta.id}@{self.meta.version}"

    @property
    def unchangeable(self) -> tuple[str, ...]:
        """The facts an enterprise cannot change (`changeable: false` in the fact schema), in schema order."""
        return tuple(name for name, spec in self.facts.items() if not spec.changeable)

    def covers(self, year: int) -> bool:
        eff = self.meta.effective
        return eff.from_year <= year and (eff.to_year is None or year <= eff.to_year)

    def __post_init__(self) -> None:
        for c in self.clauses:
            if c._version is None:
                object.__setattr__(c, "_version", self)

    def clause(self, clause_id: str) -> Clause:
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise KeyError(clause_id)

    def years_text(self) -> str:
        eff = self.meta.effective
        return f"{eff.from_year}–{eff.to_year if eff.to_year is not None else ''}"


@dataclass(frozen=True, eq=False)
class Package:
    """A policy and its versions, ordered by the first application year they govern (hashed by identity)."""

    id: str
    versions: tuple[PolicyVersion, ...]
    source: Path

    def version(self, name: str) -> PolicyVersion:
        for v in self.versions:
            if v.version == name:
                return v
        known = ", ".join(v.version for v in self.versions)
        raise KeyError(f"package {self.id} has no version {name!r} (versions: {known})")

    def for_year(self, year: int) -> PolicyVersion | None:
        for v in self.versions:
            if v.covers(year):
                return v
        return None

    def describe_versions(self) -> str:
        return ", ".join(f"{v.version} ({v.years_text()})" for v in self.versions)
