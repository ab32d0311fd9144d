"""Exact money: parsing cell text into yuan and the one place amounts are rounded.

Money is held as a `fractions.Fraction` of yuan while it is computed and as an integer
number of yuan (or 万元 multiples) once rounded; no float is ever involved.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

from policyengine.errors import PolicyEngineError

RoundingUnit = Literal["yuan", "wan"]
RoundingMode = Literal["half_up", "down", "up"]

UNIT_YUAN: dict[str, int] = {"yuan": 1, "wan": 10_000}

_MONEY_RE = re.compile(
    r"^(?P<sign>-)?[¥￥]?(?P<num>\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?|\.\d+)\s*(?P<unit>万元|万|元)?$"
)


class MoneyFormatError(PolicyEngineError, ValueError):
    """Text that is not a money amount."""


def parse_money(text: str) -> Fraction:
    """Parse `1234567`, `1,234,567.00`, `123.4567万`, `123.4567万元`, `85元` into yuan, exactly.

    The result must be a whole number of fen; anything finer is an error.
    """
    s = text.strip().replace(" ", "").replace("\u3000", "")
    m = _MONEY_RE.match(s)
    if m is None:
        raise MoneyFormatError(f"cannot read {text!r} as money (write 1234567, 1,234,567.00, 123.4567万 or 85万元)")
    try:
        number = Fraction(Decimal(m.group("num").replace(",", "")))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise MoneyFormatError(f"cannot read {text!r} as money") from exc
    if m.group("unit") in ("万", "万元"):
        number *= 10_000
    if m.group("sign"):
        number = -number
    if (number * 100).denominator != 1:
        raise MoneyFormatError(f"{text!r} is more precise than one fen")
    return number


def format_yuan(value: Fraction) -> str:
    """Canonical text of an exact yuan amount: `1234567`, `1234567.5`, `-3.25`."""
    if value.denominator == 1:
        return str(value.numerator)
    return format_decimal(value)


def format_decimal(value: Fraction) -> str:
    """A terminating fraction as plain decimal text (no exponent, no trailing zeros)."""
    if value.denominator == 1:
        return str(value.numerator)
    d = Decimal(value.numerator) / Decimal(value.denominator)
    if Fraction(d) != value:
        raise ValueError(f"{value} has no finite decimal form")
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def round_amount(value: Fraction, unit: RoundingUnit = "yuan", mode: RoundingMode = "half_up") -> int:
    """Round an exact yuan amount to a whole `unit`, returning whole yuan.

    This is the single place where policyengine rounds money.
    """
    step = UNIT_YUAN[unit]
    units = value / step
    sign = -1 if units < 0 else 1
    mag = abs(units)
    whole, rest = divmod(mag.numerator, mag.denominator)
    if (mode == "half_up" and 2 * rest >= mag.denominator) or (mode == "up" and rest):
        whole += 1
    return sign * whole * step


def prorate(amount: int, fund: int, demand: int) -> int:
    """An award scaled by fund/demand and rounded down to the yuan: `amount * fund // demand`."""
    if demand <= fund:
        return amount
    return amount * fund // demand
