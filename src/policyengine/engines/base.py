"""Evaluation backends behind one interface: each turns (version, facts) into clause results."""

from __future__ import annotations

from typing import Protocol

from policyengine.decide.decision import ClauseResult, EngineFiring
from policyengine.engines.interpreter import evaluate_clauses
from policyengine.engines.rete import (
    ReteBackend,
    ReteCompileError,
    ReteUnavailable,
    ReteUnsupportedValue,
    unavailable_reason,
)
from policyengine.errors import PolicyEngineError
from policyengine.facts.applicant import Facts
from policyengine.model.policy import PolicyVersion


class Backend(Protocol):
    """Clause outcomes before settlement, and what the engine reported (if anything)."""

    name: str

    def evaluate(self, version: PolicyVersion, facts: Facts) -> tuple[list[ClauseResult], list[EngineFiring]]:
        ...


class InterpreterBackend:
    """The reference interpreter: pure Python, defines the meaning."""

    name = "interpreter"

    def evaluate(self, version: PolicyVersion, facts: Facts) -> tuple[list[ClauseResult], list[EngineFiring]]:
        return evaluate_clauses(version, facts), []


class Fallback(EngineFiring):
    """Not a firing: the note a backend returns among its firings when the reference interpreter decided the
    version instead (`clause` holds the version's key, `detail` why). `audit_of` moves it to `AuditInfo.fallback`."""


class ReteOrInterpreter:
    """The default backend: Rete; where Rete cannot decide an applicant exactly (a value beyond what the engine
    holds, such as money from 10^14 yuan; a version it cannot compile), the reference interpreter, whose
    meaning it is anyway. The decision's audit says so (`backend` "interpreter", `fallback` why)."""

    name = "rete"

    def evaluate(self, version: PolicyVersion, facts: Facts) -> tuple[list[ClauseResult], list[EngineFiring]]:
        try:
            return _RETE.evaluate(version, facts)
        except (ReteUnsupportedValue, ReteCompileError) as exc:
            results, _ = _INTERPRETER.evaluate(version, facts)
            why = str(exc).removesuffix("; use backend='interpreter'")
            return results, [Fallback(clause=version.key, rule="", detail=why)]


_INTERPRETER = InterpreterBackend()
_RETE = ReteBackend()
_DEFAULT = ReteOrInterpreter()


def audit_of(backend: Backend, firings: list[EngineFiring]) -> tuple[str, list[EngineFiring], list[str]]:
    """What the audit records: the backend's name ("interpreter" if it left any version to the interpreter),
    the engine's firings, and each version left to the interpreter with why."""
    fallback = [f"{f.clause}: decided by the reference interpreter: {f.detail}"
                for f in firings if isinstance(f, Fallback)]
    fired = [f for f in firings if not isinstance(f, Fallback)]
    return ("interpreter" if fallback else backend.name), fired, fallback


def available_backends() -> list[str]:
    """The backends that can run in this process: `rete` only where durable_rules imports (Python < 3.13)."""
    return ["interpreter"] if unavailable_reason() else ["interpreter", "rete"]


def default_backend() -> Backend:
    """`rete` where durable_rules imports (the reference interpreter deciding what Rete cannot hold exactly),
    the reference interpreter otherwise."""
    return _INTERPRETER if unavailable_reason() else _DEFAULT


def get_backend(backend: str | Backend | None) -> Backend:
    """The backend named, or the default one."""
    if backend is None:
        return default_backend()
    if not isinstance(backend, str):
        return backend
    if backend == "interpreter":
        return _INTERPRETER
    if backend == "rete":   # asked for by name: Rete or an error, never the interpreter in its place
        reason = unavailable_reason()
        if reason:
            raise ReteUnavailable(reason)
        return _RETE
    raise PolicyEngineError(f"unknown backend {backend!r} (available: {', '.join(available_backends())})")
