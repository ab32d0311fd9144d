"""docs/drafting.md: every `$ policyengine …` command is run, and prints what the page shows."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli import main

from .support import ROOT

GUIDE = ROOT / "docs" / "drafting.md"
CONSOLE = re.compile(r"```console\n(.*?)```", re.S)
YAML = re.compile(r"```yaml\n# (\S+)\n(.*?)```", re.S)
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


def test_the_matcher_can_fail() -> None:
    assert mismatch(["a", "...", "d"], ["a", "b", "c", "d"]) is None
    assert mismatch(["a ... c"], ["a b c"]) is None
    assert mismatch(["a", "c"], ["a", "b"]) is not None
    assert mismatch(["a"], ["a", "b"]) is not None
    assert mismatch(["a", "..."], ["a", "b"]) is None
    assert mismatch(["...", "z"], ["a", "b"]) is not None


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder that sees the repository's rules, examples and tutorial, and keeps what commands write."""
    work = tmp_path_factory.mktemp("guide")
    for name in ("rules", "examples"):
        (work / name).symlink_to(ROOT / name)
    (work / "docs").mkdir()
    (work / "docs" / "tutorial").symlink_to(ROOT / "docs" / "tutorial")
    return work


COMMANDS = shown_commands(GUIDE.read_text(encoding="utf-8"))


def test_the_guide_shows_every_command() -> None:
    names = {shlex.split(c.command)[1] for c in COMMANDS}
    assert names == {"lint", "test", "check", "diff", "explain"}
    assert all(shlex.split(c.command)[0] == "policyengine" for c in COMMANDS)


@pytest.mark.parametrize("shown", COMMANDS, ids=[c.command[len("policyengine "):][:70] for c in COMMANDS])
def test_command_prints_what_the_guide_shows(shown: Shown, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    result = CliRunner().invoke(main, shlex.split(shown.command)[1:])
    assert result.exit_code == shown.status, result.output + result.stderr
    problem = mismatch(shown.output, result.output.rstrip("\n").split("\n"))
    assert problem is None, f"{shown.command}: {problem}\n--- printed:\n{result.output}"
    if "--report docs/diff-2.0-3.0.html" in shown.command:
        for name in ("diff-2.0-3.0.html", "diff-2.0-3.0.json"):
            assert (workdir / "docs" / name).read_bytes() == (ROOT / "docs" / name).read_bytes(), \
                f"docs/{name} is out of date: run the command above from the repository root"


@pytest.mark.parametrize(("path", "excerpt"), YAML.findall(GUIDE.read_text(encoding="utf-8")))
def test_yaml_excerpts_are_from_the_files_they_name(path: str, excerpt: str) -> None:
    assert excerpt.strip() and excerpt in (ROOT / path).read_text(encoding="utf-8"), path
