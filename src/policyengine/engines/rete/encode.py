"""Typed applicant facts → the engine's applicant fact, checked before anything reaches the engine.

durable_rules compares a string with a number as strings, coerces `1 == true == "true"`, saturates
integers outside int64, reads `NaN` as nil and matches Chinese text byte for byte as serialised. So every
value is checked against its fact's type and encoded exactly:

- money → integer fen; years and counts → integers; booleans → JSON booleans; text and enums → strings;
- rates → integers in units of 1/(2·10^9): a rate on the 10^-9 grid is an even integer, exactly; any other
  rate is encoded as the odd integer between its grid neighbours, which orders it correctly against every
  threshold on the grid. That is exact only where the rules compare the rate alone with such a threshold,
  which the compiler records (`CompiledVersion.interval_rates`); elsewhere such a rate is refused;
- unknown → the field is absent; none ("did not happen") → the flag field `n_<fact>` instead;
- every number within its kind's bound (fields.BOUNDS: money ±10^14 yuan, counts ±10^12, years ±10^6,
  rates ±1000), so that no comparison or arithmetic in the engine can overflow.

The message is serialised with `ensure_ascii=False` (as the rulesets are) and `allow_nan=False`.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from policyengine.engines.rete.compile import CompiledVersion
from policyengine.engines.rete.errors import ReteUnsupportedValue
from policyengine.engines.rete.fields import FACT_ID, RATE_RESOLUTION, SID, TAG_FIELD, TAG_VALUE, FieldSpec
from policyengine.errors import FactError
from policyengine.facts.applicant import Facts
from policyengine.facts.values import UNKNOWN
from policyengine.model.policy import PolicyVersion


def _number(fs: FieldSpec, value: object, interval_ok: bool) -> int:
    if isinstance(value, Fraction):
        num, den = value.numerator, value.denominator
    elif isinstance(value, int) and not isinstance(value, bool):
        num, den = value, 1
    else:
        raise FactError(fs.fact, value, f"a {fs.kind} fact needs an exact number, got {type(value).__name__}")
    if fs.kind == "rate":
        grid, rest = divmod(num * RATE_RESOLUTION, den)   # floor division: the grid point at or below
        if not rest:
            encoded = 2 * grid
        elif interval_ok:
            encoded = 2 * grid + 1
        else:
            raise ReteUnsupportedValue(f"{fs.fact}: the rate {value} is finer than 10^-9, and the rules use it in "
                                       "a way the Rete backend can only test on that grid; use backend='interpreter'")
    else:
        encoded, rest = divmod(num * fs.scale, den)
        if rest:
            unit = "fen" if fs.kind == "money" else "number"
            raise FactError(fs.fact, value, f"a {fs.kind} must be a whole {unit}")
    if abs(encoded) > fs.bound:
        limit = Fraction(fs.bound, fs.scale)
        raise ReteUnsupportedValue(f"{fs.fact}: {value} is beyond what the Rete backend holds exactly (±{limit} "
                                   f"for a {fs.kind}); use backend='interpreter'")
    return encoded


def encode_value(fs: FieldSpec, value: object, interval_ok: bool = False) -> dict[str, Any]:
    """The engine fields for one fact value (empty for unknown)."""
    if value is UNKNOWN:
        return {}
    if value is None:
        if fs.none_field is None:
            raise FactError(fs.fact, None, "none (did not happen) is not a value of this fact")
        return {fs.none_field: True}
    if fs.kind == "bool":
        if not isinstance(value, bool):
            raise FactError(fs.fact, value, f"a bool fact needs true or false, got {type(value).__name__}")
        return {fs.value_field: value}
    if fs.kind == "text":
        if not isinstance(value, str):
            raise FactError(fs.fact, value, f"a text fact needs a str, got {type(value).__name__}")
        if fs.enum_values is not None and value not in fs.enum_values:
            raise FactError(fs.fact, value, f"not one of {'/'.join(fs.enum_values)}")
        return {fs.value_field: value}
    return {fs.value_field: _number(fs, value, interval_ok)}


def encode_facts(compiled: CompiledVersion, version: PolicyVersion, facts: Facts) -> str:
    """The applicant fact for `compiled`, as the JSON message to assert. Raises before the engine is touched."""
    message: dict[str, Any] = {"sid": SID, "id": FACT_ID, TAG_FIELD: TAG_VALUE}
    values = facts.values
    for name, fs in compiled.fields.items():
        value = values[name] if name in values else compiled.blanks[name]  # as `Facts.get` reads it
        message.update(encode_value(fs, value, name in compiled.interval_rates))
    return json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
