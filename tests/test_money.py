from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyengine.facts.money import MoneyFormatError, format_yuan, parse_money, prorate, round_amount


@pytest.mark.parametrize(("text", "yuan"), [
    ("1234567", 1234567),
    ("1,234,567.00", 1234567),
    ("123.4567万", 1234567),
    ("123.4567万元", 1234567),
    ("85万元", 850000),
    ("0.01", Fraction(1, 100)),
    (" 12.5万 ", 125000),
    ("¥1,000", 1000),
    ("300元", 300),
])
def test_money_text_forms(text: str, yuan: int | Fraction) -> None:
    assert parse_money(text) == yuan


@pytest.mark.parametrize("text", ["12.x万", "1,23,4", "abc", "", "1.2.3", "万", "0.001", "1.2345678万", "1e5"])
def test_unreadable_money_is_an_error(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(text)


def test_finer_than_a_fen_is_refused() -> None:
    with pytest.raises(MoneyFormatError, match="fen"):
        parse_money("0.005")


@given(st.integers(min_value=0, max_value=10**13))
def test_money_text_forms_round_trip(fen: int) -> None:
    value = Fraction(fen, 100)
    plain = format_yuan(value)
    assert parse_money(plain) == value
    with_commas = f"{Decimal(fen) / 100:,.2f}"
    assert parse_money(with_commas) == value
    wan = Decimal(fen) / 1_000_000
    assert parse_money(f"{wan:f}万") == value
    assert parse_money(f"{wan:f}万元") == value


@given(st.text(alphabet="0123456789.,万元", max_size=12))
def test_money_parse_never_goes_through_float(text: str) -> None:
    # whatever the text, the result is exact (a Fraction with a power-of-ten denominator) or an error
    try:
        value = parse_money(text)
    except MoneyFormatError:
        return
    assert isinstance(value, Fraction)
    assert (value * 100).denominator == 1


@pytest.mark.parametrize(("value", "unit", "mode", "expected"), [
    (Fraction(5, 2), "yuan", "half_up", 3),
    (Fraction(7, 2), "yuan", "half_up", 4),   # not half-to-even
    (Fraction(249, 100), "yuan", "half_up", 2),
    (Fraction(-5, 2), "yuan", "half_up", -3),
    (Fraction(29, 10), "yuan", "down", 2),
    (Fraction(21, 10), "yuan", "up", 3),
    (Fraction(15000), "wan", "half_up", 20000),
    (Fraction(14999), "wan", "half_up", 10000),
])
def test_rounding(value: Fraction, unit: str, mode: str, expected: int) -> None:
    assert round_amount(value, unit, mode) == expected  # type: ignore[arg-type]


@given(st.integers(0, 10**9), st.integers(1, 10**9), st.integers(1, 10**10))
def test_proration_never_exceeds_the_share(amount: int, fund: int, demand: int) -> None:
    out = prorate(amount, fund, demand)
    assert 0 <= out <= amount
    if demand > fund:
        assert out == amount * fund // demand
