"""Applicant facts: resolving names, Chinese labels and aliases, and reading a whole applicant."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from policyengine.errors import FactError, FactErrors, PolicyEngineError, did_you_mean, did_you_mean_zh
from policyengine.facts.cells import blank_value, canonical_text, is_blank, read_value
from policyengine.facts.values import UNKNOWN, Value
from policyengine.model.rulefile import FactSpec

MAX_PROBLEMS = 100
"""`read_facts` reports at most this many bad facts of one applicant."""


def _norm_header(h: str) -> str:
    return h.strip().replace("\ufeff", "").replace(" ", "").replace("\u3000", "").lower()


class FactIndex:
    """Finds a fact by its name, Chinese label or any declared alias (ignoring spaces and case).

    `specs` are the facts the packages read; `catalogue` may add the other facts of the shared catalogue, which
    `find` does not return but `find_ignored` does (a key naming one is accepted and ignored)."""

    def __init__(self, specs: Iterable[FactSpec], catalogue: Iterable[FactSpec] = ()) -> None:
        self.specs: dict[str, FactSpec] = {}
        self.ignored: dict[str, FactSpec] = {}  # catalogue facts no package given reads
        self._by_header: dict[str, FactSpec] = {}
        self._ignored_by_header: dict[str, FactSpec] = {}
        self._by_key: dict[str, FactSpec] = {}  # keys as callers spell them, once resolved
        self.cells: dict[tuple[str, str], tuple[str, Value]] = {}
        """(key, cell text) → (fact, value) of a cell read before, for `read_facts`."""
        for spec in specs:
            self.specs.setdefault(spec.name, spec)
            for h in (spec.name, spec.label, *spec.aliases):
                self._by_header.setdefault(_norm_header(h), spec)
        for spec in catalogue:
            if spec.name in self.specs:
                continue
            self.ignored.setdefault(spec.name, spec)
            for h in (spec.name, spec.label, *spec.aliases):
                if _norm_header(h) not in self._by_header:
                    self._ignored_by_header.setdefault(_norm_header(h), spec)
        self.required = tuple(s for s in self.specs.values() if s.required)

    def find(self, key: str) -> FactSpec | None:
        spec = self._by_key.get(key)
        if spec is None:
            spec = self._by_header.get(_norm_header(key))
            if spec is not None and len(self._by_key) < 4096:
                self._by_key[key] = spec
        return spec

    def find_ignored(self, key: str) -> FactSpec | None:
        """The catalogue fact `key` names that no package given reads, if any."""
        return self._ignored_by_header.get(_norm_header(key)) if self._ignored_by_header else None

    def unknown(self, key: str) -> FactError:
        """The error for a key that names no fact (with a "did you mean")."""
        candidates = [*self.specs, *(s.label for s in self.specs.values()),
                      *self.ignored, *(s.label for s in self.ignored.values())]
        return FactError(key, None, f"no such fact{did_you_mean(key, candidates)}",
                         reason_zh=f"无此数据项{did_you_mean_zh(key, candidates)}")

    def resolve(self, key: str) -> FactSpec:
        spec = self.find(key)
        if spec is None:
            raise self.unknown(key)
        return spec


@dataclass(frozen=True)
class Facts:
    """One applicant's typed facts. A fact that is absent reads as its blank meaning."""

    values: Mapping[str, Value]
    unused: tuple[str, ...] = field(default=(), compare=False)
    """Ids of catalogue facts given that no package reads (accepted and ignored), sorted."""

    def get(self, name: str, spec: FactSpec) -> Value:
        return self.values[name] if name in self.values else blank_value(spec)

    def canonical(self) -> dict[str, str | None]:
        """Known facts as canonical text (unknown ones are left out: absent means unknown or blank)."""
        return dict(self._canonical)

    @functools.cached_property
    def _canonical(self) -> dict[str, str | None]:
        return {k: canonical_text(v) for k, v in sorted(self.values.items()) if v is not UNKNOWN}

    def digest(self) -> str:
        text = json.dumps(self._canonical, ensure_ascii=False, separators=(",", ":"))  # keys are sorted
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _problem(fact: str, reason: str, reason_zh: str, value: object, label: str | None = None) -> FactError:
    """A FactError that carries the raw `value` without showing it (for a key or a blank, the fact says all)."""
    error = FactError(fact, None, reason, label=label, reason_zh=reason_zh)
    error.value = value
    return error


NOT_GIVEN = "required, not given"
"""`read_facts(..., complete=True)`: a required fact absent, None or blank."""
NOT_GIVEN_ZH = "必填项未填写"
"""`NOT_GIVEN` in Chinese."""


def read_facts(index: FactIndex, raw: Mapping[str, object], *, complete: bool = False) -> Facts:
    """Read a mapping of fact names or labels to cell text / typed values.

    Every bad key and value is collected (up to `MAX_PROBLEMS`) and raised together as one `FactErrors`. A key
    naming a catalogue fact no package reads (`index.find_ignored`) is accepted, ignored and listed in
    `Facts.unused`. With `complete`, the mapping is the applicant's whole set of facts: a required fact that is
    absent, None or blank is refused as `required, not given` (without it, absent facts read as blank and a
    blank required cell is refused in the spreadsheet's words)."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise PolicyEngineError(f"facts must be a mapping (a dict) of fact names or Chinese labels to values, "
                                f"not a {type(raw).__name__}")
    values: dict[str, Value] = {}
    seen: dict[str, str] = {}
    unused: list[str] = []
    problems: list[FactError] = []
    cells = index.cells
    for key, cell in raw.items():
        read = cells.get((key, cell)) if type(key) is str and type(cell) is str else None
        if read is not None and read[0] not in seen:
            # a cell of this fact read before (values are immutable): the same value
            name, values[name] = read
            seen[name] = key
            continue
        if len(problems) >= MAX_PROBLEMS:
            break
        text = str(key)
        spec = index.find(text)
        ignored = False
        if spec is None:
            spec = index.find_ignored(text)
            ignored = spec is not None
        if spec is None:
            error = index.unknown(text)
            error.value = cell
            problems.append(error)
            continue
        if spec.name in seen:
            problems.append(_problem(spec.name, f"given twice, as {seen[spec.name]!r} and {key!r}",
                                     f"重复填写：{seen[spec.name]!r} 与 {key!r}", cell, spec.label))
            continue
        seen[spec.name] = text
        if ignored:
            unused.append(spec.name)
            continue
        if complete and spec.required and is_blank(cell):
            problems.append(_problem(spec.name, NOT_GIVEN, NOT_GIVEN_ZH, cell, spec.label))
            continue
        try:
            value = values[spec.name] = read_value(spec, cell)
        except FactError as exc:
            problems.append(exc)
            continue
        if type(key) is str and type(cell) is str and len(cell) <= 64 and len(key) <= 64:
            if len(cells) >= 65_536:
                cells.clear()
            cells[(key, cell)] = (spec.name, value)
    if complete and len(problems) < MAX_PROBLEMS:
        problems.extend(_problem(spec.name, NOT_GIVEN, NOT_GIVEN_ZH, None, spec.label)
                        for spec in index.required if spec.name not in seen)
    if problems:
        raise FactErrors(problems[:MAX_PROBLEMS])
    return Facts(values, tuple(sorted(unused)))
