"""Evaluation backends behind one interface: each turns (version, facts) into clause results."""

from __future__ import annotations

from typing import Protocol

from policyengine.decide.decision import ClauseResult, EngineFiring
from policyengine.engines.interpreter import evaluate_clauses
from policyengine.engines.rete import ReteBackend, ReteUnavailable, unavailable_reason
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


_INTERPRETER = InterpreterBackend()
_RETE = ReteBackend()


def available_backends() -> list[str]:
    """The backends that can run in this process: `rete` only where durable_rules imports (Python < 3.13)."""
    return ["interpreter"] if unavailable_reason() else ["interpreter", "rete"]


def default_backend() -> Backend:
    """`rete` where durable_rules imports, the reference interpreter otherwise."""
    return _INTERPRETER if unavailable_reason() else _RETE


def get_backend(backend: str | Backend | None) -> Backend:
    """The backend named, or the default one."""
    if backend is None:
        return default_backend()
    if not isinstance(backend, str):
        return backend
    if backend == "interpreter":
        return _INTERPRETER
    if backend == "rete":
        reason = unavailable_reason()
        if reason:
            raise ReteUnavailable(reason)
        return _RETE
    raise PolicyEngineError(f"unknown backend {backend!r} (available: {', '.join(available_backends())})")
