"""The exceptions policyengine raises; each renders as one clear line."""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from pathlib import Path


class PolicyEngineError(Exception):
    """Base class: every error the library raises on bad input derives from it."""


class RuleError(PolicyEngineError):
    """A rule file is malformed: names the file, line and key path."""

    def __init__(self, message: str, *, file: Path | str | None = None, line: int | None = None,
                 path: str = "") -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.path = path
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<rules>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class RuleErrors(PolicyEngineError):
    """Several rule errors found in one load; each is one line."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.render() for e in errors))


class FactError(PolicyEngineError):
    """A fact value cannot be read as its declared type, or names no known fact.

    `fact` is the fact's id (`rd_expense`) or, for a key that names no fact, the key as given; `label` its
    Chinese label (`上年度研发费用`, None for an unknown key); `value` the raw value given; `reason` (also
    `message`) what is wrong with it, `reason_zh` (also `message_zh`) the same in Chinese for clerks (the English
    reason where no Chinese wording was given). `str(exc)` is one line: `rd_expense (上年度研发费用): reason
    (value ...)`.
    """

    def __init__(self, fact: str, value: object, reason: str, *, label: str | None = None,
                 reason_zh: str | None = None) -> None:
        self.fact = fact
        self.label = label
        self.value = value
        self.reason = reason
        self.reason_zh = reason_zh if reason_zh is not None else reason
        where = f"{fact} ({label})" if label else fact
        super().__init__(f"{where}: {reason} (value {brief(value)})" if value is not None else f"{where}: {reason}")

    @property
    def message(self) -> str:
        """What is wrong with the value, without the fact's name (for a form, beside the field)."""
        return self.reason

    @property
    def message_zh(self) -> str:
        """`message` in Chinese (for a clerk's form or sheet)."""
        return self.reason_zh


class FactErrors(FactError):
    """Every fact of one applicant that cannot be read, each a `FactError` in `errors` (in the order given,
    then the required facts not given); one line each. As a `FactError` it reads as the first of them, so
    code that handles one bad fact keeps working."""

    def __init__(self, errors: list[FactError]) -> None:
        if not errors:
            raise ValueError("FactErrors needs at least one FactError")
        self.errors = list(errors)
        first = self.errors[0]
        self.fact, self.label, self.value, self.reason = first.fact, first.label, first.value, first.reason
        self.reason_zh = first.reason_zh
        PolicyEngineError.__init__(self, "\n".join(str(e) for e in self.errors))


class Unreadable(ValueError):
    """Why a value cannot be read, in English (`str(exc)`, `reason`) and in Chinese (`reason_zh`): raised where a
    cell is read (facts/cells.py, money.py, uscc.py) and turned into a `FactError` that carries both."""

    def __init__(self, reason: str, reason_zh: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_zh = reason_zh


class EvaluationError(PolicyEngineError):
    """An expression could not be computed for an applicant (for example a division by zero)."""


class CannotCompile(PolicyEngineError):
    """A backend cannot compile a construct of a version faithfully; the message says which and what to use."""


class InternalConsistencyError(PolicyEngineError):
    """Two evaluators disagreed about a decision: never turned into a decision."""


BRIEF = 80
"""How many characters of a value an error message shows at most."""

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple, _REPR.maxset = 3, 4, 4, 4, 4
_REPR.maxfrozenset, _REPR.maxdeque, _REPR.maxarray = 4, 4, 4
_REPR.maxstring = _REPR.maxother = BRIEF


def brief(value: object, limit: int = BRIEF) -> str:
    """A short repr of `value` (at most about `limit` characters), so that a message stays one short line
    whatever the value: a long text is cut (`'12345…' (5,000 characters)`), a huge number is described, a
    container shows a few items of a few levels (a structure that shares its parts is never expanded)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        return f"<a number of about {int(value.bit_length() * 0.30103):,} digits>"
    try:
        text = _REPR.repr(value)
    except (ValueError, RecursionError):  # e.g. a huge int inside a container
        return f"<a {type(value).__name__}>"
    return text if len(text) <= limit + 3 else text[:limit] + "…"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix for the closest candidates, or ''."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=2, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(close) + "?)"


def did_you_mean_zh(name: str, candidates: Iterable[str]) -> str:
    """`did_you_mean` in Chinese: a '（是否应为 X？）' suffix, or ''."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=2, cutoff=0.6)
    if not close:
        return ""
    return "（是否应为 " + " 或 ".join(close) + "？）"
