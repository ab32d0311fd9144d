"""The Rete backend reproduces the interpreter's three-valued meaning for every construct of the language,
not only the ones the bundled packages use: membership, if/then/else, count, min/max, not/or over unknown
and none, text compared with text, lookups, arithmetic with constants, rates off the 10^-9 grid."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("durable_rules_engine")

from policyengine import PolicyVersion
from policyengine.engines.base import available_backends, default_backend, get_backend
from policyengine.engines.rete import ReteCompileError, ReteUnsupportedValue, compile_version
from policyengine.facts.applicant import Facts
from policyengine.facts.values import UNKNOWN, Value

from .rete_support import both, build_version, status

FACTS = [
    {"name": "y", "type": "year", "blank": "none"},
    {"name": "z", "type": "year", "blank": "none"},
    {"name": "t", "type": "text", "blank": "none"},
    {"name": "u", "type": "text", "blank": "unknown"},
    {"name": "k", "type": "enum", "values": ["无", "市级", "省级"], "blank": "none", "none_value": "无"},
    {"name": "j", "type": "enum", "values": ["无", "市级"], "blank": "unknown"},
    {"name": "b", "type": "bool", "blank": "unknown"},
    {"name": "m1", "type": "money", "blank": "unknown"},
    {"name": "m2", "type": "money", "blank": "zero"},
    {"name": "r", "type": "rate", "blank": "unknown"},
    {"name": "r2", "type": "rate", "blank": "zero"},
    {"name": "n", "type": "integer", "blank": "zero"},
]
CLAUSES = [
    {"id": "in_text", "conditions": ['t in ["甲", "乙"]']},
    {"id": "not_in_text", "conditions": ['t not in ["甲"]']},
    {"id": "in_year", "conditions": ["y in [2019, application_year - 1]"]},
    {"id": "not_in_year", "conditions": ["y not in [2019, application_year - 1]"]},
    {"id": "frac_ge", "conditions": ["n * 3 >= 10"]},
    {"id": "frac_lt", "conditions": ["n * 3 < 10"]},
    {"id": "frac_eq", "conditions": ["n * 3 == 10", "n / 3 != 2"]},
    {"id": "if_value", "conditions": ["(if b then m1 else m2) >= 10万"]},
    {"id": "if_agree", "conditions": ["(if y >= 2019 then 1 else 1) == 1"]},
    {"id": "count", "conditions": ["count(b, y >= 2019, m1 > m2) >= 2"]},
    {"id": "min", "conditions": ["min(m1, m2 * 2) > 5万"]},
    {"id": "max", "conditions": ["max(m1, m2) <= 100万"]},
    {"id": "not_or", "conditions": ["not (b or y == z)"]},
    {"id": "and_or", "conditions": ['(t == "甲" or u == "乙") and not b']},
    {"id": "text_eq", "conditions": ["t == u"]},
    {"id": "text_ne", "conditions": ["t != u"]},
    {"id": "lookup", "conditions": ["L[k] - L[j] >= 10万"]},
    {"id": "neg", "conditions": ["-m1 < -5万"]},
    {"id": "div", "conditions": ["m1 / 4 >= m2"]},
    {"id": "arith", "conditions": ["m1 - m2 * 3 + 1万 > n * 1000元"]},
    {"id": "years", "conditions": ["y - z >= 2"]},
    {"id": "rates", "conditions": ["r >= r2 + 10%"]},
    {"id": "amount_if", "conditions": ["n >= 0"], "amount": "if b then m1 else 1万"},
    {"id": "amount_min", "conditions": [], "amount": "min(m1, 5万)"},
    {"id": "amount_lookup", "conditions": [], "amount": "L[k]"},
    {"id": "defs", "conditions": ["OK", "not OK or b"]},
]
DEFINITIONS = {"OK": 'u == "乙" and m2 >= 1万'}
TABLES = {"L": {"values": {"无": 0, "市级": "10万", "省级": "30万"}}}


@pytest.fixture(scope="module")
def general(tmp_path_factory: pytest.TempPathFactory) -> PolicyVersion:
    return build_version(tmp_path_factory.mktemp("general"), CLAUSES, FACTS, DEFINITIONS, TABLES)


def _fact(spec: dict[str, object], values: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    options: list[st.SearchStrategy[Value]] = [st.just(UNKNOWN), values, values]
    if spec["blank"] == "none" and spec["type"] != "enum":
        options.append(st.just(None))
    return st.one_of(options)


_MONEY = st.sampled_from([Fraction(v) for v in ("0", "1", "10000", "50000", "50000.01", "100000", "10000000000")]) \
    | st.integers(0, 2_000_000).map(lambda fen: Fraction(fen, 100))
_RATE = st.sampled_from([Fraction(0), Fraction(1, 10), Fraction(7, 10), Fraction(8, 10), Fraction(1)]) \
    | st.integers(0, 1000).map(lambda p: Fraction(p, 1000))
_DOMAINS: dict[str, st.SearchStrategy[Value]] = {
    "y": st.integers(2016, 2022).map(Fraction), "z": st.integers(2016, 2022).map(Fraction),
    "t": st.sampled_from(["甲", "乙", "丙"]), "u": st.sampled_from(["甲", "乙", "丙"]),
    "k": st.sampled_from(["无", "市级", "省级"]), "j": st.sampled_from(["无", "市级"]), "b": st.booleans(),
    "m1": _MONEY, "m2": _MONEY, "r": _RATE, "r2": _RATE,
    "n": st.integers(0, 12).map(Fraction) | st.integers(0, 200).map(Fraction),
}
APPLICANTS = st.fixed_dictionaries({
    "application_year": st.just(Fraction(2021)) | st.just(UNKNOWN),
    **{spec["name"]: _fact(spec, _DOMAINS[str(spec["name"])]) for spec in FACTS},
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(APPLICANTS, st.data())
def test_every_construct_matches_the_interpreter(general: PolicyVersion, values: dict[str, Value],
                                                 data: st.DataObject) -> None:
    left_out = data.draw(st.sets(st.sampled_from(sorted(values))))   # absent: the fact's blank meaning
    both(general, Facts({k: v for k, v in values.items() if k not in left_out}))


@pytest.mark.parametrize(("values", "expected"), [
    ({"y": UNKNOWN}, "eligible"),     # unknown condition, both branches 1: the value is known
    ({"y": None}, "eligible"),        # none >= 2019 is false: the else branch
    ({"y": Fraction(2020)}, "eligible"),
])
def test_if_with_agreeing_branches(general: PolicyVersion, values: dict[str, Value], expected: str) -> None:
    rete, _ = both(general, Facts({"application_year": Fraction(2021), **values}))
    assert status(rete, "if_agree") == expected


def test_amounts_that_need_an_unknown_fact_are_undetermined(general: PolicyVersion) -> None:
    rete, _ = both(general, Facts({"application_year": Fraction(2021), "b": True}))
    assert status(rete, "amount_if") == "undetermined" and status(rete, "amount_min") == "undetermined"
    rete, _ = both(general, Facts({"application_year": Fraction(2021), "b": False, "m1": Fraction(3)}))
    assert status(rete, "amount_if") == "eligible" and status(rete, "amount_min") == "eligible"


OFF_GRID = Fraction(1, 10**12)


@pytest.mark.parametrize("rate", [Fraction(8, 10), Fraction(8, 10) + OFF_GRID, Fraction(8, 10) - OFF_GRID,
                                  Fraction(3, 4), Fraction(3, 4) + OFF_GRID, Fraction(3, 4) - OFF_GRID,
                                  Fraction(7, 10) - OFF_GRID, Fraction(123456789123, 10**12), Fraction(0)])
def test_rates_off_the_grid_compare_exactly_with_thresholds(tmp_path: Path, rate: Fraction) -> None:
    version = build_version(tmp_path, [{"id": "ge", "conditions": ["r >= 80%"]},
                                       {"id": "lt", "conditions": ["r < 70%"]},
                                       {"id": "eq", "conditions": ["r == 75%"]},
                                       {"id": "ne", "conditions": ["r != 75%"]},
                                       {"id": "le", "conditions": ["2 * r <= 150%"]}],
                            [{"name": "r", "type": "rate", "blank": "unknown"}])
    assert compile_version(version).interval_rates == {"r"}
    both(version, Facts({"application_year": Fraction(2021), "r": rate}))


def test_a_rate_off_the_grid_compared_with_another_fact_is_refused(tmp_path: Path) -> None:
    version = build_version(tmp_path, [{"id": "gt", "conditions": ["r > r2"]}],
                            [{"name": "r", "type": "rate", "blank": "unknown"},
                             {"name": "r2", "type": "rate", "blank": "zero"}])
    assert compile_version(version).interval_rates == frozenset()
    both(version, Facts({"application_year": Fraction(2021), "r": Fraction(8, 10), "r2": Fraction(7, 10)}))
    with pytest.raises(ReteUnsupportedValue, match="finer than 10\\^-9"):
        both(version, Facts({"application_year": Fraction(2021), "r": Fraction(8, 10) + OFF_GRID}))


@pytest.mark.parametrize(("condition", "message"), [
    ("m1 * r > 1元", "product of two facts"),
    ("m1 / n > 1元", "division by a fact"),
    ("m1 * 1000 > m2", "overflow"),
])
def test_what_cannot_be_tested_exactly_is_refused_when_compiling(tmp_path: Path, condition: str, message: str) -> None:
    clauses = [{"id": "ok", "conditions": ["n >= 1"]}, {"id": "bad", "conditions": [condition]}]
    version = build_version(tmp_path, clauses, FACTS)
    with pytest.raises(ReteCompileError, match=f"bad \\(article 2\\).*{message}"):
        compile_version(version)


def test_rete_is_the_default_where_durable_rules_imports() -> None:
    assert available_backends() == ["interpreter", "rete"]
    assert default_backend().name == "rete" and get_backend("rete").name == "rete"
    assert get_backend(None) is default_backend() and default_backend() is not get_backend("rete")


AWKWARD_TEXTS = ['a"b', "a\\b", "\\", "x\ny", "\u0000", "e\u0301", "é", "甲", "甲 ", "", "😀",
                 "true", "1", "1.0", "null"]


def test_texts_compare_exactly_whatever_they_hold(tmp_path: Path) -> None:
    """Quotes, backslashes, control characters, combining marks, numbers and JSON words as text: the engine
    compares the serialised bytes, so equal texts must serialise alike and unequal ones differently."""
    version = build_version(tmp_path, [{"id": "eq", "conditions": ["t == u"]}, {"id": "ne", "conditions": ["t != u"]},
                                       {"id": "lit", "conditions": ['t == "甲"']}],
                            [{"name": "t", "type": "text", "blank": "unknown"},
                             {"name": "u", "type": "text", "blank": "unknown"}])
    for a in AWKWARD_TEXTS:
        for b in AWKWARD_TEXTS:
            rete, _ = both(version, Facts({"application_year": Fraction(2021), "t": a, "u": b}))
            assert status(rete, "eq") == ("eligible" if a == b else "ineligible")
