"""durable_rules' C extension, driven synchronously: no Host, no threads, no Python actions.

`durable.engine.Host` starts two timer threads that race with `delete_state`, and it runs Python actions
whose exceptions it swallows. This driver calls the extension `durable_rules_engine` directly:

- `create_ruleset` once per package version per process (never `delete_state`/`delete_ruleset`: deleting
  a state and then creating a ruleset can corrupt the heap);
- per applicant: assert the fact under one fixed session id and one fixed fact id (the engine identifies
  both by a 32-bit hash, so two applicants' own ids could collide; with one of each, one live state, and
  the 1,024-sessions limit, cannot bite), drain the action queue (the names of the rules that matched are
  the keys of each action batch; no Python code runs), and retract the fact in `finally`;
- an error while draining is raised, never swallowed, after the queue is emptied: the leased action is
  abandoned and every queued action taken and completed (a leased action keeps the next applicant's
  matches from being delivered; an abandoned one, retracted, makes the next completion segfault);
- the engine answering "already observed" means a fact was left from an earlier applicant: an error.

One lock serialises every engine call in the process.
"""

from __future__ import annotations

import json
import platform
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from policyengine.engines.rete.errors import ReteEngineError, ReteUnavailable
from policyengine.engines.rete.fields import FACT_ID, SID

ENGINE_LOCK = threading.Lock()

_RC_HANDLED, _RC_NOT_HANDLED, _RC_OBSERVED = 0, 1, 2
_RETRACT = json.dumps({"sid": SID, "id": FACT_ID})
_MAX_QUEUED = 100_000

_engine: Any = None
_import_error: str | None = None


def _load() -> None:
    global _engine, _import_error
    if _engine is not None or _import_error is not None:
        return
    try:
        import durable_rules_engine
    except ImportError as exc:  # durable_rules does not build or import on Python 3.13 and later
        _import_error = f"{type(exc).__name__}: {exc}"
    else:
        _engine = durable_rules_engine


def unavailable_reason() -> str | None:
    """Why the Rete backend cannot run in this process, or None when it can."""
    _load()
    if _import_error is None:
        return None
    return (f"the Rete backend is unavailable on Python {platform.python_version()}: durable_rules_engine does "
            f"not import ({_import_error}); use the reference interpreter (backend='interpreter')")


def engine() -> Any:
    """The durable_rules C extension, or `ReteUnavailable`."""
    reason = unavailable_reason()
    if reason is not None:
        raise ReteUnavailable(reason)
    return _engine


class EngineRuleset:
    """One durable_rules ruleset over the single applicant fact."""

    def __init__(self, name: str, definition: Mapping[str, Any]) -> None:
        self._dre = engine()
        self.name = name
        self.rule_names = frozenset(definition)
        self.poisoned: str | None = None
        text = json.dumps(definition, ensure_ascii=False, allow_nan=False)
        with ENGINE_LOCK:
            try:
                self._handle = self._dre.create_ruleset(name, text)
            except self._dre.error as exc:
                raise ReteEngineError(f"durable_rules refused the ruleset {name!r}: {exc}") from exc

    def fire(self, message: str) -> Counter[str]:
        """Assert `message` (the encoded applicant), return how often each rule matched, retract it."""
        dre, handle = self._dre, self._handle
        fired: Counter[str] = Counter()
        with ENGINE_LOCK:
            if self.poisoned:
                raise ReteEngineError(f"{self.name}: unusable since an earlier failure ({self.poisoned})")
            try:
                try:
                    rc, offset = dre.assert_fact(handle, message)
                    if rc == _RC_OBSERVED:
                        raise ReteEngineError(f"{self.name}: a fact from an earlier applicant was still in the engine")
                    if rc not in (_RC_HANDLED, _RC_NOT_HANDLED):
                        raise ReteEngineError(f"{self.name}: assert_fact returned code {rc}")
                    if rc == _RC_HANDLED:
                        self._drain(offset, fired)
                finally:
                    dre.retract_fact(handle, _RETRACT)
            except dre.error as exc:
                raise ReteEngineError(f"{self.name}: the engine failed: {exc}") from exc
        unknown = set(fired) - self.rule_names
        if unknown:
            raise ReteEngineError(f"{self.name}: the engine reported rules it was not given: {sorted(unknown)}")
        return fired

    def _drain(self, offset: int, fired: Counter[str]) -> None:
        dre, handle = self._dre, self._handle
        batch = None
        try:
            started = dre.start_action_for_state(handle, offset)
            batch = started[1] if started else None
            while batch is not None:
                fired.update(json.loads(batch).keys())  # {"rule": {"m": fact}}: one matched path
                batch = dre.complete_and_start_action(handle, offset)
        except BaseException as exc:
            self._recover(offset, leased=batch is not None, cause=exc)
            raise

    def _recover(self, offset: int, leased: bool, cause: BaseException) -> None:
        """Leave no action pending after a failure while draining, so the next applicant is safe.

        Measured on 2.0.28: an action left leased keeps the session's later matches from being delivered;
        `abandon_action` followed by the retraction makes the next `complete_and_start_action` segfault. So:
        abandon the leased action, then take and complete every queued action (discarding them). If that
        fails too, the ruleset is marked unusable and never called again.
        """
        dre, handle = self._dre, self._handle
        try:
            if leased:
                dre.abandon_action(handle, offset)
            started = dre.start_action_for_state(handle, offset)
            batch = started[1] if started else None
            for _ in range(_MAX_QUEUED):
                if batch is None:
                    return
                batch = dre.complete_and_start_action(handle, offset)
            raise ReteEngineError(f"more than {_MAX_QUEUED} queued actions")
        except BaseException as exc:
            self.poisoned = f"recovery after {cause!r} failed: {exc!r}"
            raise ReteEngineError(f"{self.name}: {self.poisoned}") from cause

    def live_facts(self) -> list[dict[str, Any]]:
        """The facts the engine holds for the session: [] between applicants."""
        with ENGINE_LOCK:
            facts: list[dict[str, Any]] = json.loads(self._dre.get_facts(self._handle, SID))
        return facts
