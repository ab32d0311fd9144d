"""Applicant facts: resolving names, Chinese labels and aliases, and reading a whole applicant."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policyengine.errors import FactError, did_you_mean
from policyengine.facts.cells import blank_value, canonical_text, read_value
from policyengine.facts.values import UNKNOWN, Value
from policyengine.model.rulefile import FactSpec

_UNREAD: Any = object()


def _norm_header(h: str) -> str:
    return h.strip().replace("\ufeff", "").replace(" ", "").replace("\u3000", "").lower()


class FactIndex:
    """Finds a fact by its name, Chinese label or any declared alias (ignoring spaces and case)."""

    def __init__(self, specs: Iterable[FactSpec]) -> None:
        self.specs: dict[str, FactSpec] = {}
        self._by_header: dict[str, FactSpec] = {}
        self._by_key: dict[str, FactSpec] = {}  # keys as callers spell them, once resolved
        self.cells: dict[tuple[str, str], Value] = {}  # (fact, cell text) → value, for read_facts
        for spec in specs:
            self.specs.setdefault(spec.name, spec)
            for h in (spec.name, spec.label, *spec.aliases):
                self._by_header.setdefault(_norm_header(h), spec)

    def find(self, key: str) -> FactSpec | None:
        spec = self._by_key.get(key)
        if spec is None:
            spec = self._by_header.get(_norm_header(key))
            if spec is not None and len(self._by_key) < 4096:
                self._by_key[key] = spec
        return spec

    def resolve(self, key: str) -> FactSpec:
        spec = self.find(key)
        if spec is None:
            candidates = [*self.specs, *(s.label for s in self.specs.values())]
            raise FactError(key, None, f"no such fact{did_you_mean(key, candidates)}")
        return spec


@dataclass(frozen=True)
class Facts:
    """One applicant's typed facts. A fact that is absent reads as its blank meaning."""

    values: Mapping[str, Value]

    def get(self, name: str, spec: FactSpec) -> Value:
        return self.values[name] if name in self.values else blank_value(spec)

    def canonical(self) -> dict[str, str | None]:
        """Known facts as canonical text (unknown ones are left out: absent means unknown or blank)."""
        return dict(self._canonical)

    @functools.cached_property
    def _canonical(self) -> dict[str, str | None]:
        return {k: canonical_text(v) for k, v in sorted(self.values.items()) if v is not UNKNOWN}

    def digest(self) -> str:
        text = json.dumps(self._canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_facts(index: FactIndex, raw: Mapping[str, object]) -> Facts:
    """Read a mapping of fact names or labels to cell text / typed values; raise `FactError` on the first bad one."""
    values: dict[str, Value] = {}
    seen: dict[str, str] = {}
    cells = index.cells
    for key, cell in raw.items():
        spec = index.resolve(str(key))
        if spec.name in seen:
            raise FactError(spec.name, None, f"given twice, as {seen[spec.name]!r} and {key!r}")
        seen[spec.name] = str(key)
        if isinstance(cell, str) and len(cell) <= 64:
            # the same text in the same fact reads the same (values are immutable): read it once
            memo = (spec.name, cell)
            value = cells.get(memo, _UNREAD)
            if value is _UNREAD:
                value = read_value(spec, cell)
                if len(cells) >= 65_536:
                    cells.clear()
                cells[memo] = value
            values[spec.name] = value
        else:
            values[spec.name] = read_value(spec, cell)
    return Facts(values)
