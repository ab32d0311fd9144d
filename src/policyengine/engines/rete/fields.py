"""How a package version's facts are laid out in the engine's one applicant fact.

Each fact the rules read becomes the field `v_<fact>`, present only when the fact has a known value.
A fact whose blank means "did not happen" (a year, a text) also gets the flag `n_<fact>: true` when its
value is none. Neither field present means unknown. Numbers are exact integers: money in fen, years and
counts as they are, rates in units of 1/(2·10^9) (see `RATE_RESOLUTION` and encode.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from policyengine.model.rulefile import FactSpec

Kind = Literal["money", "integer", "year", "rate", "bool", "text"]

SID = "pe"                  # the single engine session: one live state per process
FACT_ID = "applicant"       # the single live fact
TAG_FIELD = "pe_kind"       # every rule path tests it: the engine's own state record never matches
TAG_VALUE = "applicant"
NEVER_VALUE = "never"       # a rule that can never match tests TAG_FIELD == NEVER_VALUE as well
RESERVED = ("sid", "id", TAG_FIELD, "$s")
MAX_FIELDS = 254 - 3        # the engine takes at most 254 properties per fact; sid, id and the tag are ours

RATE_RESOLUTION = 10**9     # rates exactly on a multiple of 10^-9 are encoded exactly (as even integers)

# The largest magnitude each kind may hold in the engine (encoded units), so that no comparison overflows:
# money ±10^14 yuan, counts ±10^12, years ±10^6, rates ±1000 (100000%).
BOUNDS: dict[str, int] = {"money": 10**16, "integer": 10**12, "year": 10**6, "rate": 2 * RATE_RESOLUTION * 1000}

_KINDS: dict[str, Kind] = {"money": "money", "integer": "integer", "year": "year", "rate": "rate", "bool": "bool",
                           "text": "text", "uscc": "text", "enum": "text"}


@dataclass(frozen=True)
class FieldSpec:
    fact: str
    kind: Kind
    value_field: str
    none_field: str | None
    scale: int                          # encoded integer = scale × value (numbers only)
    bound: int                          # the largest magnitude it may hold, encoded (numbers only)
    enum_values: tuple[str, ...] | None

    @property
    def numeric(self) -> bool:
        return self.kind in ("money", "integer", "year", "rate")


def field_spec(spec: FactSpec) -> FieldSpec:
    kind = _KINDS[spec.type]
    scale = {"money": 100, "rate": 2 * RATE_RESOLUTION}.get(kind, 1)
    noneable = spec.blank == "none" and spec.type != "enum"  # a blank enum reads as its none_value
    return FieldSpec(fact=spec.name, kind=kind, value_field=f"v_{spec.name}",
                     none_field=f"n_{spec.name}" if noneable else None, scale=scale, bound=BOUNDS.get(kind, 0),
                     enum_values=tuple(spec.values) if spec.type == "enum" and spec.values else None)


def fnv1a32(name: str) -> int:
    """FNV-1a over the UTF-8 bytes with C's signed `char`: how durable_rules identifies field names,
    session ids and fact ids (`fnv1Hash32` in its state.c)."""
    h = 2166136261
    for b in name.encode("utf-8"):
        h ^= (b - 256 if b >= 0x80 else b) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def hash_collisions(names: list[str]) -> list[tuple[str, str]]:
    """Pairs of distinct names that the engine would take for the same field."""
    owner: dict[int, str] = {}
    out: list[tuple[str, str]] = []
    for name in dict.fromkeys(names):
        first = owner.setdefault(fnv1a32(name), name)
        if first != name:
            out.append((first, name))
    return out
