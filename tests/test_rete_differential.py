"""Release blocker: over every bundled package version, the Rete backend fires a clause exactly when the
interpreter finds it eligible, and `evaluate()` gives the same decision with either backend.

Applicants are drawn from each version's fact schema: unknown and none facts, facts left out (their blank
meaning), values at and around every threshold the version writes (money ± one fen, rates on and off the
10^-9 grid, counts ± 1, years around the application year), and large money values.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("durable_rules_engine")

from policyengine import PolicyEngineError, PolicyVersion, evaluate
from policyengine.facts.applicant import Facts
from policyengine.facts.values import UNKNOWN, Value
from policyengine.lang import ast as A
from policyengine.lang import traverse
from policyengine.model.bundled import load_bundled
from policyengine.model.rulefile import FactSpec

VERSIONS = [v for p in load_bundled() for v in p.versions]
FEN = Fraction(1, 100)


Literals = tuple[set[Fraction], set[Fraction], set[Fraction], dict[str, set[str]], dict[str, bool]]
_LITERALS: dict[str, Literals] = {}


def _literals(version: PolicyVersion) -> Literals:
    """Money, rate and plain-number literals written anywhere in the version (thresholds), and the texts and
    booleans each fact is compared with."""
    if version.content_hash in _LITERALS:
        return _LITERALS[version.content_hash]
    money: set[Fraction] = {v for t in version.tables.values() for v in t.values.values()}
    rates: set[Fraction] = set()
    numbers: set[Fraction] = set()
    texts: dict[str, set[str]] = {}
    bools: dict[str, bool] = {}
    exprs = [*version.definitions.values(), *(c.amount for c in version.clauses),
             *(d.expr for c in version.clauses for d in c.conditions)]
    while exprs:
        e = exprs.pop()
        if isinstance(e, A.Money):
            money.add(e.value)
        elif isinstance(e, A.Percent):
            rates.add(e.value)
        elif isinstance(e, A.Num):
            numbers.add(e.value)
        elif isinstance(e, A.Compare) and {type(e.left), type(e.right)} == {A.Name, A.Str}:
            name, text = (e.left, e.right) if isinstance(e.left, A.Name) else (e.right, e.left)
            assert isinstance(name, A.Name) and isinstance(text, A.Str)
            texts.setdefault(name.id, set()).add(text.value)
        elif isinstance(e, A.Compare) and {type(e.left), type(e.right)} == {A.Name, A.Bool}:
            name, flag = (e.left, e.right) if isinstance(e.left, A.Name) else (e.right, e.left)
            assert isinstance(name, A.Name) and isinstance(flag, A.Bool)
            bools[name.id] = flag.value
        exprs.extend(traverse.children(e))
    _LITERALS[version.content_hash] = money, rates, numbers, texts, bools
    return money, rates, numbers, texts, bools


_STRATEGIES: dict[tuple[str, str, int, bool], st.SearchStrategy[Value]] = {}


def _values(spec: FactSpec, version: PolicyVersion, year: int, friendly: bool) -> st.SearchStrategy[Value]:
    key = (version.content_hash, spec.name, year if spec.type == "year" else 0, friendly)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _build(spec, version, year, friendly)
    return _STRATEGIES[key]


def _build(spec: FactSpec, version: PolicyVersion, year: int, friendly: bool) -> st.SearchStrategy[Value]:
    """Values for one fact; `friendly` ones mostly meet the conditions the version writes."""
    money, rates, numbers, texts, bools = _literals(version)
    if spec.type == "money":
        near = sorted({t + d for t in money | {Fraction(0)} for d in (-FEN, Fraction(0), FEN) if t + d >= 0})
        large = [Fraction(10**10), Fraction(10**10) + FEN, Fraction(10**10) - FEN, Fraction(10**14), Fraction(10**12)]
        return st.sampled_from(near) | st.integers(0, 10**9).map(lambda fen: Fraction(fen, 100)) \
            | st.sampled_from(large)
    if spec.type == "rate":
        steps = (Fraction(0), Fraction(1, 10**9), Fraction(-1, 10**9), Fraction(1, 10**12), Fraction(-1, 10**12))
        near = sorted({min(max(t + d, Fraction(0)), Fraction(1)) for t in rates | {Fraction(0), Fraction(1)}
                       for d in steps})
        return st.sampled_from(near) | st.integers(0, 10**12).map(lambda n: Fraction(n, 10**12))
    if spec.type == "integer":
        near = sorted({max(t + d, Fraction(0)) for t in numbers for d in (-1, 0, 1) if t.denominator == 1})
        return st.sampled_from(near or [Fraction(0)]) | st.integers(0, 30).map(Fraction)
    if spec.type == "year":
        years = [year - 1] * (6 if friendly else 1) + list(range(year - 5, year + 3))
        return st.sampled_from([Fraction(y) for y in years])
    if spec.type == "bool":
        wanted = bools.get(spec.name, False)
        return st.sampled_from([wanted] * (6 if friendly else 1) + [not wanted])
    if spec.type == "enum":
        return st.sampled_from(spec.values or [])
    compared = sorted(texts.get(spec.name, set()))
    if friendly and compared:
        return st.sampled_from(compared)
    return st.sampled_from(compared * 3 + ["和平区", "1", "true"])


@st.composite
def applicants(draw: st.DrawFn, version: PolicyVersion) -> Facts:
    eff = version.meta.effective
    year = draw(st.integers(eff.from_year, eff.to_year if eff.to_year is not None else eff.from_year + 2))
    values: dict[str, Value] = {"application_year": draw(st.sampled_from([Fraction(year)] * 9 + [UNKNOWN]))}
    friendly = draw(st.booleans())
    modes = ["value"] * (40 if friendly else 6) + ["unknown", "none", "left out"]
    for name, spec in version.facts.items():
        if name in ("application_year", "uscc", "name"):
            continue
        choice = draw(st.sampled_from(modes))
        if choice == "value":
            values[name] = draw(_values(spec, version, year, friendly))
        elif choice == "unknown":
            values[name] = UNKNOWN
        elif choice == "none" and spec.blank == "none" and spec.type != "enum":
            values[name] = None
    return Facts(values)


@pytest.mark.parametrize("version", VERSIONS, ids=[v.key for v in VERSIONS])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rete_fires_exactly_when_the_interpreter_finds_eligible(version: PolicyVersion, data: st.DataObject) -> None:
    facts = data.draw(applicants(version))
    try:
        expected = evaluate(version, facts, version=version.version, backend="interpreter")
    except PolicyEngineError as exc:       # the interpreter cannot decide: neither may the engine
        with pytest.raises(type(exc)):
            evaluate(version, facts, version=version.version, backend="rete")
        return
    got = evaluate(version, facts, version=version.version, backend="rete")   # raises on any disagreement
    assert got.outcome() == expected.outcome()
    assert got.audit.backend == "rete"
    eligible = [c.clause for c in expected.packages[0].clauses if c.status in ("eligible", "excluded")]
    assert [f.clause for f in got.audit.firings] == eligible     # excluded: eligible, lost its group
