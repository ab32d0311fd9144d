"""Evaluation backends behind one interface: each turns (version, facts) into clause results."""

from __future__ import annotations

from typing import Protocol

from .decision import ClauseResult, EngineFiring
from .errors import PolicyEngineError
from .facts import Facts
from .interpreter import evaluate_clauses
from .policy import PolicyVersion


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


def available_backends() -> list[str]:
    return ["interpreter"]


def default_backend() -> Backend:
    return _INTERPRETER


def get_backend(backend: str | Backend | None) -> Backend:
    """The backend named, or the default one."""
    if backend is None:
        return default_backend()
    if not isinstance(backend, str):
        return backend
    if backend == "interpreter":
        return _INTERPRETER
    raise PolicyEngineError(f"unknown backend {backend!r} (available: {', '.join(available_backends())})")
