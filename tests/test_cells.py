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


@pytest.mark.parametrize(("type_", "raw", "reason", "reason_zh", "kw"), [
    ("money", "12.x万", "cannot read '12.x万' as money (write 1234567, 1,234,567.00, 123.4567万 or 85万元)",
     "无法识别为金额：'12.x万'（可写作 1234567、1,234,567.00、123.4567万 或 85万元）", {}),
    ("money", "-5", "must not be negative", "不得为负数", {}),
    ("money", "1.234", "'1.234' is more precise than one fen", "'1.234' 超出精度：金额至多精确到分", {}),
    ("money", "10" + "0" * 15, "too large: money must be below 10^15 yuan", "数值过大：金额须小于 10^15 元", {}),
    ("money", 1.5, "floats are not accepted (money is exact): pass text, int or Decimal",
     "不接受浮点数（金额须精确）：请填文本、整数或 Decimal", {}),
    ("bool", "也许", "expected 是/否, true/false or 1/0", "应填 是/否（或 true/false、1/0）", {}),
    ("year", "二〇二〇", "expected a year such as 2020", "应填年份，如 2020", {}),
    ("year", 2020.5, "a year must be a whole number, got 2020.5", "年份须为整数，实为 2020.5", {}),
    ("integer", "4.5", "expected a whole number", "应填整数", {}),
    ("integer", "-3", "must not be negative", "不得为负数", {}),
    ("rate", "abc", "expected a rate such as 85% or 0.85", "应填比例，如 85% 或 0.85", {}),
    ("rate", "85", "a rate above 1 must be written with % (85% or 0.85)", "大于 1 的比例须带 % 书写（如 85% 或 0.85）",
     {}),
    ("rate", "120%", "a rate cannot exceed 100%", "比例不得超过 100%", {}),
    ("text", 5, "expected text, got int", "应填文本，实为 int", {}),
    ("enum", "首次认证", "not one of 首次认定/重新认定 (did you mean 首次认定?)",
     "应填 首次认定/重新认定 之一（是否应为 首次认定？）",
     {"values": ["首次认定", "重新认定"]}),
    ("uscc", "91350100M000100Y4", "a unified social credit code has 18 characters, this has 17",
     "统一社会信用代码应为 18 位，此处为 17 位", {}),
    ("uscc", "91350100M000100Y4I", "characters 'I' are not allowed (I, O, S, V, Z never occur)",
     "含不允许的字符 'I'（统一社会信用代码不含 I、O、S、V、Z）", {}),
    ("uscc", "91350100M000100Y44", "check character is '4', expected '3'",
     "统一社会信用代码校验位应为 '3'，实为 '4'", {}),
    ("uscc", "", "required: a row with this fact blank is rejected", "必填项为空，该行不予测算", {"required": True}),
])
def test_every_reason_has_its_chinese_wording(type_: str, raw: object, reason: str, reason_zh: str,
                                              kw: dict[str, object]) -> None:
    with pytest.raises(FactError) as info:
        read_value(spec(type_, **kw), raw)
    assert (info.value.reason, info.value.reason_zh, info.value.message_zh) == (reason, reason_zh, reason_zh)
    assert str(info.value).startswith(f"f (字段): {reason}")   # the one-line English message is unchanged
