"""`lint` beyond loading: checks that read the rules as a whole.

- unknown facts: a `{name}` in a condition's reason that names no fact or definition (error);
- unused facts, definitions and tables: declared but read by no clause or definition (warning);
  identity facts (name, uscc, application_year, and required facts) are exempt;
- clauses whose conditions can never all hold (error): interval reasoning over the comparisons of one fact
  with literals (or with the application year plus a literal), and equality of a text, enum or bool fact
  with literals, after inlining definitions;
- validity windows of the versions of one package: overlapping (error) or with a gap (warning);
- groups whose members can never both be eligible (info): the group never has to choose between them;
- clauses not yet checked against the official text, `verified: false` (info);
- amounts that facts within their ranges can push to `limits.MAX_AMOUNT_YUAN` or beyond, the end of the
  engine's integer range (error; `drafting.bounds`).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from policyengine.drafting import locate
from policyengine.drafting.analysis import YEAR_FACT, Bound, Equality, conjuncts, equality, inline, numeric_bound
from policyengine.drafting.bounds import Bounds, describe
from policyengine.drafting.render import labelled
from policyengine.errors import did_you_mean
from policyengine.ir.lower import placeholders
from policyengine.lang import ast as A
from policyengine.lang import traverse
from policyengine.limits import MAX_AMOUNT_YUAN
from policyengine.model.loader import window_problems
from policyengine.model.policy import Clause, Loc, PolicyVersion

Severity = Literal["error", "warning", "info"]
IDENTITY_FACTS = frozenset({"name", "uscc", "application_year"})
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class LintFinding:
    severity: Severity
    code: str
    message: str
    loc: Loc
    versions: tuple[str, ...] = ()
    """for a finding about the package as a whole: the versions it names"""

    def render(self) -> str:
        return f"{self.loc}: {self.severity}: {self.message} [{self.code}]"


# -- unknown and unused names -----------------------------------------------------------------------

def unknown_placeholders(version: PolicyVersion) -> list[LintFinding]:
    """`{fact}` in a condition's reason that names neither a fact nor a definition."""
    known = set(version.facts) | set(version.definitions)
    out = []
    for clause in version.clauses:
        for cond in clause.conditions:
            for name in placeholders(cond.reason or ""):
                if name not in known:
                    out.append(LintFinding("error", "unknown-fact", f"clause {clause.id}: the reason names "
                                           f"{{{name}}}, which is not a fact or definition"
                                           f"{did_you_mean(name, known)}", cond.loc))
    return out


def _names_read(version: PolicyVersion) -> set[str]:
    names: set[str] = set()
    for clause in version.clauses:
        for cond in clause.conditions:
            names |= traverse.names(cond.expr)
        names |= traverse.names(clause.amount)
    for expr in version.definitions.values():
        names |= traverse.names(expr)
    return names


def _tables_read(version: PolicyVersion) -> set[str]:
    exprs = [*version.definitions.values(), *(c.amount for c in version.clauses),
             *(d.expr for c in version.clauses for d in c.conditions)]
    return {n.table for e in exprs for n in _nodes(e) if isinstance(n, A.Lookup)}


def _nodes(e: A.Expr) -> list[A.Expr]:
    return list(traverse.walk(e))


def unused(version: PolicyVersion) -> list[LintFinding]:
    """Facts, definitions and tables that nothing reads."""
    read = _names_read(version)
    out = []
    for name, spec in version.facts.items():
        if name in read or name in IDENTITY_FACTS or spec.required or spec.type == "uscc":
            continue
        out.append(LintFinding("warning", "unused-fact", f"fact {name} ({spec.label}) is declared but no clause "
                               "or definition reads it", locate.fact_entry(version, name)))
    for name in version.definitions:
        if name not in read:
            out.append(LintFinding("warning", "unused-definition", f"definition {name} is not used by any clause",
                                   locate.key(version, "definitions", name)))
    tables = _tables_read(version)
    for name in version.tables:
        if name not in tables:
            out.append(LintFinding("warning", "unused-table", f"table {name} is not used by any clause",
                                   locate.key(version, "tables", name)))
    return out


# -- conditions that can never all hold ---------------------------------------------------------------

@dataclass
class _Range:
    """What the comparisons say about one number: bounds, required values, excluded values."""

    integer: bool
    lo: Fraction | None = None
    lo_strict: bool = False
    hi: Fraction | None = None
    hi_strict: bool = False
    eq: set[Fraction] = field(default_factory=set)
    ne: set[Fraction] = field(default_factory=set)

    def add(self, op: str, v: Fraction) -> None:
        if op == "==":
            self.eq.add(v)
        elif op == "!=":
            self.ne.add(v)
        elif op in (">", ">="):
            strict = op == ">"
            if self.lo is None or v > self.lo or (v == self.lo and strict):
                self.lo, self.lo_strict = v, strict
        elif self.hi is None or v < self.hi or (v == self.hi and op == "<"):
            self.hi, self.hi_strict = v, op == "<"

    def _whole(self) -> tuple[Fraction | None, Fraction | None]:
        lo, hi = self.lo, self.hi
        if lo is not None:
            lo = Fraction(math.floor(lo) + 1) if self.lo_strict and lo.denominator == 1 else Fraction(math.ceil(lo))
        if hi is not None:
            hi = Fraction(math.ceil(hi) - 1) if self.hi_strict and hi.denominator == 1 else Fraction(math.floor(hi))
        return lo, hi

    def _inside(self, v: Fraction) -> bool:
        if self.integer and v.denominator != 1:
            return False
        if self.lo is not None and (v < self.lo or (v == self.lo and self.lo_strict)):
            return False
        return not (self.hi is not None and (v > self.hi or (v == self.hi and self.hi_strict)))

    def empty(self) -> bool:
        if len(self.eq) > 1:
            return True
        if self.eq:
            v = next(iter(self.eq))
            return v in self.ne or not self._inside(v)
        if self.integer:
            lo, hi = self._whole()
            if lo is not None and hi is not None:
                return lo > hi or (hi - lo < len(self.ne) + 1 and all(Fraction(x) in self.ne
                                                                       for x in range(int(lo), int(hi) + 1)))
            return False
        if self.lo is None or self.hi is None:
            return False
        if self.lo > self.hi:
            return True
        return self.lo == self.hi and (self.lo_strict or self.hi_strict or self.lo in self.ne)


def _domain(version: PolicyVersion, fact: str, relative: bool) -> _Range:
    spec = version.facts[fact]
    r = _Range(integer=spec.type in ("integer", "year"))
    if relative:
        return r
    if spec.type in ("integer", "money", "rate"):
        r.add(">=", Fraction(0))
    if spec.type == "rate":
        r.add("<=", Fraction(1))
    if fact == YEAR_FACT:
        eff = version.meta.effective
        r.add(">=", Fraction(eff.from_year))
        if eff.to_year is not None:
            r.add("<=", Fraction(eff.to_year))
    return r


@dataclass(frozen=True)
class Conflict:
    """A set of tests on one fact that no value satisfies."""

    fact: str
    parts: tuple[A.Expr, ...]


def contradiction(parts: Iterable[A.Expr], version: PolicyVersion) -> Conflict | None:
    """The first fact whose tests in the conjunction `parts` no value satisfies, or None."""
    facts = set(version.facts)
    ranges: dict[tuple[str, bool], _Range] = {}
    eqs: dict[str, list[Equality]] = defaultdict(list)
    sources: dict[object, list[A.Expr]] = defaultdict(list)
    for part in parts:
        found = numeric_bound(part, facts)
        if isinstance(found, Bound):
            key = (found.fact, found.relative)
            if key not in ranges:
                ranges[key] = _domain(version, found.fact, found.relative)
            ranges[key].add(found.op, found.value)
            sources[key].append(part)
            continue
        eq = equality(part, facts)
        if eq is not None:
            eqs[eq.fact].append(eq)
            sources[eq.fact].append(part)
    for key, r in ranges.items():
        if r.empty():
            return Conflict(key[0], tuple(sources[key]))
    for fact, tests in eqs.items():
        spec = version.facts[fact]
        allowed: set[object] | None = set(spec.values or []) if spec.type == "enum" else \
            {True, False} if spec.type == "bool" else None
        for t in tests:
            if not t.negated:
                allowed = set(t.values) if allowed is None else allowed & set(t.values)
            elif allowed is not None:
                allowed -= set(t.values)
        if allowed is not None and not allowed:
            return Conflict(fact, tuple(sources[fact]))
    return None


def _clause_parts(clause: Clause, version: PolicyVersion) -> list[tuple[A.Expr, Loc]]:
    return [(part, cond.loc) for cond in clause.conditions for part in conjuncts(inline(cond.expr, version))]


def _conflict_text(conflict: Conflict, version: PolicyVersion) -> str:
    return " and ".join(labelled(p, version) for p in conflict.parts)


def unsatisfiable(version: PolicyVersion) -> list[LintFinding]:
    """Clauses whose conditions can never all hold."""
    out = []
    for clause in version.clauses:
        parts = _clause_parts(clause, version)
        conflict = contradiction((p for p, _ in parts), version)
        if conflict is None:
            continue
        loc = next((at for p, at in parts if p in conflict.parts), clause.loc)
        out.append(LintFinding("error", "never-eligible", f"clause {clause.id} ({clause.title}) can never be "
                               f"eligible: {_conflict_text(conflict, version)} cannot all hold "
                               f"({conflict.fact})", loc))
    return out


def exclusive_groups(version: PolicyVersion) -> list[LintFinding]:
    """Group members that can never both be eligible: the group never has to choose between them."""
    out = []
    alone = {c.id: [p for p, _ in _clause_parts(c, version)] for c in version.clauses}
    reachable = {cid for cid, parts in alone.items() if contradiction(parts, version) is None}
    for group in version.groups.values():
        apart = []
        pairs = list(itertools.combinations(group.members, 2))
        for a, b in pairs:
            if a not in reachable or b not in reachable:
                continue
            conflict = contradiction([*alone[a], *alone[b]], version)
            if conflict is not None:
                apart.append(f"{a} and {b} can never both be eligible ({_conflict_text(conflict, version)})")
        if not apart:
            continue
        loc = locate.key(version, "settlement", "groups", group.id)
        whole = "; so the group never changes an award" if len(apart) == len(pairs) else ""
        out.append(LintFinding("info", "group-never-together", f"group {group.id}: " + "; ".join(apart) + whole,
                               loc))
    return out


def unverified(version: PolicyVersion) -> list[LintFinding]:
    """How many clauses are not yet checked against the official text."""
    pending = [c.id for c in version.clauses if not c.verified]
    if not pending:
        return []
    return [LintFinding("info", "unverified", f"{len(pending)} of {len(version.clauses)} clauses are verified: "
                        f"false (not yet checked against the official text): {', '.join(pending)}",
                        locate.key(version, "package"))]


def amount_ranges(version: PolicyVersion) -> list[LintFinding]:
    """Clauses whose amount (before its cap: the engine computes it first) can reach MAX_AMOUNT_YUAN or beyond
    for facts within their ranges."""
    bounds = Bounds(version)
    out = []
    for clause in version.clauses:
        interval = bounds.of(clause.amount)
        reach = interval.magnitude if interval is not None else None
        if interval is None or reach is None or reach < MAX_AMOUNT_YUAN:
            continue
        end = reach if interval.hi == reach else -reach
        out.append(LintFinding("error", "amount-range", f"clause {clause.id} ({clause.title}): the amount can "
                               f"reach {describe(end)} yuan for facts within their ranges; the engine's integer "
                               f"range ends at 2^62 ≈ {describe(Fraction(MAX_AMOUNT_YUAN))} yuan",
                               locate.clause_key(version, clause, "amount")))
    return out


def lint_version(version: PolicyVersion) -> list[LintFinding]:
    """Every check that reads one version."""
    found = [*unknown_placeholders(version), *unused(version), *unsatisfiable(version),
             *exclusive_groups(version), *unverified(version), *amount_ranges(version)]
    return sorted(found, key=lambda f: (_SEVERITY_ORDER[f.severity], f.loc.file, f.loc.line or 0))


def lint_windows(versions: Sequence[PolicyVersion]) -> list[LintFinding]:
    """Versions of one package whose application years overlap (error, with the edit that ends the earlier
    version where the later begins) or leave a gap (warning)."""
    out = []
    ids = {v.package_id for v in versions}
    if len(ids) > 1:
        out.append(LintFinding("error", "package-id", f"the versions disagree on the package id: {sorted(ids)}",
                               locate.key(versions[0], "package", "id"), tuple(v.version for v in versions)))
    for problem in window_problems(versions):
        a, b = problem.earlier, problem.later
        loc = locate.key(b, "package", "effective")
        if problem.kind == "overlap":
            message = f"{problem.message} (at {locate.key(a, 'package', 'effective')})" \
                if b.meta.effective.from_year > a.meta.effective.from_year else problem.message
            out.append(LintFinding("error", "windows-overlap", message, loc, (a.version, b.version)))
        else:
            out.append(LintFinding("warning", "windows-gap", problem.message, loc, (a.version, b.version)))
    return out
