"""Hypothesis strategies for applicants, derived from a version's fact schema and its own numbers.

An applicant is drawn as a spreadsheet row: fact name → cell text, blank cells left out. Values are
drawn so that boundaries get hit: the package's own thresholds and their neighbours (±1 yuan, ±1%,
±1, ±1 year, relative to the application year where the rule is), the amounts at which a cap starts
to bind, values equal to a fact it is compared with, large money values, fen amounts and blanks.

Random facts rarely satisfy a clause's conditions all at once (general eligibility alone needs three
facts right), so an applicant is also *aimed*: a few clauses, or all of them, are picked and each fact
they test is drawn from values that satisfy those tests (as far as `analysis` can read them). Every
strategy shrinks towards no aiming and blank cells, so a counterexample shows only the facts that matter.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar, cast

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from policyengine.drafting.analysis import (
    YEAR_FACT,
    Bound,
    Equality,
    Pair,
    clause_conjuncts,
    equality,
    facts_read,
    numeric_bound,
    version_expressions,
    walk,
)
from policyengine.engines.interpreter import referenced_facts
from policyengine.facts.cells import read_value
from policyengine.facts.money import format_decimal, format_yuan
from policyengine.facts.uscc import check_character
from policyengine.lang import ast as A
from policyengine.model.policy import Clause, PolicyVersion
from policyengine.model.rulefile import FactSpec

T = TypeVar("T")
Known = Fraction | str | bool

Row = dict[str, str]
"""One applicant: fact name → cell text (blank cells are absent)."""

ROUND_MONEY = tuple(Fraction(v) for v in (0, 1, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000))
BIG = tuple(Fraction(v) for v in (10**7, 10**8, 10**9, 10**10))
LARGE_MONEY = (10**8, 10**12)
SAMPLE_USCC = "91210105MA0DRAFT0" + check_character("91210105MA0DRAFT0")
OTHER_TEXT = "其他"
NUMERIC_FACT_TYPES = ("money", "rate", "integer", "year")
YEAR_OFFSETS = range(-10, 4)
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass
class Hints:
    """The favoured values of each fact, read from the version's conditions and amounts."""

    absolute: dict[str, set[Fraction]] = field(default_factory=lambda: defaultdict(set))
    relative: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    literals: dict[str, set[str | bool]] = field(default_factory=lambda: defaultdict(set))
    partners: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _step(spec: FactSpec) -> Fraction:
    """The neighbour distance of a fact: 1 yuan, 1 percentage point, 1 unit, 1 year."""
    return Fraction(1, 100) if spec.type == "rate" else Fraction(1)


def hints(version: PolicyVersion) -> Hints:
    """Thresholds, neighbours, cap break points, literals and compared pairs of every fact."""
    facts = set(version.facts)
    out = Hints()
    for clause, e in version_expressions(version):
        for node in walk(e):
            found = numeric_bound(node, facts)
            if isinstance(found, Bound):
                step = _step(version.facts[found.fact])
                if found.relative:
                    if found.value.denominator == 1:
                        out.relative[found.fact] |= {int(found.value) + d for d in (-1, 0, 1)}
                else:
                    out.absolute[found.fact] |= {found.value - step, found.value, found.value + step}
            elif isinstance(found, Pair):
                out.partners[found.left].add(found.right)
                out.partners[found.right].add(found.left)
            eq = equality(node, facts)
            if eq is not None:
                out.literals[eq.fact] |= eq.values
        if clause is not None:
            _break_points(e, clause.cap, version, out)
    return out


def _break_points(amount: A.Expr, cap: int | None, version: PolicyVersion, out: Hints) -> None:
    """For `k × fact` inside an amount, the fact values where k × fact reaches the cap or a min/max bound."""
    limits: set[Fraction] = {Fraction(cap)} if cap is not None else set()
    for node in walk(amount):
        if isinstance(node, A.Call) and node.func in ("min", "max"):
            limits |= {a.value for a in node.args if isinstance(a, A.Num | A.Money)}
    for node in walk(amount):
        if not (isinstance(node, A.Arith) and node.op == "*"):
            continue
        for lit, name in ((node.left, node.right), (node.right, node.left)):
            if isinstance(lit, A.Num | A.Money | A.Percent) and isinstance(name, A.Name) \
                    and name.id in version.facts and lit.value > 0:
                spec = version.facts[name.id]
                for limit in limits:
                    point = limit / lit.value
                    point = Fraction(int(point)) if spec.type == "integer" else Fraction(int(point * 100), 100)
                    out.absolute[name.id] |= {point - _step(spec), point, point + _step(spec)}


@dataclass(frozen=True)
class _Draw:
    """A slot of a weighted table that draws from a strategy instead of holding a value."""

    strategy: st.SearchStrategy[object]


def _weighted(options: Sequence[tuple[int, Sequence[T] | st.SearchStrategy[T]]]) -> st.SearchStrategy[T]:
    """Choose by weight among finite lists of values and strategies; shrinks towards the first option.

    The lists are spread over one table, so choosing a listed value is a single draw (hypothesis' cost is
    per draw, and an applicant has dozens of facts).
    """
    live = [(w, o) for w, o in options if w > 0 and (isinstance(o, st.SearchStrategy) or len(o) > 0)]
    width = max((len(o) for _, o in live if not isinstance(o, st.SearchStrategy)), default=1)
    table: list[object] = []
    for w, o in live:
        slots = w * width
        if isinstance(o, st.SearchStrategy):
            table.extend([_Draw(o)] * slots)
        else:
            table.extend(o[k * len(o) // slots] for k in range(slots))
    index = st.integers(0, len(table) - 1)

    @st.composite
    def pick(draw: DrawFn) -> T:
        slot = table[draw(index)]
        return cast(T, draw(slot.strategy) if isinstance(slot, _Draw) else slot)

    return pick()


def cell_text(spec: FactSpec, value: Known) -> str:
    """How a spreadsheet cell writes `value`: `是`, `85%`, `500000`, `1234.5`."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return value
    if spec.type == "rate":
        return format_decimal(value * 100) + "%"
    if spec.type == "money":
        return format_yuan(value)
    return str(int(value))


def _in_domain(spec: FactSpec, v: Fraction) -> bool:
    if v < 0:
        return False
    if spec.type == "rate":
        return v <= 1
    if spec.type in ("integer", "year"):
        return v.denominator == 1
    return (v * 100).denominator == 1


def _holds(op: str, a: Fraction, b: Fraction) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


@dataclass(frozen=True)
class Aim:
    """The values that satisfy one clause's tests of one fact: known values, or offsets from the year."""

    values: tuple[Known, ...] = ()
    offsets: tuple[int, ...] = ()
    relations: tuple[tuple[str, str], ...] = ()
    """(op, other fact): this fact OP the other fact, once the other one is drawn"""

    def meet(self, other: Aim) -> Aim:
        """Values both aims allow; this aim when they share none."""
        values = tuple(v for v in self.values if v in other.values) if self.values and other.values else \
            self.values or other.values
        offsets = tuple(v for v in self.offsets if v in other.offsets) if self.offsets and other.offsets else \
            self.offsets or other.offsets
        if (self.values and other.values and not values) or (self.offsets and other.offsets and not offsets):
            return self
        return Aim(values, offsets, tuple(dict.fromkeys(self.relations + other.relations)))

    def near(self, spec: FactSpec, drawn: Mapping[str, Known]) -> tuple[Fraction, ...]:
        """Values that keep this fact's relations to the facts already drawn (none if nothing applies)."""
        partners = [(op, v) for op, name in self.relations if isinstance(v := drawn.get(name), Fraction)]
        if not partners:
            return ()
        step = _step(spec)
        points = {Fraction(0), *ROUND_MONEY} if spec.type == "money" else {Fraction(0)}
        for _, v in partners:
            points |= {v - step, v, v + step, v / 2, v * 2, v + 10**6 * step}
        return tuple(sorted(q for q in points if _in_domain(spec, q) and all(_holds(op, q, v) for op, v in partners)))


def _aims(clause: Clause, version: PolicyVersion, h: Hints) -> dict[str, Aim]:
    facts = set(version.facts)
    bounds: dict[tuple[str, bool], list[Bound]] = defaultdict(list)
    equalities: dict[str, list[Equality]] = defaultdict(list)
    relations: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for part in clause_conjuncts(clause, version):
        found = numeric_bound(part, facts)
        if isinstance(found, Bound):
            bounds[(found.fact, found.relative)].append(found)
        elif isinstance(found, Pair):
            relations[found.left].append((found.op, found.right))
            relations[found.right].append((_FLIP[found.op], found.left))
        eq = equality(part, facts)
        if eq is not None:
            equalities[eq.fact].append(eq)
    out: dict[str, Aim] = {name: Aim(relations=tuple(rel)) for name, rel in relations.items()}
    for name, eqs in equalities.items():
        spec = version.facts[name]
        domain: list[Known] = list(spec.values or []) if spec.type == "enum" else \
            [False, True] if spec.type == "bool" else sorted({str(v) for e in eqs for v in e.values} | {OTHER_TEXT})
        ok = [v for v in domain if all((v in e.values) != e.negated for e in eqs)]
        if ok:
            out[name] = Aim(values=tuple(ok)).meet(out.get(name, Aim()))
    for (name, relative), bs in bounds.items():
        spec = version.facts[name]
        if name == YEAR_FACT:
            continue
        if relative:
            offsets = [d for d in sorted(set(YEAR_OFFSETS) | h.relative.get(name, set()))
                       if all(_holds(b.op, Fraction(d), b.value) for b in bs)]
            if offsets:
                out[name] = Aim(offsets=tuple(offsets)).meet(out.get(name, Aim()))
            continue
        step = _step(spec)
        points = set(h.absolute.get(name, set())) | {Fraction(0)} | (set() if spec.type == "rate" else set(BIG))
        points |= {b.value + d for b in bs for d in (-step, Fraction(0), step)}
        points |= {b.value * 10 for b in bs if spec.type != "rate"}
        ok_points = [v for v in sorted(points) if _in_domain(spec, v) and all(_holds(b.op, v, b.value) for b in bs)]
        if ok_points:
            out[name] = Aim(values=tuple(ok_points)).meet(out.get(name, Aim()))
    return out


MAX_COMBINATIONS = 256


def _combinations(clause: Clause, version: PolicyVersion, aims: Mapping[str, Aim]) -> list[dict[str, Known]]:
    """Every combination of the enum and bool facts a clause reads (as its aims allow), to draw as one.

    Drawn one by one, a combination such as 市级 with a prior award at 省级 is rare; drawn as one choice,
    each combination is as likely as any other.
    """
    names = sorted({n for e in (*(c.expr for c in clause.conditions), clause.amount)
                    for n in referenced_facts(e, version) if version.facts[n].type in ("enum", "bool")})
    domains: list[list[Known]] = []
    for n in names:
        spec = version.facts[n]
        aim = aims.get(n)
        full: list[Known] = list(spec.values or []) if spec.type == "enum" else [False, True]
        domains.append(list(aim.values) if aim is not None and aim.values else full)
    size = 1
    for d in domains:
        size *= len(d)
    if not names or size > MAX_COMBINATIONS:
        return []
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*domains)]


@dataclass
class Plan:
    """How to draw each fact of one version (built once; the strategies reuse it)."""

    version: PolicyVersion
    hints: Hints
    facts: list[FactSpec]
    years: list[int]
    aims: dict[str, dict[str, Aim]]
    aimed: st.SearchStrategy[list[str]]
    combinations: dict[str, st.SearchStrategy[dict[str, Known]]]
    combination_lists: dict[str, list[dict[str, Known]]]
    _cache: dict[tuple[object, ...], st.SearchStrategy[Known | None]] = field(default_factory=dict)

    def _partner_values(self, spec: FactSpec, drawn: Mapping[str, Known]) -> tuple[Fraction, ...]:
        return tuple(v for p in sorted(self.hints.partners.get(spec.name, set()))
                     if isinstance(v := drawn.get(p), Fraction))

    def known(self, spec: FactSpec, year: int, drawn: Mapping[str, Known]) -> st.SearchStrategy[Known]:
        """A known (non-blank) value of `spec` for an applicant of `year`."""
        partner = self._partner_values(spec, drawn)
        key = ("known", spec.name, year, partner)
        if key not in self._cache:
            self._cache[key] = self._known(spec, year, partner)
        return cast(st.SearchStrategy[Known], self._cache[key])

    def _known(self, spec: FactSpec, year: int, partner: tuple[Fraction, ...]) -> st.SearchStrategy[Known]:
        return _weighted(self._options(spec, year, partner))

    def _options(self, spec: FactSpec, year: int, partner: tuple[Fraction, ...]
                 ) -> list[tuple[int, Sequence[Known] | st.SearchStrategy[Known]]]:
        h = self.hints
        if spec.type == "bool":
            favoured: list[Known] = sorted(h.literals.get(spec.name, set()), key=str) or [False]
            return [(6, favoured), (3, [b for b in (False, True) if b not in favoured])]
        if spec.type == "enum":
            return [(1, list(spec.values or [OTHER_TEXT]))]
        if spec.type == "uscc":
            return [(1, [SAMPLE_USCC])]
        if spec.type == "text":
            return [(8, sorted(str(v) for v in h.literals.get(spec.name, set()))), (2, [OTHER_TEXT])]
        if spec.type == "year":
            return [(5, [Fraction(year + d) for d in sorted(h.relative.get(spec.name, set()))]),
                    (2, sorted(v for v in h.absolute.get(spec.name, set()) if _in_domain(spec, v))),
                    (2, [Fraction(year + d) for d in YEAR_OFFSETS])]
        near: list[Known] = sorted({q for v in partner for q in (v - _step(spec), v, v + _step(spec))
                                    if _in_domain(spec, q)})
        favoured = sorted(v for v in h.absolute.get(spec.name, set()) if _in_domain(spec, v))
        if spec.type == "rate":
            return [(5, favoured + near), (1, [Fraction(0), Fraction(1), Fraction(1, 2)]),
                    (3, [Fraction(p, 100) for p in range(101)])]
        if spec.type == "integer":
            return [(4, favoured + near), (4, [Fraction(n) for n in range(31)]),
                    (1, st.integers(0, 10**6).map(Fraction))]
        return [(4, favoured), (3, near), (2, list(ROUND_MONEY)),  # money
                (2, st.integers(0, 10**8).map(Fraction)),
                (1, st.integers(*LARGE_MONEY).map(Fraction)),
                (1, st.integers(1, 10**7).map(lambda fen: Fraction(fen, 100)))]

    def value(self, spec: FactSpec, year: int, drawn: Mapping[str, Known], aim: Aim | None = None
              ) -> st.SearchStrategy[Known | None]:
        """A cell of `spec`: blank (None) or a known value, from `aim`'s values when aimed."""
        partner = self._partner_values(spec, drawn)
        related = aim.near(spec, drawn) if aim is not None else ()
        key = ("value", spec.name, year, partner, aim, related)
        if key in self._cache:
            return self._cache[key]
        options: list[tuple[int, Sequence[Known | None] | st.SearchStrategy[Known | None]]]
        if aim is not None and (aim.values or aim.offsets or related):
            aimed = [*aim.values, *(Fraction(year + d) for d in aim.offsets)]
            if related:
                aimed = [v for v in aimed if v in related] or list(related)
            options = [(1, [None]), (9, aimed)]
        else:
            known = self._options(spec, year, partner)
            share = sum(w for w, o in known if isinstance(o, st.SearchStrategy) or o)
            blank = share // 3 if spec.type == "year" else share // 6 if spec.type in ("text", "bool") else share // 5
            options = [(max(blank, 1), [None]), *((w * 1, o) for w, o in known)]
        self._cache[key] = _weighted(options)
        return self._cache[key]

    def aim_for(self, clause_ids: Iterable[str]) -> dict[str, Aim]:
        """Per fact, the values that satisfy the chosen clauses (the first clause wins a conflict)."""
        out: dict[str, Aim] = {}
        for cid in clause_ids:
            for name, aim in self.aims.get(cid, {}).items():
                out[name] = out[name].meet(aim) if name in out else aim
        return out


def plan(version: PolicyVersion) -> Plan:
    """The drawing plan of a version: the facts its clauses read, and the application years it covers."""
    read = facts_read(version) | {YEAR_FACT}
    facts = [s for s in version.facts.values() if s.name in read and s.name != YEAR_FACT]
    eff = version.meta.effective
    last = eff.to_year if eff.to_year is not None else eff.from_year + 1
    years = list(range(eff.from_year, last + 1))
    h = hints(version)
    years += sorted({int(v) for v in h.absolute.get(YEAR_FACT, set())
                     if v.denominator == 1 and version.covers(int(v))} - set(years))
    aims = {c.id: _aims(c, version, h) for c in version.clauses}
    lists = {c.id: combos for c in version.clauses if (combos := _combinations(c, version, aims[c.id]))}
    return Plan(version, h, facts, years, aims, _aimed_clauses(version),
                {cid: st.sampled_from(combos) for cid, combos in lists.items()}, lists)


def _aimed_clauses(version: PolicyVersion) -> st.SearchStrategy[list[str]]:
    """No clause, a few clauses, or every clause (in some order), to aim an applicant at."""
    ids = [c.id for c in version.clauses]
    if not ids:
        return st.just([])
    return _weighted([
        (3, [[]]),
        (5, st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True)),
        (2, st.permutations(ids)),
    ])


@st.composite
def _applicant(draw: DrawFn, p: Plan, year: int, fixed: Mapping[str, Known] | None = None,
               aim_at: Sequence[str] = ()) -> Row:
    chosen = list(dict.fromkeys([*aim_at, *draw(p.aimed)]))
    aim = p.aim_for(chosen)
    drawn: dict[str, Known] = dict(fixed or {})
    for cid in chosen:
        if cid in p.combinations:
            for name, value in draw(p.combinations[cid]).items():
                drawn.setdefault(name, value)
    row: Row = {YEAR_FACT: str(year)}
    for name, value in drawn.items():
        row[name] = cell_text(p.version.facts[name], value)
    for spec in p.facts:
        if spec.name in drawn:
            continue
        cell = draw(p.value(spec, year, drawn, aim.get(spec.name)))
        if cell is None:
            continue
        drawn[spec.name] = cell
        row[spec.name] = cell_text(spec, cell)
    return row


def applicants(version: PolicyVersion | Plan) -> st.SearchStrategy[Row]:
    """One applicant of a year the version covers."""
    p = version if isinstance(version, Plan) else plan(version)
    return st.sampled_from(p.years).flatmap(lambda y: _applicant(p, y))


def applicant_pairs(version: PolicyVersion | Plan, fact: str, aim_at: Sequence[str] = ()
                    ) -> st.SearchStrategy[tuple[Row, Row]]:
    """Two applicants that differ only in `fact`, the second with a strictly larger value; both aimed at the
    clauses `aim_at` (those the invariant's output reads) besides whatever else is drawn."""
    p = version if isinstance(version, Plan) else plan(version)
    spec = p.version.facts[fact]
    if spec.type not in NUMERIC_FACT_TYPES:
        raise ValueError(f"{fact} is {spec.type}; a monotonic invariant needs a numeric fact")

    @st.composite
    def pair(draw: DrawFn) -> tuple[Row, Row]:
        year = draw(st.sampled_from(p.years))
        a, b = draw(p.known(spec, year, {})), draw(p.known(spec, year, {}))
        low, high = sorted(cast(tuple[Fraction, Fraction], (a, b)))
        if low == high:
            high = low + _step(spec)
        row = draw(_applicant(p, year, {fact: low}, aim_at))
        return row, {**row, fact: cell_text(spec, high)}

    return pair()


def populations(version: PolicyVersion | Plan, *, max_distinct: int = 4, max_copies: int = 25
                ) -> st.SearchStrategy[list[tuple[Row, int]]]:
    """A population of one application year: a few distinct applicants, each some number of times."""
    p = version if isinstance(version, Plan) else plan(version)

    def of_year(year: int) -> st.SearchStrategy[list[tuple[Row, int]]]:
        member = st.tuples(_applicant(p, year), st.integers(1, max_copies))
        return st.lists(member, min_size=1, max_size=max_distinct)

    return st.sampled_from(p.years).flatmap(of_year)


# -- the sweep: deterministic applicants at every clause's corners ---------------------------------

def _sweep_row(p: Plan, year: int, ids: Sequence[str], combos: Mapping[str, Known], high: bool,
               fixed: Mapping[str, Known] | None = None) -> Row:
    """An applicant aimed at `ids`: their enum combination, each aimed number at its lowest or highest
    satisfying value, every other fact blank."""
    aim = p.aim_for(ids)
    drawn: dict[str, Known] = {**(fixed or {})}
    for name, value in combos.items():
        drawn.setdefault(name, value)
    for spec in p.facts:
        a = aim.get(spec.name)
        if spec.name in drawn or a is None:
            continue
        values: list[Known] = [*a.values, *(Fraction(year + d) for d in a.offsets)]
        related = a.near(spec, drawn)
        if related:
            values = [v for v in values if v in related] or list(related)
        if not values:
            continue
        numbers = [v for v in values if isinstance(v, Fraction)]
        drawn[spec.name] = (max(numbers) if high else min(numbers)) if len(numbers) == len(values) else values[0]
    row: Row = {YEAR_FACT: str(year)}
    for spec in p.facts:
        if spec.name in drawn:
            row[spec.name] = cell_text(spec, drawn[spec.name])
    for name in drawn:
        if name not in row:
            row[name] = cell_text(p.version.facts[name], drawn[name])
    return row


def _aim_sets(p: Plan) -> list[list[str]]:
    """Each clause alone, each group's members two by two, and every clause at once (in both orders)."""
    ids = [c.id for c in p.version.clauses]
    sets = [[c] for c in ids]
    for group in p.version.groups.values():
        sets += [[a, b] for a, b in itertools.permutations(group.members, 2)]
    return [*sets, ids, ids[::-1]] if len(ids) > 1 else sets


def _combo_choices(p: Plan, ids: Sequence[str]) -> list[dict[str, Known]]:
    """For one clause, all its enum combinations; for several, as many mixes as the largest has (≤ 12)."""
    lists = [p.combination_lists.get(c, [{}]) for c in ids]
    if len(ids) == 1:
        return lists[0]
    n = min(max(len(x) for x in lists), 12)
    out = []
    for i in range(n):
        mix: dict[str, Known] = {}
        for x in lists:
            for name, value in x[i % len(x)].items():
                mix.setdefault(name, value)
        out.append(mix)
    return out


def sweep(p: Plan, fixed: Mapping[str, Known] | None = None, only: Sequence[str] | None = None) -> list[Row]:
    """Deterministic applicants at the corners of every clause: aimed at each clause alone (every enum
    combination), at each group's members together and at all clauses at once, with each aimed number at its
    lowest and at its highest satisfying value, in the first application year the version covers. `only`
    limits the sweep to those clauses; `fixed` sets facts."""
    year = p.years[0]
    sets = [[c] for c in only] if only is not None else _aim_sets(p)
    out: list[Row] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for ids in sets:
        for combos in _combo_choices(p, ids):
            for high in (False, True):
                row = _sweep_row(p, year, ids, combos, high, fixed)
                key = tuple(sorted(row.items()))
                if key not in seen:
                    seen.add(key)
                    out.append(row)
    return out


def ladder(p: Plan, fact: str, clauses: Sequence[str] = ()) -> list[Fraction]:
    """The values of a numeric fact to step through in order: its thresholds and neighbours, the values the
    clauses aim at, 0 and large values."""
    spec = p.version.facts[fact]
    points = set(p.hints.absolute.get(fact, set())) | {Fraction(0)}
    if spec.type != "rate":
        points |= set(BIG)
    for cid in clauses:
        a = p.aims.get(cid, {}).get(fact)
        if a is not None:
            points |= {v for v in a.values if isinstance(v, Fraction)}
    return sorted(v for v in points if _in_domain(spec, v))


def around(p: Plan, row: Row, keep: Sequence[str] = (YEAR_FACT,)) -> st.SearchStrategy[Row]:
    """Rows made from `row` by blanking facts or making numbers smaller: what hypothesis shrinks a
    counterexample found by the sweep through. `keep` facts stay as they are."""
    parts: list[tuple[str, st.SearchStrategy[str | None]]] = []
    for name, cell in row.items():
        if name in keep:
            continue
        spec = p.version.facts[name]
        simpler: list[str | None] = []
        if spec.type in ("money", "integer", "rate"):
            value = read_value(spec, cell)
            if isinstance(value, Fraction):
                smaller = [v for v in ladder(p, name) if v < value]
                simpler = [cell_text(spec, v) for v in smaller[:6]]
        parts.append((name, _weighted([(1, [None]), (2, simpler), (12, [cell])])))

    @st.composite
    def shrunk(draw: DrawFn) -> Row:
        out = {k: row[k] for k in keep if k in row}
        for name, part in parts:
            cell = draw(part)
            if cell is not None:
                out[name] = cell
        return out

    return shrunk()
