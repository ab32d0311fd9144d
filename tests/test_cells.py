from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from policyengine.errors import FactError
from policyengine.facts.cells import read_value
from policyengine.facts.values import UNKNOWN
from policyengine.model.rulefile import FactSpec


def spec(type_: str, blank: str = "unknown", **kw: object) -> FactSpec:
    return FactSpec.model_validate({"name": "f", "type": type_, "label": "字段", "blank": blank, **kw})


@pytest.mark.parametrize(("raw", "expected"), [("是", True), ("否", False), ("true", True), ("FALSE", False),
                                               ("1", True), ("0", False), (True, True), (0, False)])
def test_bool_forms(raw: object, expected: bool) -> None:
    assert read_value(spec("bool"), raw) is expected


def test_rate_forms() -> None:
    assert read_value(spec("rate"), "85%") == Fraction(85, 100)
    assert read_value(spec("rate"), "0.85") == Fraction(85, 100)
    assert read_value(spec("rate"), Decimal("0.8")) == Fraction(4, 5)
    with pytest.raises(FactError, match="85% or 0.85"):
        read_value(spec("rate"), "85")
    with pytest.raises(FactError, match="exceed"):
        read_value(spec("rate"), "120%")


def test_year_and_integer_forms() -> None:
    assert read_value(spec("year"), "2020") == 2020
    assert read_value(spec("year"), "2020.0") == 2020  # as Excel writes a number cell
    assert read_value(spec("year"), "2020年") == 2020
    assert read_value(spec("integer"), "1,024") == 1024
    with pytest.raises(FactError, match="whole number"):
        read_value(spec("integer"), "2.5")
    with pytest.raises(FactError, match="year"):
        read_value(spec("year"), "20")


def test_enum_value_must_be_declared_with_suggestion() -> None:
    s = spec("enum", "none", values=["无", "首次认定", "重新认定"], none_value="无")
    assert read_value(s, " 首次认定 ") == "首次认定"
    with pytest.raises(FactError, match="did you mean 首次认定"):
        read_value(s, "首次认")


def test_blank_meanings() -> None:
    assert read_value(spec("money"), "") is UNKNOWN
    assert read_value(spec("money", "zero"), "  ") == 0
    assert read_value(spec("year", "none"), None) is None
    enum = spec("enum", "none", values=["无", "市级"], none_value="无")
    assert read_value(enum, "") == "无"


def test_floats_are_refused_for_money() -> None:
    with pytest.raises(FactError, match="floats are not accepted"):
        read_value(spec("money"), 12.5)


def test_error_names_fact_and_value() -> None:
    with pytest.raises(FactError) as info:
        read_value(spec("money"), "12.x万")
    assert "f (字段)" in str(info.value) and "12.x万" in str(info.value)


def test_negative_money_is_refused() -> None:
    with pytest.raises(FactError, match="negative"):
        read_value(spec("money"), "-5")


def test_uscc_cell() -> None:
    with pytest.raises(FactError, match="expected '3'"):
        read_value(spec("uscc"), "91350100M000100Y44")
