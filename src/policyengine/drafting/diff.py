"""`diff`, structurally: what changed between two versions, in the drafter's words and numbers.

Clauses are paired by article and title, not by a reused id alone: first the same article and title (whatever
the id), then the same id with the same title or text (renumbered or retitled), then the same title (moved and
given another id); a clause left unpaired is added or removed, so an id that a new version gives to another
article shows as one clause removed and another added. For a changed clause every parameter that differs is
listed old → new: id, title, text, article, conditions (a condition whose shape is unchanged but whose
numbers moved is a threshold change), amount, cap, group, rounding, verified, notes, and the tables and
definitions it reads. The package's own parameters (application years, per-applicant cap, annual fund,
groups, facts read) are listed as well. Expressions are shown with the facts' Chinese labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from policyengine.drafting.region import condition_region, same_fact, window_region
from policyengine.drafting.render import labelled
from policyengine.lang import ast as A
from policyengine.lang import printer, traverse
from policyengine.model.policy import Clause, PolicyVersion

ClauseState = Literal["added", "removed", "changed", "unchanged"]
LONG_TEXT = ("条文 text", "说明 notes")


def money_text(amount: int | None) -> str:
    """`30万`, `12345元`, or `none`: how a drafter writes a cap or a fund."""
    return "none" if amount is None else printer.literal_text(A.Money(Fraction(amount)))


@dataclass(frozen=True)
class Change:
    """One parameter, old → new, with its name in Chinese and English."""

    what: str
    old: str | None
    new: str | None
    note: str = ""

    def text(self) -> str:
        if self.old is None and self.new is None:
            return f"{self.what}: {self.note}"
        if self.old is None:
            return f"{self.what}: added {self.new}" + (f" ({self.note})" if self.note else "")
        if self.new is None:
            return f"{self.what}: removed {self.old}" + (f" ({self.note})" if self.note else "")
        return f"{self.what}: {self.old} → {self.new}" + (f" ({self.note})" if self.note else "")

    def as_json(self) -> dict[str, str | None]:
        return {"what": self.what, "old": self.old, "new": self.new, "note": self.note or None}


@dataclass
class ClauseDiff:
    id: str
    """The clause's id (`a09`), or `a09 → a17` when a paired clause was given another id."""
    state: ClauseState
    old: Clause | None
    new: Clause | None
    changes: list[Change] = field(default_factory=list)
    key: str = ""
    """Unique among the diff's clauses: the id, or `a09 (old)` / `a09 (new)` when a removed clause and an
    added one share an id."""

    @property
    def heading(self) -> str:
        c = self.new or self.old
        if c is None:  # pragma: no cover - one side always exists
            return self.id
        title = c.title
        if self.old is not None and self.new is not None and self.old.title != self.new.title:
            title = f"{self.old.title} → {self.new.title}"
        article = str(c.article)
        if self.old is not None and self.new is not None and self.old.article != self.new.article:
            article = f"{self.old.article}→{self.new.article}"
        return f"第{article}条 {self.id} {title}"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key or self.id, "state": self.state, "heading": self.heading,
                "old_id": self.old.id if self.old else None, "new_id": self.new.id if self.new else None,
                "old_title": self.old.title if self.old else None, "new_title": self.new.title if self.new else None,
                "changes": [c.as_json() for c in self.changes]}


@dataclass
class StructuralDiff:
    old: PolicyVersion
    new: PolicyVersion
    package: list[Change]
    clauses: list[ClauseDiff]

    def labels(self) -> tuple[str, str]:
        """How to name the two sides: `pkg@version`, with the folder when both have the same key."""
        if self.old.key != self.new.key:
            return self.old.key, self.new.key
        return f"{self.old.key} ({self.old.source})", f"{self.new.key} ({self.new.source})"

    def of(self, state: ClauseState) -> list[ClauseDiff]:
        return [c for c in self.clauses if c.state == state]

    def as_json(self) -> dict[str, Any]:
        return {"package": [c.as_json() for c in self.package],
                "clauses_added": [c.as_json() for c in self.of("added")],
                "clauses_removed": [c.as_json() for c in self.of("removed")],
                "clauses_changed": [c.as_json() for c in self.of("changed")],
                "clauses_unchanged": [c.id for c in self.of("unchanged")]}


# -- expressions: same shape, other numbers ------------------------------------------------------------

def _literals(e: A.Expr) -> list[A.Num | A.Money | A.Percent]:
    return [x for x in traverse.walk(e) if isinstance(x, A.Num | A.Money | A.Percent)]


def _shape(e: A.Expr) -> A.Expr:
    """`e` with every number replaced by 0 (of the same kind): two expressions of one shape differ in numbers."""

    def zero(x: A.Expr) -> A.Expr | None:
        return type(x)(Fraction(0)) if isinstance(x, A.Num | A.Money | A.Percent) else None

    return traverse.rewrite(e, zero)


def _numbers_moved(old: A.Expr, new: A.Expr) -> str:
    pairs = [f"{printer.literal_text(a)} → {printer.literal_text(b)}"
             for a, b in zip(_literals(old), _literals(new), strict=True) if a != b]
    return ", ".join(pairs)


def _conditions(old: Clause, new: Clause, ov: PolicyVersion, nv: PolicyVersion) -> list[Change]:
    olds = [c.expr for c in old.conditions]
    news = [c.expr for c in new.conditions]
    same = [e for e in olds if e in news]
    left = [e for e in olds if e not in same]
    right = [e for e in news if e not in same]
    out = []
    fits: tuple[Callable[[A.Expr, A.Expr], bool], ...] = (lambda e, n: _shape(n) == _shape(e),
                                                          lambda e, n: same_fact(e, n, ov, nv))
    for fit in fits:  # the same shape (numbers moved), then a comparison of the same fact (the operator moved)
        for e in list(left):
            match = next((n for n in right if fit(e, n)), None)
            if match is None:
                continue
            left.remove(e)
            right.remove(match)
            moved = _numbers_moved(e, match) if _shape(match) == _shape(e) else ""
            out.append(Change("门槛 threshold", labelled(e, ov), labelled(match, nv), moved))
            region = condition_region(e, match, ov, nv)
            if region is not None:
                out.append(Change("变化区域 region", None, None, region))
    out += [Change("条件 condition", labelled(e, ov), None) for e in left]
    out += [Change("条件 condition", None, labelled(e, nv)) for e in right]
    old_reasons = {c.text: c.reason for c in old.conditions}
    for c in new.conditions:
        if c.text in old_reasons and old_reasons[c.text] != c.reason:
            out.append(Change("条件说明 reason", old_reasons[c.text] or "none", c.reason or "none",
                              labelled(c.expr, nv)))
    return out


def _reads(e: A.Expr) -> tuple[set[str], set[str]]:
    """(names, tables) an expression reads directly."""
    tables = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, A.Lookup):
            tables.add(x.table)
        stack.extend(traverse.children(x))
    return traverse.names(e), tables


def _clause_reads(c: Clause) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    tables: set[str] = set()
    for e in (*(d.expr for d in c.conditions), c.amount):
        n, t = _reads(e)
        names |= n
        tables |= t
    return names, tables


def _table_changes(ov: PolicyVersion, nv: PolicyVersion) -> dict[str, list[str]]:
    """Per table present in both versions, its entries that changed (`市级 20万 → 30万`)."""
    out: dict[str, list[str]] = {}
    for name in sorted(set(ov.tables) & set(nv.tables)):
        a, b = ov.tables[name].values, nv.tables[name].values
        moved = []
        for key in [*a, *(k for k in b if k not in a)]:
            x, y = a.get(key), b.get(key)
            if x != y:
                moved.append(f"{key} {_value_text(x)} → {_value_text(y)}")
        if moved:
            out[name] = moved
    return out


def _value_text(v: Fraction | None) -> str:
    if v is None:
        return "none"
    return printer.literal_text(A.Money(v)) if v.denominator == 1 else printer.literal_text(A.Num(v))


def _clause_changes(old: Clause, new: Clause, ov: PolicyVersion, nv: PolicyVersion,
                    tables: dict[str, list[str]], definitions: set[str]) -> list[Change]:
    out = []
    if old.id != new.id:
        out.append(Change("编号 id", old.id, new.id, "the same article and title under another id"))
    if old.title != new.title:
        out.append(Change("标题 title", old.title, new.title))
    if old.article != new.article:
        out.append(Change("条号 article", str(old.article), str(new.article)))
    if old.text != new.text:
        out.append(Change("条文 text", old.text, new.text))
    out += _conditions(old, new, ov, nv)
    if old.amount != new.amount:
        note = _numbers_moved(old.amount, new.amount) if _shape(old.amount) == _shape(new.amount) else ""
        out.append(Change("金额 amount", labelled(old.amount, ov), labelled(new.amount, nv), note))
    if old.cap != new.cap:
        out.append(Change("上限 cap", money_text(old.cap), money_text(new.cap)))
    if old.group != new.group:
        out.append(Change("就高不重复 group", old.group or "none", new.group or "none"))
    if old.rounding != new.rounding:
        out.append(Change("取整 rounding", f"{old.rounding.mode} to {old.rounding.unit}",
                          f"{new.rounding.mode} to {new.rounding.unit}"))
    names, read_tables = _clause_reads(new)
    for t in sorted(read_tables & set(tables)):
        out.append(Change(f"表 table {t}", None, None, "; ".join(tables[t])))
    for d in sorted(names & definitions):
        out.append(Change(f"定义 definition {d}", labelled(ov.definitions[d], ov), labelled(nv.definitions[d], nv)))
    if old.verified != new.verified:
        out.append(Change("核实 verified", str(old.verified).lower(), str(new.verified).lower()))
    if old.notes != new.notes:
        out.append(Change("说明 notes", old.notes or "none", new.notes or "none"))
    return out


def _package_changes(ov: PolicyVersion, nv: PolicyVersion, tables: dict[str, list[str]]) -> list[Change]:
    out = []
    if ov.package_id != nv.package_id:
        out.append(Change("政策 package", ov.package_id, nv.package_id))
    for what, a, b in (("版本 version", ov.version, nv.version), ("标题 title", ov.meta.title, nv.meta.title),
                       ("文号 document number", ov.meta.document_number, nv.meta.document_number),
                       ("适用年度 application years", ov.years_text(), nv.years_text())):
        if a != b:
            out.append(Change(what, a, b))
    window = window_region(ov, nv)
    if window is not None:
        out.append(Change("变化区域 region", None, None, window))
    if ov.applicant_cap != nv.applicant_cap:
        out.append(Change("单户上限 per-applicant cap", money_text(ov.applicant_cap), money_text(nv.applicant_cap)))
    if ov.annual_fund != nv.annual_fund:
        out.append(Change("年度资金 annual fund", money_text(ov.annual_fund), money_text(nv.annual_fund)))
    for gid in sorted(set(ov.groups) | set(nv.groups)):
        was = ", ".join(ov.groups[gid].members) if gid in ov.groups else None
        now = ", ".join(nv.groups[gid].members) if gid in nv.groups else None
        if was != now:
            out.append(Change(f"就高不重复 group {gid}", was, now))
    for name, moved in tables.items():
        out.append(Change(f"表 table {name}", None, None, "; ".join(moved)))
    for name in sorted(set(ov.tables) ^ set(nv.tables)):
        out.append(Change(f"表 table {name}", name if name in ov.tables else None,
                          name if name in nv.tables else None))
    for name in sorted(set(ov.definitions) | set(nv.definitions)):
        a_def, b_def = ov.definitions.get(name), nv.definitions.get(name)
        if a_def != b_def:
            out.append(Change(f"定义 definition {name}", labelled(a_def, ov) if a_def is not None else None,
                              labelled(b_def, nv) if b_def is not None else None))
    added = [f"{nv.facts[n].label} ({n})" for n in nv.facts if n not in ov.facts]
    removed = [f"{ov.facts[n].label} ({n})" for n in ov.facts if n not in nv.facts]
    if added:
        out.append(Change("事实 facts read", None, ", ".join(added)))
    if removed:
        out.append(Change("事实 facts read", ", ".join(removed), None))
    if ov.meta.verified != nv.meta.verified:
        out.append(Change("核实 verified", str(ov.meta.verified).lower(), str(nv.meta.verified).lower()))
    return out


def structural_diff(old: PolicyVersion, new: PolicyVersion) -> StructuralDiff:
    """Clauses added, removed and changed, and the package's parameters that changed."""
    tables = _table_changes(old, new)
    definitions = {n for n in set(old.definitions) & set(new.definitions)
                   if old.definitions[n] != new.definitions[n]}
    pairs, removed, added = pair_clauses(old, new)
    clauses = []
    for a, b in pairs:
        changes = _clause_changes(a, b, old, new, tables, definitions)
        cid = a.id if a.id == b.id else f"{a.id} → {b.id}"
        clauses.append(ClauseDiff(cid, "changed" if changes else "unchanged", a, b, changes, cid))
    shared = {c.id for c in removed} & {c.id for c in added}
    clauses += [ClauseDiff(c.id, "removed", c, None, key=f"{c.id} (old)" if c.id in shared else c.id)
                for c in removed]
    clauses += [ClauseDiff(c.id, "added", None, c, key=f"{c.id} (new)" if c.id in shared else c.id) for c in added]
    clauses.sort(key=lambda d: (d.new.article if d.new else d.old.article if d.old else 0, d.new is not None, d.id))
    return StructuralDiff(old, new, _package_changes(old, new, tables), clauses)


def pair_clauses(old: PolicyVersion, new: PolicyVersion
                 ) -> tuple[list[tuple[Clause, Clause]], list[Clause], list[Clause]]:
    """(paired old → new, removed, added), in the old version's order: the same article and title; then the
    same id with the same title or text; then the same title."""
    left, right = list(old.clauses), list(new.clauses)
    pairs: list[tuple[Clause, Clause]] = []
    tests: tuple[Callable[[Clause, Clause], bool], ...] = (
        lambda a, b: a.article == b.article and a.title == b.title,
        lambda a, b: a.id == b.id and (a.title == b.title or a.text == b.text),
        lambda a, b: a.title == b.title)
    for same in tests:
        for a in list(left):
            fits = [b for b in right if same(a, b)]
            b = next((b for b in fits if b.id == a.id), fits[0] if fits else None)  # the same id first
            if b is not None:
                pairs.append((a, b))
                left.remove(a)
                right.remove(b)
    order = {c.id: i for i, c in enumerate(old.clauses)}
    pairs.sort(key=lambda p: order[p[0].id])
    return pairs, left, right


def _clause_summary(c: Clause, v: PolicyVersion) -> list[str]:
    conds = " and ".join(labelled(d.expr, v) for d in c.conditions) or "always"
    out = [f"conditions 条件: {conds}", f"amount 金额: {labelled(c.amount, v)}"]
    if c.cap is not None:
        out.append(f"cap 上限: {money_text(c.cap)}")
    if c.group is not None:
        out.append(f"group 就高不重复: {c.group}")
    return out


def structural_lines(d: StructuralDiff) -> list[str]:
    """The structural diff as text: package parameters, then clauses added, removed and changed."""
    old_label, new_label = d.labels()
    out = [f"{old_label} → {new_label}"]
    for c in d.package:
        out.append(f"  {c.text()}")
    marks: tuple[tuple[ClauseState, str], ...] = (("added", "+"), ("removed", "-"), ("changed", "~"))
    for state, mark in marks:
        items = d.of(state)
        if not items:
            continue
        out.append(f"clauses {state} ({len(items)}):")
        for cd in items:
            out.append(f"  {mark} {cd.heading}")
            if cd.state == "added" and cd.new is not None:
                out += [f"      {line}" for line in _clause_summary(cd.new, d.new)]
            elif cd.state == "removed" and cd.old is not None:
                out += [f"      {line}" for line in _clause_summary(cd.old, d.old)]
            for c in cd.changes:
                if c.what in LONG_TEXT and c.old is not None and c.new is not None:
                    out += [f"      {c.what}:", f"        old: {c.old}", f"        new: {c.new}"]
                else:
                    out.append(f"      {c.text()}")
    same = d.of("unchanged")
    if same:
        out.append(f"clauses unchanged ({len(same)}): {', '.join(c.id for c in same)}")
    return out
