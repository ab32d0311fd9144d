"""Exact money: parsing cell text into yuan and the one place amounts are rounded.

Money is held as a `fractions.Fraction` of yuan while it is computed and as an integer
number of yuan (or 万元 multiples) once rounded; no float is ever involved.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

from policyengine.errors import PolicyEngineError, Unreadable, brief

RoundingUnit = Literal["yuan", "wan"]
RoundingMode = Literal["half_up", "down", "up"]

UNIT_YUAN: dict[str, int] = {"yuan": 1, "wan": 10_000}

_MONEY_RE = re.compile(
    r"^(?P<sign>-)?[¥￥]?(?P<num>\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?|\.\d+)\s*(?P<unit>万元|万|元)?$"
)


MONEY_LIMIT = 10**15
"""An amount of money read from a cell must be below this many yuan (10^15: 1,000万亿元), exclusive.

The bound every backend handles exactly: in fen it stays below 2^63 with room for the rules' arithmetic (the
columnar backend's Int64 columns), and any amount below it with up to six decimals has at most 21 significant
digits. No real subsidy figure comes near it; a larger cell is a typing error (or an attack) and is rejected."""

MONEY_LIMIT_TEXT = "10^15 yuan"
MONEY_LIMIT_TEXT_ZH = "10^15 元"

_DIGITS = 24
"""More digits than this before the decimal point (leading zeros aside) is too large for every fact type, and
more than this after it (trailing zeros aside) too precise: such text is refused before it is converted, so a
5,000-digit cell costs nothing."""


class MoneyFormatError(PolicyEngineError, Unreadable):
    """Text that is not a money amount: `reason` in English, `reason_zh` in Chinese."""


def too_many_digits(number: str) -> str | None:
    """Why plain decimal text (`123.45`, no sign, no separators) has too many digits to be read, or None."""
    problem = too_many_digits_both(number)
    return problem[0] if problem is not None else None


def too_many_digits_both(number: str) -> tuple[str, str] | None:
    """`too_many_digits` in English and in Chinese, or None."""
    whole, _, frac = number.partition(".")
    if len(whole.lstrip("0")) > _DIGITS:
        n = len(whole.lstrip("0"))
        return f"too large: {n:,} digits before the decimal point", f"数值过大：小数点前有 {n:,} 位"
    if len(frac.rstrip("0")) > _DIGITS:
        n = len(frac.rstrip("0"))
        return f"too precise: {n:,} digits after the decimal point", f"精度过高：小数点后有 {n:,} 位"
    return None


def parse_money(text: str) -> Fraction:
    """Parse `1234567`, `1,234,567.00`, `123.4567万`, `123.4567万元`, `85元` into yuan, exactly.

    The result must be a whole number of fen; anything finer is an error.
    """
    s = text.strip().replace(" ", "").replace("\u3000", "")
    m = _MONEY_RE.match(s)
    if m is None:
        raise MoneyFormatError(f"cannot read {brief(text)} as money (write 1234567, 1,234,567.00, 123.4567万 or "
                               "85万元)",
                               f"无法识别为金额：{brief(text)}（可写作 1234567、1,234,567.00、123.4567万 或 85万元）")
    digits = m.group("num").replace(",", "")
    problem = too_many_digits_both(digits)
    if problem is not None:
        raise MoneyFormatError(f"{problem[0]}; money must be below {MONEY_LIMIT_TEXT}, exact to the fen",
                               f"{problem[1]}；金额须小于 {MONEY_LIMIT_TEXT_ZH}，精确到分")
    try:
        number = Fraction(Decimal(digits))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise MoneyFormatError(f"cannot read {brief(text)} as money", f"无法识别为金额：{brief(text)}") from exc
    if m.group("unit") in ("万", "万元"):
        number *= 10_000
    if m.group("sign"):
        number = -number
    if (number * 100).denominator != 1:
        raise MoneyFormatError(f"{brief(text)} is more precise than one fen",
                               f"{brief(text)} 超出精度：金额至多精确到分")
    return number


def format_yuan(value: Fraction) -> str:
    """Canonical text of an exact yuan amount: `1234567`, `1234567.5`, `-3.25`."""
    if value.denominator == 1:
        return str(value.numerator)
    return format_decimal(value)


def format_decimal(value: Fraction) -> str:
    """A terminating fraction as plain decimal text (no exponent, no trailing zeros), exactly, however many
    digits it has (no decimal context rounds it)."""
    den = value.denominator
    if den == 1:
        return str(value.numerator)
    twos = (den & -den).bit_length() - 1
    rest = den >> twos
    fives = 0
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        raise ValueError(f"{brief(value)} has no finite decimal form")
    places = max(twos, fives)
    digits = str(abs(value.numerator) * (10**places // den))
    if places:
        digits = digits.rjust(places + 1, "0")
        digits = (digits[:-places] + "." + digits[-places:]).rstrip("0").rstrip(".")
    return "-" + digits if value < 0 else digits


def round_amount(value: Fraction, unit: RoundingUnit = "yuan", mode: RoundingMode = "half_up") -> int:
    """Round an exact yuan amount to a whole `unit`, returning whole yuan.

    This is the single place where policyengine rounds money.
    """
    step = UNIT_YUAN[unit]
    numerator, denominator = value.numerator, value.denominator * step   # value / step, in integers
    sign = -1 if numerator < 0 else 1
    whole, rest = divmod(abs(numerator), denominator)
    if (mode == "half_up" and 2 * rest >= denominator) or (mode == "up" and rest):
        whole += 1
    return sign * whole * step


def prorate(amount: int, fund: int, demand: int) -> int:
    """An award scaled by fund/demand and rounded down to the yuan: `amount * fund // demand`."""
    if demand <= fund:
        return amount
    return amount * fund // demand
