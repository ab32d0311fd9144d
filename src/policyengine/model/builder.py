"""Building one version: a version folder's YAML files → a validated, type-checked `PolicyVersion`.

Every error names the file, the line and the key path, in one line; errors of one stage are reported together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pydantic

from policyengine.errors import FactError, RuleError, RuleErrors, brief, did_you_mean
from policyengine.facts.cells import read_value
from policyengine.facts.money import MoneyFormatError, parse_money
from policyengine.lang import ast as A
from policyengine.lang import traverse
from policyengine.lang.limits import Size, expanded, inlined_sizes
from policyengine.lang.parser import ExprSyntaxError, parse
from policyengine.lang.types import (
    BOOL,
    FACT_TYPES,
    INT,
    MONEY,
    NUMBER,
    ExprTypeError,
    Scope,
    TableType,
    Ty,
    check,
    fact_type,
)
from policyengine.limits import MAX_FACT_VALUE_CHARS, MAX_NUMBER_DIGITS
from policyengine.model.canonical import content_hash
from policyengine.model.policy import Clause, ConditionDef, Group, Loc, PolicyVersion, TableDef
from policyengine.model.rulefile import (
    ClauseSpec,
    Condition,
    FactCatalog,
    FactSpec,
    InvariantSpec,
    PackageMeta,
    RuleFile,
    Settlement,
    TestCase,
)
from policyengine.model.yamlsource import KeyPath, YamlDocument, load_yaml, render_path

RULE_SUFFIXES = (".yaml", ".yml")
STATUSES = frozenset({"eligible", "ineligible", "undetermined", "excluded"})
_SINGLE_SECTIONS = ("package", "facts_catalog", "facts", "definitions", "tables", "settlement")
_LIST_SECTIONS = ("clauses", "tests", "invariants")


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for model in (RuleFile, FactCatalog, FactSpec, ClauseSpec, Condition, PackageMeta, Settlement, TestCase,
                  InvariantSpec):
        for fname, finfo in model.model_fields.items():
            names.add(finfo.alias or fname)
    names.update({"from", "to", "members", "rule", "label", "unit", "mode", "status", "amount", "output",
                  "increasing_in", "holding", "type", "values"})
    return names


def validate_model(doc: YamlDocument, model: type[pydantic.BaseModel], data: Any, base: KeyPath = ()) -> Any:
    """Validate `data` as `model`, turning pydantic's errors into one-line `RuleError`s with lines."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = (*base, *(p for p in err["loc"] if not _is_union_tag(p)))
            if err["type"] == "extra_forbidden":
                key = str(loc[-1])
                msg = f"unknown key {key!r}{did_you_mean(key, _all_field_names())}"
            elif err["type"] == "missing":
                msg = f"missing key {str(loc[-1])!r}"
                loc = loc[:-1]
            else:
                msg = err["msg"]
                if "input" in err and not isinstance(err["input"], dict | list):
                    msg += f" (got {brief(err['input'])})"
            errors.append(doc.error(loc, msg))
        raise RuleErrors(_unique(errors)) from None


def _is_union_tag(p: object) -> bool:
    # pydantic puts the union member's name into the location (e.g. 'str', 'Condition'); drop it
    return isinstance(p, str) and (p[:1].isupper() or p in {"str", "int", "bool", "constrained-str",
                                                            "function-after[_version_is_text(), str]"}
                                   or p.startswith(("literal[", "function-")))


def _unique(errors: list[RuleError]) -> list[RuleError]:
    seen: set[str] = set()
    out = []
    for e in errors:
        if e.render() not in seen:
            seen.add(e.render())
            out.append(e)
    return out


@dataclass
class _Located:
    doc: YamlDocument
    path: KeyPath

    def loc(self, *more: str | int) -> Loc:
        p = (*self.path, *more)
        return Loc(str(self.doc.file), self.doc.line_of(p), render_path(p))

    def error(self, message: str, *more: str | int) -> RuleError:
        return self.doc.error((*self.path, *more), message)


@dataclass
class _Merged:
    """A version's sections gathered from its files, each item with where it was written."""

    single: dict[str, tuple[Any, _Located]] = field(default_factory=dict)
    lists: dict[str, list[tuple[Any, _Located]]] = field(default_factory=dict)


def _merge(files: list[tuple[YamlDocument, RuleFile]]) -> _Merged:
    merged = _Merged()
    for doc, rf in files:
        for name in _SINGLE_SECTIONS:
            value = getattr(rf, name)
            if value is None:
                continue
            if name in merged.single:
                first = merged.single[name][1]
                raise doc.error((name,), f"section {name!r} is also in {first.doc.file.name}:"
                                         f"{first.doc.line_of((name,))}; write it once")
            merged.single[name] = (value, _Located(doc, (name,)))
        for name in _LIST_SECTIONS:
            for i, item in enumerate(getattr(rf, name) or []):
                merged.lists.setdefault(name, []).append((item, _Located(doc, (name, i))))
    return merged


class VersionBuilder:
    """Compiles one version folder into a `PolicyVersion`, collecting errors."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.errors: list[RuleError] = []
        self._sizes: dict[str, Size] = {}  # each definition's size written out (lang.limits)
        self._catalogue: dict[str, FactSpec] = {}  # the shared fact catalogue named by `facts_catalog:`, if any
        self._facts_at: Loc | None = None  # where the version's facts: list is written

    def build(self) -> PolicyVersion:
        files = sorted(p for p in self.folder.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())
        if not files:
            raise RuleError("no rule files (*.yaml) in this folder", file=self.folder)
        parsed: list[tuple[YamlDocument, RuleFile]] = []
        for f in files:
            doc = load_yaml(f)
            if doc.data is None:
                continue
            if not isinstance(doc.data, dict):
                raise doc.error((), "a rule file is a mapping of sections (package:, facts:, clauses:, ...)")
            parsed.append((doc, validate_model(doc, RuleFile, doc.data)))
        m = _merge(parsed)
        for required in ("package", "facts", "settlement"):
            if required not in m.single:
                raise RuleError(f"no {required!r} section in any rule file of this version", file=self.folder)
        if "clauses" not in m.lists:
            raise RuleError("no clauses in any rule file of this version", file=self.folder)

        meta: PackageMeta = m.single["package"][0]
        meta_at = m.single["package"][1]
        if meta.version != self.folder.name:
            self.errors.append(meta_at.error(f"version {meta.version!r} must match its folder name "
                                             f"{self.folder.name!r}", "version"))
        if meta.effective.to_year is not None and meta.effective.to_year < meta.effective.from_year:
            self.errors.append(meta_at.error("effective.to is before effective.from", "effective"))

        facts = self._facts(m)
        definitions, def_types = self._definitions(m, facts)
        tables, table_types = self._tables(m)
        scope = Scope({**{n: fact_type(s) for n, s in facts.items()}, **def_types}, table_types)
        settlement: Settlement = m.single["settlement"][0]
        set_at = m.single["settlement"][1]
        clauses = self._clauses(m, scope, settlement)
        groups = self._groups(settlement, set_at, clauses)
        applicant_cap = self._money(settlement.applicant_cap, set_at, "applicant_cap")
        annual_fund = self._money(settlement.annual_fund, set_at, "annual_fund")
        tests = self._tests(m, facts, clauses)
        invariants, inv_exprs = self._invariants(m, scope, clauses, facts)
        if self.errors:
            raise RuleErrors(_unique(self.errors))
        version = PolicyVersion(
            meta=meta, facts=facts, definitions=definitions, tables=tables, clauses=clauses, groups=groups,
            applicant_cap=applicant_cap, annual_fund=annual_fund, rounding=settlement.rounding, tests=tests,
            invariants=invariants, content_hash="", source=self.folder, invariant_exprs=inv_exprs,
            catalogue=self._catalogue)
        object.__setattr__(version, "content_hash", content_hash(version))
        return version

    # -- sections ---------------------------------------------------------------------------------

    def _facts(self, m: _Merged) -> dict[str, FactSpec]:
        catalog: dict[str, FactSpec] = {}
        if "facts_catalog" in m.single:
            rel, at = m.single["facts_catalog"]
            path = (at.doc.file.parent / rel).resolve()
            if not path.is_file():
                raise at.error(f"fact catalogue {rel!r} not found (looked for {path})")
            doc = load_yaml(path)
            cat: FactCatalog = validate_model(doc, FactCatalog, doc.data)
            for i, spec in enumerate(cat.facts):
                self._check_fact(spec, _Located(doc, ("facts", i)))
                catalog[spec.name] = spec
        self._catalogue = catalog
        declared, at = m.single["facts"]
        self._facts_at = at.loc()
        out: dict[str, FactSpec] = {}
        for i, item in enumerate(declared):
            if isinstance(item, str):
                if item not in catalog:
                    hint = did_you_mean(item, catalog) if catalog else " (no facts_catalog is declared)"
                    self.errors.append(at.error(f"fact {item!r} is not in the catalogue{hint}", i))
                    continue
                spec = catalog[item]
            else:
                spec = item
                self._check_fact(spec, _Located(at.doc, (*at.path, i)))
            if spec.name in out:
                self.errors.append(at.error(f"fact {spec.name!r} is declared twice", i))
            out[spec.name] = spec
        headers: dict[str, str] = {}
        for spec in out.values():
            for h in (spec.name, spec.label, *spec.aliases):
                if headers.setdefault(h, spec.name) != spec.name:
                    self.errors.append(at.error(f"header {h!r} names both {headers[h]} and {spec.name}"))
        for needed in ("application_year",):
            if needed not in out:
                self.errors.append(at.error(f"every package reads {needed!r}; declare it"))
        return out

    def _check_fact(self, spec: FactSpec, at: _Located) -> None:
        if spec.type == "enum":
            if not spec.values:
                self.errors.append(at.error("an enum fact needs values", "values"))
            elif spec.blank == "none" and spec.none_value not in spec.values:
                self.errors.append(at.error("blank: none on an enum needs none_value, one of its values",
                                            "none_value"))
        elif spec.values is not None or spec.none_value is not None:
            self.errors.append(at.error("values and none_value are for enum facts only", "values"))
        if spec.blank == "zero" and spec.type not in ("integer", "money", "rate"):
            self.errors.append(at.error(f"blank: zero needs a numeric fact, not {spec.type}", "blank"))
        if spec.blank == "none" and spec.type not in ("year", "enum", "text"):
            self.errors.append(at.error(f"blank: none is for years, enums and text, not {spec.type}", "blank"))

    def _definitions(self, m: _Merged, facts: dict[str, FactSpec]) -> tuple[dict[str, A.Expr], dict[str, Ty]]:
        if "definitions" not in m.single:
            return {}, {}
        raw, at = m.single["definitions"]
        parsed: dict[str, A.Expr] = {}
        for name, text in raw.items():
            if name in facts:
                self.errors.append(at.error(f"definition {name!r} has the name of a fact", name))
                continue
            expr = self._parse(text, at, name)
            if expr is not None:
                parsed[name] = expr
        self._bound_definitions(parsed, at)
        types: dict[str, Ty] = {}
        fact_types = {n: fact_type(s) for n, s in facts.items()}
        visiting: list[str] = []

        def type_of(name: str) -> Ty | None:
            if name in types:
                return types[name]
            if name in visiting:
                self.errors.append(at.error("definitions refer to each other in a circle: "
                                            + " → ".join([*visiting[visiting.index(name):], name]), name))
                return None
            visiting.append(name)
            deps: dict[str, Ty] = {}
            for ref in traverse.names(parsed[name]):
                if ref in parsed:
                    t = type_of(ref)
                    if t is None:
                        visiting.pop()
                        return None
                    deps[ref] = t
            visiting.pop()
            t = self._check(parsed[name], Scope({**fact_types, **deps}, {}), at, name)
            if t is not None:
                types[name] = t
            return t

        for name in parsed:
            type_of(name)
        return parsed, types

    def _tables(self, m: _Merged) -> tuple[dict[str, TableDef], dict[str, TableType]]:
        if "tables" not in m.single:
            return {}, {}
        raw, at = m.single["tables"]
        tables: dict[str, TableDef] = {}
        types: dict[str, TableType] = {}
        for name, table in raw.items():
            values: dict[str, Fraction] = {}
            for key, v in table.values.items():
                too_long = _digits_problem(str(v))
                if too_long is not None:
                    self.errors.append(at.error(too_long, name, "values", key))
                    continue
                try:
                    values[key] = parse_money(str(v)) if table.type == "money" else Fraction(str(v))
                except (MoneyFormatError, ValueError):
                    self.errors.append(at.error(f"cannot read {v!r} as {table.type}", name, "values", key))
            tables[name] = TableDef(table.type, values)
            types[name] = TableType(frozenset(values), {"money": MONEY, "integer": INT}.get(table.type,
                                                                                            FACT_TYPES["rate"]))
        return tables, types

    def _clauses(self, m: _Merged, scope: Scope, settlement: Settlement) -> tuple[Clause, ...]:
        out: list[Clause] = []
        ids: dict[str, str] = {}
        articles: dict[int, str] = {}
        for spec, at in m.lists["clauses"]:
            assert isinstance(spec, ClauseSpec)
            if spec.id in ids:
                self.errors.append(at.error(f"clause id {spec.id!r} is used twice (first at {ids[spec.id]})", "id"))
            ids.setdefault(spec.id, str(at.loc()))
            if spec.article in articles:
                self.errors.append(at.error(f"article {spec.article} is also clause {articles[spec.article]}",
                                            "article"))
            articles.setdefault(spec.article, spec.id)
            conditions = []
            for j, cond in enumerate(spec.conditions):
                text, reason = (cond, None) if isinstance(cond, str) else (cond.test, cond.reason)
                path: tuple[str | int, ...] = ("conditions", j) if isinstance(cond, str) else ("conditions", j, "test")
                expr = self._parse(text, at, *path)
                if expr is None:
                    continue
                t = self._check(expr, scope, at, *path)
                if t is not None and t != BOOL:
                    self.errors.append(at.error(f"a condition must be true or false; this is {t}", *path))
                conditions.append(ConditionDef(expr, reason, at.loc(*path)))
            amount_text = str(spec.amount)
            amount = self._parse(amount_text, at, "amount")
            if amount is not None:
                t = self._check(amount, scope, at, "amount")
                if t is not None and t not in (MONEY, NUMBER):
                    self.errors.append(at.error(f"an amount must be money; this is {t}", "amount"))
            cap = self._money(spec.cap, at, "cap")
            if spec.group is not None and spec.group not in settlement.groups:
                self.errors.append(at.error(f"group {spec.group!r} is not declared in settlement.groups"
                                            f"{did_you_mean(spec.group, settlement.groups)}", "group"))
            rounding = settlement.rounding.model_copy(update={"unit": spec.rounding}) if spec.rounding \
                else settlement.rounding
            out.append(Clause(spec.id, spec.article, spec.title, spec.text, tuple(conditions),
                              amount or A.Num(Fraction(0)), cap, spec.group, rounding, spec.notes, spec.verified,
                              at.loc()))
        return tuple(sorted(out, key=lambda c: c.article))

    def _groups(self, settlement: Settlement, at: _Located, clauses: tuple[Clause, ...]) -> dict[str, Group]:
        ids = {c.id for c in clauses}
        groups: dict[str, Group] = {}
        member_of: dict[str, str] = {}
        for gid, g in settlement.groups.items():
            for k, member in enumerate(g.members):
                if member not in ids:
                    self.errors.append(at.error(f"group member {member!r} is not a clause{did_you_mean(member, ids)}",
                                                "groups", gid, "members", k))
                if member in member_of:
                    self.errors.append(at.error(f"{member} is already in group {member_of[member]}",
                                                "groups", gid, "members", k))
                member_of[member] = gid
            groups[gid] = Group(gid, tuple(g.members), g.label)
        for c in clauses:
            if member_of.get(c.id) != c.group and c.group is not None:
                self.errors.append(RuleError(f"clause {c.id} says group {c.group} but settlement.groups."
                                             f"{c.group}.members does not list it", file=c.loc.file,
                                             line=c.loc.line, path=c.loc.path))
        return groups

    def _tests(self, m: _Merged, facts: dict[str, FactSpec], clauses: tuple[Clause, ...]) -> tuple[TestCase, ...]:
        from policyengine.facts.applicant import FactIndex

        index = FactIndex(facts.values())
        ids = {c.id for c in clauses}
        out = []
        for case, at in m.lists.get("tests", []):
            assert isinstance(case, TestCase)
            for key, raw in case.facts.items():
                if isinstance(raw, str) and len(raw) > MAX_FACT_VALUE_CHARS:
                    self.errors.append(at.error(f"a value of {len(raw):,} characters; the limit is "
                                                f"{MAX_FACT_VALUE_CHARS:,}", "facts", key))
                    continue
                try:
                    spec = index.resolve(key)
                    read_value(spec, raw)
                except FactError as exc:
                    listed = next((n for n, f in self._catalogue.items() if key in (n, f.label, *f.aliases)), None)
                    hint = self._add_to_facts(listed) if listed is not None and listed not in facts else str(exc)
                    self.errors.append(at.error(hint, "facts", key))
            for cid in case.expect:
                if cid not in ids:
                    self.errors.append(at.error(f"no clause {cid!r}{did_you_mean(cid, ids)}", "expect", cid))
            out.append(case)
        return tuple(out)

    def _invariants(self, m: _Merged, scope: Scope, clauses: tuple[Clause, ...], facts: dict[str, FactSpec]
                    ) -> tuple[tuple[InvariantSpec, ...], dict[str, A.Expr]]:
        ids = {c.id for c in clauses}

        def attrs(obj: str, attr: str) -> Ty:
            if obj not in ids:
                raise ExprTypeError(f"no clause {obj!r}{did_you_mean(obj, ids)}")
            if attr == "amount":
                return MONEY
            if attr == "status":
                return Ty("text", STATUSES)
            raise ExprTypeError(f"{obj}.{attr}: a clause result has .amount and .status")

        applicant = Scope({**scope.names, "total": MONEY}, scope.tables, attrs)
        batch = Scope({"year_total": MONEY, "fund": MONEY}, {})
        out, exprs = [], {}
        seen: set[str] = set()
        for inv, at in m.lists.get("invariants", []):
            assert isinstance(inv, InvariantSpec)
            if inv.id in seen:
                self.errors.append(at.error(f"invariant id {inv.id!r} is used twice", "id"))
            seen.add(inv.id)
            if inv.kind == "monotonic":
                mono = inv.monotonic
                if mono is None:
                    self.errors.append(at.error("a monotonic invariant needs monotonic: {output, increasing_in}"))
                    continue
                expr = self._parse(mono.output, at, "monotonic", "output")
                if expr is not None and self._check(expr, applicant, at, "monotonic", "output") not in (MONEY, None):
                    self.errors.append(at.error("the output must be an amount", "monotonic", "output"))
                for k, fact in enumerate([mono.increasing_in, *mono.holding]):
                    if fact not in facts:
                        self.errors.append(at.error(f"unknown fact {fact!r}{did_you_mean(fact, facts)}",
                                                    "monotonic", "increasing_in" if k == 0 else "holding"))
            else:
                if inv.statement is None:
                    self.errors.append(at.error(f"a {inv.kind} invariant needs a statement"))
                    continue
                expr = self._parse(inv.statement, at, "statement")
                if expr is not None:
                    t = self._check(expr, applicant if inv.kind == "applicant" else batch, at, "statement")
                    if t not in (BOOL, None):
                        self.errors.append(at.error("an invariant must be true or false", "statement"))
            if expr is not None:
                exprs[inv.id] = expr
            out.append(inv)
        return tuple(out), exprs

    # -- helpers ----------------------------------------------------------------------------------

    def _parse(self, text: str, at: _Located, *path: str | int) -> A.Expr | None:
        try:
            return parse(text)
        except ExprSyntaxError as exc:
            self.errors.append(at.error(str(exc), *path))
            return None

    def _bound_definitions(self, parsed: dict[str, A.Expr], at: _Located) -> None:
        """Measure every definition written out (`lang.limits`); those too large stop the build here, each named
        once: a definition too large only because one it names is too large is not named again."""
        self._sizes = inlined_sizes(parsed)
        too_large = []
        for name, expr in parsed.items():
            problem = self._sizes[name].problem()
            deps = traverse.names(expr) & parsed.keys()
            if problem is not None and all(self._sizes[d].problem() is None for d in deps):
                too_large.append(at.error(problem, name))
        if too_large:
            raise RuleErrors(_unique([*self.errors, *too_large]))

    def _check(self, expr: A.Expr, scope: Scope, at: _Located, *path: str | int) -> Ty | None:
        problem = expanded(expr, self._sizes).problem()
        if problem is not None:
            self.errors.append(at.error(problem, *path))
            return None
        try:
            return check(expr, scope)
        except ExprTypeError as exc:
            self.errors.append(at.error(self._undeclared(expr, scope) or str(exc), *path))
            return None

    def _undeclared(self, expr: A.Expr, scope: Scope) -> str | None:
        """For a name the shared fact catalogue holds but this version does not list: say to list it."""
        missing = sorted(n for n in traverse.names(expr) if n not in scope.names and n in self._catalogue)
        return self._add_to_facts(missing[0]) if missing else None

    def _add_to_facts(self, name: str) -> str:
        return (f"unknown name {name!r}: the fact catalogue has it ({self._catalogue[name].label}), but this "
                f"version's facts: list does not; add {name} to facts: [...] at {self._facts_at} "
                f"(事实目录中有此事实，但本版本 facts: 列表未列出，请加入)")

    def _money(self, value: int | str | None, at: _Located, key: str) -> int | None:
        if value is None:
            return None
        too_long = _digits_problem(str(value))
        if too_long is not None:
            self.errors.append(at.error(too_long, key))
            return None
        try:
            amount = parse_money(str(value))
        except MoneyFormatError as exc:
            self.errors.append(at.error(str(exc), key))
            return None
        if amount.denominator != 1 or amount < 0:
            self.errors.append(at.error("must be a whole, non-negative number of yuan", key))
            return None
        return int(amount)


def _digits_problem(text: str) -> str | None:
    """Why a number written in a rule file (a cap, a fund, a table entry) has too many digits, or None."""
    digits = sum(c.isdigit() for c in text)
    if digits > MAX_NUMBER_DIGITS:
        return f"a number with {digits:,} digits; the limit is {MAX_NUMBER_DIGITS} digits"
    return None

