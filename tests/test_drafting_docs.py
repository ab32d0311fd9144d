"""docs/drafting.md: every `$ policyengine …` command is run, and prints what the page shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli import main

from .console_docs import Shown, mismatch, shown_commands
from .support import ROOT

GUIDE = ROOT / "docs" / "drafting.md"
YAML = re.compile(r"```yaml\n# (\S+)\n(.*?)```", re.S)


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
    assert names == {"lint", "test", "check", "prove", "diff", "explain"}
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
