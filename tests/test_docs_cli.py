"""docs/cli.md and the console examples of docs/authoring.md: every `$ policyengine …` runs and prints what the
page shows."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli import main

from .console_docs import Shown, mismatch, shown_commands
from .support import ROOT

PAGES = ["cli.md", "authoring.md"]
COMMANDS = [(page, shown) for page in PAGES
            for shown in shown_commands((ROOT / "docs" / page).read_text(encoding="utf-8"))]


def test_pages_show_commands() -> None:
    assert {page for page, _ in COMMANDS} == set(PAGES)


@pytest.mark.parametrize(("page", "shown"), COMMANDS, ids=[f"{p}: {s.command[13:60]}" for p, s in COMMANDS])
def test_command_prints_what_the_page_shows(page: str, shown: Shown, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("rules", "examples", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    args = shlex.split(shown.command)
    assert args[0] == "policyengine"
    result = CliRunner().invoke(main, args[1:])
    assert result.exit_code == shown.status, result.output + result.stderr
    problem = mismatch(shown.output, result.stdout.rstrip("\n").split("\n") if result.stdout else [])
    assert problem is None, f"{page}: {shown.command}: {problem}\n--- printed:\n{result.stdout}"
