"""Console examples in the docs: the `$ command` lines of ```console blocks, with the output shown under them.

A line `...` in the shown output skips lines; `...` inside a line skips text; `(exit status N)` gives the
expected exit status (0 when absent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONSOLE = re.compile(r"```console\n(.*?)```", re.S)
EXIT = re.compile(r"^\(exit status (\d+)\)$")


@dataclass
class Shown:
    command: str
    output: list[str]
    status: int


def shown_commands(text: str) -> list[Shown]:
    """Each `$ command` of the page's console blocks, with the output and exit status shown under it."""
    out: list[Shown] = []
    for block in CONSOLE.findall(text):
        for line in block.rstrip("\n").split("\n"):
            if line.startswith("$ "):
                out.append(Shown(line[2:], [], 0))
            elif (m := EXIT.match(line)) is not None:
                out[-1].status = int(m.group(1))
            else:
                out[-1].output.append(line.rstrip())
    return out


def _same(pattern: str, line: str) -> bool:
    if "..." in pattern:
        return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("...")), line) is not None
    return pattern == line


def mismatch(expected: list[str], actual: list[str]) -> str | None:
    """Where `actual` departs from `expected` (a line `...` skips lines; `...` in a line skips text)."""
    i, skipping = 0, False
    for want in expected:
        if want.strip() == "...":
            skipping = True
            continue
        if skipping:
            while i < len(actual) and not _same(want, actual[i]):
                i += 1
            if i == len(actual):
                return f"not found after line {i}: {want!r}"
        elif i >= len(actual) or not _same(want, actual[i]):
            return f"line {i + 1}: expected {want!r}, got {actual[i] if i < len(actual) else 'the end'!r}"
        i += 1
        skipping = False
    if not skipping and i < len(actual):
        return f"line {i + 1}: unexpected {actual[i]!r}"
    return None
