"""Running `policyengine score` on a file in a bounded time, and reading back what it wrote."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from policyengine.cli import main
from policyengine.facts.uscc import check_character


def uscc(i: int) -> str:
    body = f"9121010500{i:07d}"
    return body + check_character(body)


def physical_data_lines(text: str) -> int:
    """Lines below a one-line header, as a text editor counts them (LF, CR LF or a lone CR end a line)."""
    ends = len(re.findall(r"\r\n|\r|\n", text))
    lines = ends + (0 if text == "" or text.endswith(("\n", "\r")) else 1)
    return max(lines - 1, 0)


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    rejects: list[tuple[int, str, str, str]] = field(default_factory=list)
    """(row, column, value, reason) as the rejects file lists them"""
    out: Path | None = None

    @property
    def rows(self) -> dict[str, int]:
        return dict(self.summary["rows"])

    def reasons(self) -> dict[int, list[str]]:
        by: dict[int, list[str]] = {}
        for row, _column, _value, reason in self.rejects:
            by.setdefault(row, []).append(reason)
        return by


def bounded(fn: Any, seconds: float) -> Any:
    """`fn()` in a worker thread; fails the test if it gives no answer within `seconds` (instead of hanging)."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"no answer within {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


@contextmanager
def packages_loaded_once() -> Iterator[None]:
    """While open, `policyengine score` loads each selection of rule packages once and reuses it (as a library
    user keeps the list): for tests that run many input files against the same rules, whose subject is the input,
    not the loading of rule files (tested on its own)."""
    import policyengine.cli.score as score_cli

    real = score_cli.load_packages
    loaded: dict[tuple[str, ...], Any] = {}

    def once(refs: Sequence[str]) -> Any:
        key = tuple(refs)
        if key not in loaded:
            loaded[key] = real(refs)
        return loaded[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(score_cli, "load_packages", once)
        yield


def cli(*args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess[str]:
    """`policyengine ARGS` in this process (click's runner; a subprocess would pay the imports again), as
    `python -m policyengine ARGS` would see it: `sys.argv` is the command line (runs record it), stdout and stderr
    apart, the exit status. Fails the test on an exception other than an exit, or without an answer in `timeout` s."""
    argv = ["policyengine", *args]

    def invoke() -> Result:
        saved, sys.argv = sys.argv, argv
        try:
            return CliRunner().invoke(main, list(args), prog_name="policyengine")
        finally:
            sys.argv = saved

    result: Result = bounded(invoke, timeout)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    done = subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def score(path: Path, *extra: str, seconds: float = 20, out_suffix: str = ".out.csv") -> Outcome:
    """`policyengine score PATH --out … --summary … -q`, bounded in time; the outputs read back on success.

    Checks what every run must satisfy: no traceback; exit 0, or exit 2 with one line `error: …` on stderr;
    and rows in = rows out + rows rejected."""
    out = path.with_name(path.stem + out_suffix)
    summary = path.with_name(path.stem + ".summary.json")
    rejects = path.with_name(path.stem + ".rejects.csv")
    args = ["score", str(path), "--out", str(out), "--rejects", str(rejects), "--summary", str(summary), "-q",
            *extra]
    start = time.monotonic()
    result: Result = bounded(lambda: CliRunner().invoke(main, args), seconds)
    took = time.monotonic() - start
    err = result.stderr
    assert "Traceback" not in result.output + err, result.output + err
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    outcome = Outcome(result.exit_code, result.stdout, err, took)
    if result.exit_code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, err
        return outcome
    outcome.summary = json.loads(summary.read_text(encoding="utf-8"))
    with rejects.open(encoding="utf-8-sig", newline="") as fh:
        outcome.rejects = [(int(r["row"]), r["column"], r["value"], r["reason"]) for r in csv.DictReader(fh)]
    rows = outcome.rows
    assert rows["in"] == rows["out"] + rows["rejected"], rows
    assert rows["rejected"] == len({r[0] for r in outcome.rejects}), rows
    outcome.out = out
    return outcome
