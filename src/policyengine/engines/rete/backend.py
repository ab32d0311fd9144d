"""The `rete` backend: durable_rules says which clauses fire, the reference interpreter says why.

A clause fires if and only if the interpreter finds it eligible. The backend returns the interpreter's
clause results (amounts, reasons, traces) and, for each fired clause, the firing the engine reported; any
disagreement raises `InternalConsistencyError` naming the clause and the facts, and is never a decision.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass

from policyengine.decide.decision import ClauseResult, EngineFiring
from policyengine.engines.interpreter import evaluate_clauses
from policyengine.engines.rete.compile import CompiledVersion, compile_version
from policyengine.engines.rete.driver import ENGINE_LOCK, EngineRuleset
from policyengine.engines.rete.encode import encode_facts
from policyengine.errors import InternalConsistencyError, PolicyEngineError
from policyengine.facts.applicant import Facts
from policyengine.model.policy import PolicyVersion


@dataclass(frozen=True)
class PreparedVersion:
    compiled: CompiledVersion
    engine: EngineRuleset


# One ruleset per package version (content hash) per process, created on first use and never deleted.
_PREPARED: dict[str, PreparedVersion | PolicyEngineError] = {}
_PREPARE_LOCK = threading.Lock()


def _before_fork() -> None:
    """Fork only when no thread is inside the engine or preparing a ruleset (in that lock order): a child that
    inherited a lock held by another thread would wait for it forever, and one forked mid-call would inherit
    an engine holding another applicant's fact. Both locks are held for microseconds to milliseconds."""
    _PREPARE_LOCK.acquire()
    ENGINE_LOCK.acquire()


def _after_fork() -> None:   # in the parent and in the child: the forking thread holds both locks
    ENGINE_LOCK.release()
    _PREPARE_LOCK.release()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


def prepare(version: PolicyVersion) -> PreparedVersion:
    """The compiled ruleset of `version`, created once per process; raises `ReteCompileError` if it cannot be."""
    found = _PREPARED.get(version.content_hash)
    if found is None or (isinstance(found, PreparedVersion) and found.engine.poisoned):
        with _PREPARE_LOCK:
            found = _PREPARED.get(version.content_hash)
            if found is None or (isinstance(found, PreparedVersion) and found.engine.poisoned):
                # first use, or the engine failed beyond recovery: a new ruleset (the old one is never
                # deleted: deleting state and then creating a ruleset can corrupt the heap)
                try:
                    compiled = compile_version(version)
                    found = PreparedVersion(compiled, EngineRuleset(compiled.ruleset_name, compiled.definition))
                except PolicyEngineError as exc:
                    found = exc
                _PREPARED[version.content_hash] = found
    if isinstance(found, PolicyEngineError):
        raise found
    return found


class ReteBackend:
    """durable_rules matching, checked clause by clause against the reference interpreter."""

    name = "rete"

    def prepare(self, version: PolicyVersion) -> PreparedVersion:
        return prepare(version)

    def evaluate(self, version: PolicyVersion, facts: Facts) -> tuple[list[ClauseResult], list[EngineFiring]]:
        prepared = prepare(version)
        message = encode_facts(prepared.compiled, version, facts)   # raises before the engine is touched
        fired = prepared.engine.fire(message)
        results = evaluate_clauses(version, facts)
        firings: list[EngineFiring] = []
        for result in results:
            count = fired.get(result.clause, 0)
            if (count > 0) != (result.status == "eligible"):
                shown = {k: v for k, v in facts.canonical().items() if k in version.facts}
                engine_says = "fired" if count else "did not fire"
                raise InternalConsistencyError(
                    f"{version.key} clause {result.clause} ({result.title}): the Rete engine {engine_says} but the "
                    f"reference interpreter finds it {result.status}"
                    + (f" ({result.reason})" if result.reason else "")
                    + f"; facts: {json.dumps(shown, ensure_ascii=False, sort_keys=True)}")
            if count:
                paths = prepared.compiled.rules[result.clause].paths
                firings.append(EngineFiring(
                    clause=result.clause, rule=result.clause,
                    detail=f"durable_rules ruleset {prepared.compiled.ruleset_name}: {count} of the rule's "
                           f"{paths} condition path(s) matched"))
        return results, firings
