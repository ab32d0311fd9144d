"""Reading one fact value from a spreadsheet cell or a Python value, by the fact's declared type.

This is where `12.5万`, `85%`, `是` and blank cells become typed values.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from policyengine.errors import FactError, Unreadable, did_you_mean, did_you_mean_zh
from policyengine.facts.money import (
    MONEY_LIMIT,
    MONEY_LIMIT_TEXT,
    MONEY_LIMIT_TEXT_ZH,
    format_decimal,
    parse_money,
    too_many_digits_both,
)
from policyengine.facts.uscc import validate_uscc
from policyengine.facts.values import UNKNOWN, Value
from policyengine.model.rulefile import FactSpec

_TRUE = {"是", "true", "1", "yes", "y", "t"}
_FALSE = {"否", "false", "0", "no", "n", "f"}
_INT_RE = re.compile(r"^-?\d{1,3}(,\d{3})*(\.0+)?$|^-?\d+(\.0+)?$")
_YEAR_RE = re.compile(r"^(\d{4})(\.0+)?年?$")
_RATE_RE = re.compile(r"^(\d+(\.\d+)?|\.\d+)\s*%?$")

COUNT_LIMIT = 10**15
"""An integer fact (a count) must be below this, like an amount of money (`MONEY_LIMIT`)."""
_HUGE = 10**30
"""A number given as a Python value beyond every limit: refused before it is turned into text."""


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def blank_value(spec: FactSpec) -> Value:
    """What an empty cell means for `spec`."""
    if spec.blank == "unknown":
        return UNKNOWN
    if spec.blank == "zero":
        return Fraction(0)
    if spec.type == "enum":
        return spec.none_value
    return None


def read_value(spec: FactSpec, raw: object) -> Value:
    """The typed value of `raw` for `spec`; raises `FactError` naming the fact when it cannot be read."""
    if is_blank(raw):
        if spec.required:
            raise FactError(spec.name, raw, "required: a row with this fact blank is rejected", label=spec.label,
                            reason_zh="必填项为空，该行不予测算")
        return blank_value(spec)
    try:
        return _READERS[spec.type](spec, raw)
    except Unreadable as exc:
        raise FactError(spec.name, raw, exc.reason, label=spec.label, reason_zh=exc.reason_zh) from None
    except (ValueError, TypeError) as exc:  # pragma: no cover - every reader raises Unreadable
        raise FactError(spec.name, raw, str(exc), label=spec.label) from None


def _text_of(raw: object) -> str:
    if isinstance(raw, float):
        raise Unreadable("floats are not accepted (money is exact): pass text, int or Decimal",
                         "不接受浮点数（金额须精确）：请填文本、整数或 Decimal")
    if (isinstance(raw, Fraction) or (isinstance(raw, int) and not isinstance(raw, bool))) and not -_HUGE < raw < _HUGE:
        # (its text alone could exceed Python's int conversion limit)
        raise Unreadable("too large: a number read as a fact must be below 10^15", "数值过大：须小于 10^15")
    if isinstance(raw, str | int | Decimal | Fraction) and not isinstance(raw, bool):
        return str(raw).strip() if not isinstance(raw, Fraction) else _fraction_text(raw)
    raise Unreadable(f"cannot read a {type(raw).__name__}", f"无法读取 {type(raw).__name__} 类型的值")


def _fraction_text(f: Fraction) -> str:
    return format_decimal(f)


def _read_text(spec: FactSpec, raw: object) -> Value:
    if not isinstance(raw, str):
        raise Unreadable(f"expected text, got {type(raw).__name__}", f"应填文本，实为 {type(raw).__name__}")
    return raw.strip()


def _read_enum(spec: FactSpec, raw: object) -> Value:
    if not isinstance(raw, str):
        raise Unreadable(f"expected one of {spec.values}, got {type(raw).__name__}",
                         f"应填 {'/'.join(spec.values or [])} 之一，实为 {type(raw).__name__}")
    value = raw.strip()
    values = spec.values or []
    if value not in values:
        raise Unreadable(f"not one of {'/'.join(values)}{did_you_mean(value[:200], values)}",
                         f"应填 {'/'.join(values)} 之一{did_you_mean_zh(value[:200], values)}")
    return value


def _read_bool(spec: FactSpec, raw: object) -> Value:
    if isinstance(raw, bool):
        return raw
    text = _text_of(raw).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Unreadable("expected 是/否, true/false or 1/0", "应填 是/否（或 true/false、1/0）")


def _whole(raw: object, what: str, what_zh: str) -> object:
    """A float that is a whole number (`2021.0`, as pandas and JSON give numbers) as that int; any other float
    is refused with a message about `what` (`what_zh` in Chinese). Other values are returned as they are."""
    if not isinstance(raw, float):
        return raw
    if not raw.is_integer():
        raise Unreadable(f"{what} must be a whole number, got {raw!r}", f"{what_zh}须为整数，实为 {raw!r}")
    return int(raw)


def _digits(raw: object, most: int) -> int | None:
    """The number that `raw` writes as plain ASCII digits (at most `most` of them), or None for any other text:
    the common spelling of a count, a year or an amount, read without the general rules."""
    if type(raw) is not str:
        return None
    text = raw.strip()
    return int(text) if 0 < len(text) <= most and text.isascii() and text.isdigit() else None


def _read_integer(spec: FactSpec, raw: object) -> Value:
    small = _digits(raw, 15)   # below COUNT_LIMIT
    if small is not None:
        return Fraction(small)
    text = _text_of(_whole(raw, "a count", "数量"))
    if not _INT_RE.match(text):
        raise Unreadable("expected a whole number", "应填整数")
    plain = text.replace(",", "").removeprefix("-")
    problem = too_many_digits_both(plain)
    if problem is not None:
        raise Unreadable(f"{problem[0]}; a count must be below 10^15", f"{problem[1]}；数量须小于 10^15")
    n = Fraction(Decimal(text.replace(",", "")))
    if n < 0:
        raise Unreadable("must not be negative", "不得为负数")
    if n >= COUNT_LIMIT:
        raise Unreadable("too large: a count must be below 10^15", "数值过大：数量须小于 10^15")
    return n


def _read_year(spec: FactSpec, raw: object) -> Value:
    plain = _digits(raw, 4)
    if plain is not None and 1900 <= plain <= 2200:
        return Fraction(plain)
    m = _YEAR_RE.match(_text_of(_whole(raw, "a year", "年份")))
    if not m or not 1900 <= int(m.group(1)) <= 2200:
        raise Unreadable("expected a year such as 2020", "应填年份，如 2020")
    return Fraction(int(m.group(1)))


def _read_money(spec: FactSpec, raw: object) -> Value:
    plain = _digits(raw, 15)   # whole yuan below MONEY_LIMIT
    if plain is not None:
        return Fraction(plain)
    if type(raw) is str and raw.endswith("万"):
        plain = _digits(raw[:-1], 11)   # whole 万 below MONEY_LIMIT
        if plain is not None:
            return Fraction(plain * 10_000)
    value = parse_money(_text_of(raw))   # its MoneyFormatError is Unreadable, in both languages
    if value < 0:
        raise Unreadable("must not be negative", "不得为负数")
    if value >= MONEY_LIMIT:
        raise Unreadable(f"too large: money must be below {MONEY_LIMIT_TEXT}",
                         f"数值过大：金额须小于 {MONEY_LIMIT_TEXT_ZH}")
    return value


def _read_rate(spec: FactSpec, raw: object) -> Value:
    text = _text_of(raw).replace(" ", "")
    m = _RATE_RE.match(text)
    if not m:
        raise Unreadable("expected a rate such as 85% or 0.85", "应填比例，如 85% 或 0.85")
    problem = too_many_digits_both(m.group(1))
    if problem is not None:
        raise Unreadable(f"{problem[0]}; a rate is at most 100%", f"{problem[1]}；比例至多为 100%")
    number = Fraction(Decimal(m.group(1)))
    if text.endswith("%"):
        number /= 100
    elif number > 1:
        raise Unreadable("a rate above 1 must be written with % (85% or 0.85)",
                         "大于 1 的比例须带 % 书写（如 85% 或 0.85）")
    if number > 1:
        raise Unreadable("a rate cannot exceed 100%", "比例不得超过 100%")
    return number


def _read_uscc(spec: FactSpec, raw: object) -> Value:
    if not isinstance(raw, str):
        raise Unreadable("expected text", "应填文本")
    return validate_uscc(raw)   # its UsccError is Unreadable, in both languages


_READERS = {"text": _read_text, "enum": _read_enum, "bool": _read_bool, "integer": _read_integer,
            "year": _read_year, "money": _read_money, "rate": _read_rate, "uscc": _read_uscc}


def canonical_text(value: Value) -> str | None:
    """The canonical cell text of a known value (None for 'did not happen'), for hashing and replay."""
    if value is UNKNOWN:
        raise ValueError("unknown values have no canonical text")
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Fraction):
        return format_decimal(value)
    return str(value)
