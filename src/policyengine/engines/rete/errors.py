"""The errors of the Rete backend."""

from __future__ import annotations

from policyengine.errors import CannotCompile, InternalConsistencyError, PolicyEngineError


class ReteUnavailable(PolicyEngineError):
    """durable_rules does not import here (for example on Python 3.13): use the interpreter."""


class ReteCompileError(CannotCompile):
    """A package version has an expression the Rete backend cannot test faithfully."""


class ReteUnsupportedValue(PolicyEngineError):
    """A fact value the engine cannot hold exactly (for example money beyond its 64-bit integers)."""


class ReteEngineError(InternalConsistencyError):
    """The engine misbehaved: a fact left over from an earlier applicant, an unknown rule, a failed call."""
