"""Runtime values of facts and expressions, and the marker for an unknown fact."""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from policyengine.facts.money import format_decimal


class _Unknown:
    """A fact the applicant has not supplied: any clause that needs it is `undetermined`."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; use three-valued logic")


UNKNOWN: Final = _Unknown()

# A known value: numbers are exact Fractions (money in yuan, rates as fractions), None is "did not happen".
Known = Fraction | bool | str | None
Value = Known | _Unknown


def display(value: Value) -> str:
    """How a value reads in traces and reasons."""
    if value is UNKNOWN:
        return "unknown"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Fraction):
        return format_decimal(value) if terminates(value) else str(value)
    return str(value)


def terminates(f: Fraction) -> bool:
    """Whether `f` has a finite decimal form."""
    d = f.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1
