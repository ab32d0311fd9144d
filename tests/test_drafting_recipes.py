"""docs/drafting.md, section 7 (recipes): every step of every ```shell-session block is run, in order, in a working
folder holding a copy of the rules; `policyengine` commands print what the page shows, other steps succeed."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli import main

from .console_docs import mismatch
from .support import ROOT

GUIDE = ROOT / "docs" / "drafting.md"
SESSION = re.compile(r"```shell-session\n(.*?)```", re.S)
EXIT = re.compile(r"^\(exit status (\d+)\)$")
HEREDOC = re.compile(r"<<'(\w+)'$")


def steps(text: str) -> list[tuple[str, list[str], int]]:
    """(command, output shown, exit status) for each `$ ` step; a heredoc's lines belong to its command."""
    out: list[tuple[str, list[str], int]] = []
    for block in SESSION.findall(text):
        lines = block.rstrip("\n").split("\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if line.startswith("$ "):
                command = line[2:]
                end = HEREDOC.search(command)
                if end is not None:
                    body = []
                    while lines[i] != end.group(1):
                        body.append(lines[i])
                        i += 1
                    i += 1
                    command = "\n".join([command, *body, end.group(1)])
                out.append((command, [], 0))
            elif (m := EXIT.match(line)) is not None:
                out[-1] = (out[-1][0], out[-1][1], int(m.group(1)))
            else:
                out[-1][1].append(line.rstrip())
    return out


STEPS = steps(GUIDE.read_text(encoding="utf-8"))


def test_the_recipes_are_found() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for title in ("### 7.1 加一个版本 / Add a version", "### 7.2 加一条条款 / Add a clause",
                  "### 7.3 加一个事实 / Add a fact"):
        assert title in text
    commands = [c for c, _, _ in STEPS]
    assert sum(c == "cp -r rules draft" for c in commands) == sum(c == "rm -r draft" for c in commands) == 3
    assert {shlex.split(c)[0] for c in commands} == {"cp", "sed", "cat", "rm", "policyengine"}
    assert all(not out for c, out, _ in STEPS if not c.startswith("policyengine "))  # only policyengine prints


def test_every_step_of_the_recipes_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    for command, shown, status in STEPS:
        if command.startswith("policyengine "):
            result = CliRunner().invoke(main, shlex.split(command)[1:])
            assert result.exit_code == status, f"{command}\n{result.output}"
            problem = mismatch(shown, result.output.rstrip("\n").split("\n"))
            assert problem is None, f"{command}: {problem}\n--- printed:\n{result.output}"
        else:
            ran = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=False)
            assert ran.returncode == status, f"{command}\n{ran.stderr}"
    assert not (tmp_path / "draft").exists()  # each recipe cleans up after itself
    for name in ("facts.yaml", "huangzuan16/3.0/policy.yaml", "huangzuan16/3.0/tests.yaml"):
        assert (tmp_path / "rules" / name).read_bytes() == (ROOT / "rules" / name).read_bytes(), name
