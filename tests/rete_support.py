"""Helpers for the Rete backend tests: small ad-hoc packages, a spying engine proxy, a cross-check."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from policyengine import Decision, PolicyVersion, evaluate, load_package
from policyengine.facts.applicant import Facts

_counter = itertools.count()


def build_version(tmp_path: Path, clauses: list[dict[str, Any]], facts: list[dict[str, Any]] | None = None,
                  definitions: dict[str, str] | None = None, tables: dict[str, Any] | None = None) -> PolicyVersion:
    """A one-version package written to `tmp_path`; every fact's label is its name."""
    pid = f"t{next(_counter)}"
    doc: dict[str, Any] = {
        "package": {"id": pid, "title": "测试", "issuer": "测试", "document_number": "测试", "version": "1.0",
                    "effective": {"from": 2020}},
        "facts": [{"name": "application_year", "type": "year", "label": "申报年度", "blank": "unknown"},
                  *[{"label": f["name"], **f} for f in facts or []]],
        "settlement": {"rounding": {"unit": "yuan", "mode": "half_up"}},
        "clauses": [{"article": i + 1, "title": c["id"], "text": c["id"], "amount": "1万", **c}
                    for i, c in enumerate(clauses)],
    }
    if definitions:
        doc["definitions"] = definitions
    if tables:
        doc["tables"] = tables
    folder = tmp_path / pid / "1.0"
    folder.mkdir(parents=True)
    (folder / "policy.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_package(tmp_path / pid).versions[0]


def both(version: PolicyVersion, facts: dict[str, object] | Facts) -> tuple[Decision, Decision]:
    """The same applicant decided by the Rete backend (which cross-checks every clause) and the interpreter."""
    rete = evaluate(version, facts, version=version.version, backend="rete")
    interp = evaluate(version, facts, version=version.version, backend="interpreter")
    assert rete.outcome() == interp.outcome()
    assert rete.audit.backend == "rete" and interp.audit.backend == "interpreter"
    return rete, interp


def status(decision: Decision, clause: str) -> str:
    return decision.packages[0].clause(clause).status


class Spy:
    """Stands in for the durable_rules_engine module: records every call, can make one of them fail."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.error = real.error
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail: dict[str, Callable[..., Any]] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.real, name)
        if not callable(target):
            return target

        def call(*args: Any) -> Any:
            self.calls.append((name, args))
            if name in self.fail:
                return self.fail.pop(name)(*args)
            return target(*args)

        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]
