"""SIGINT and SIGTERM as exceptions, so that every `finally` runs and a run cleans up after itself.

Python raises `KeyboardInterrupt` on SIGINT; `on_sigterm()` makes SIGTERM raise `Terminated` the same way
(the command line installs it; the library never touches signal handlers on its own). `deferred()` holds
both back for a few statements that must not be cut in half (moving a run's outputs into place) and raises
the one that arrived, if any, when they are done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

SIGINT_STATUS = 130   # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C
SIGTERM_STATUS = 143  # 128 + SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, like KeyboardInterrupt: nothing catches it by accident)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def on_sigterm() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM raises `Terminated`; the old handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """SIGINT and SIGTERM held back while the block runs, then raised (the first that arrived) when it ends.

    Only in the main thread, where Python runs signal handlers; elsewhere the block simply runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    old: dict[int, Any] = {int(sig): signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            if handler is not None:       # None: a handler installed outside Python, which cannot be put back
                signal.signal(sig, handler)
    if arrived:
        first = arrived[0]
        handler = old[first]
        if callable(handler):
            handler(first, None)          # the handler that was in place: raises KeyboardInterrupt / Terminated
        elif handler == signal.SIG_DFL:
            signal.raise_signal(first)    # no Python handler: the default action (the process ends)
