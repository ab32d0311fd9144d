"""docs/cli-score.md: every `$ policyengine ...` command in it runs, from the repository root, and writes the
files it names."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cli-score.md"
COMMANDS = re.findall(r"^\$ policyengine (.+)$", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)


def test_the_page_has_commands() -> None:
    assert len(COMMANDS) >= 4


@pytest.mark.parametrize("command", COMMANDS)
def test_command_runs(tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("examples", "rules"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLICYENGINE_RULES", str(tmp_path / "rules"))
    args = shlex.split(command)
    if args[0] == "replay":   # the file it replays: written by the page's command that names it
        made = CliRunner().invoke(main, shlex.split(next(c for c in COMMANDS if f"--audit {args[1]}" in c)))
        assert made.exit_code == 0, made.output
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for option in ("--out", "--rejects", "--audit", "--summary"):
        if option in args:
            assert os.path.getsize(args[args.index(option) + 1]) > 0
