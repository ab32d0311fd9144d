"""The examples in docs/api.md run, and print what the page says they print."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from .support import ROOT

BLOCK = re.compile(r"```python\n(.*?)```", re.S)
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def _blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def _expected_output(block: str) -> str:
    return "".join(line[2:] + "\n" for line in block.splitlines() if line.startswith("# ") or line == "#")


def _code(block: str) -> str:
    return "\n".join(line for line in block.splitlines() if not line.startswith("# "))


@pytest.mark.parametrize("page", ["api.md"])
def test_examples_print_what_the_page_says(page: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # outside the repository: the examples load bundled packages by name
    namespace: dict[str, object] = {}
    blocks = _blocks(ROOT / "docs" / page)
    assert blocks, f"no examples in {page}"
    for i, block in enumerate(blocks):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(_code(block), f"{page}[block {i}]", "exec"), namespace)  # runs our own documentation examples
        assert out.getvalue() == _expected_output(block), f"{page}, example {i + 1}"
    assert os.getcwd() == str(tmp_path)


def test_authoring_guide_example_package_loads_and_passes(tmp_path: Path) -> None:
    from policyengine import load_package
    from policyengine.drafting.testcases import run_cases

    blocks = [b for b in YAML_BLOCK.findall((ROOT / "docs" / "authoring.md").read_text(encoding="utf-8"))
              if b.startswith("package:")]
    assert len(blocks) == 1
    folder = tmp_path / "example" / "2021"
    folder.mkdir(parents=True)
    (folder / "policy.yaml").write_text(blocks[0], encoding="utf-8")
    version = load_package(tmp_path / "example").version("2021")
    results = run_cases(version)
    assert len(results) == 2
    assert all(r.passed for r in results), [r.failures for r in results]


def test_authoring_guide_snippets_are_valid_rule_syntax() -> None:
    import yaml

    from policyengine.lang import parse
    from policyengine.model.rulefile import ClauseSpec, FactSpec, Settlement

    blocks = YAML_BLOCK.findall((ROOT / "docs" / "authoring.md").read_text(encoding="utf-8"))
    checked = 0
    for block in blocks:
        data = yaml.safe_load(block)
        if isinstance(data, list) and "id" in data[0]:
            clause = ClauseSpec.model_validate(data[0])
            for cond in clause.conditions:
                parse(cond if isinstance(cond, str) else cond.test)
            parse(str(clause.amount))
            checked += 1
        elif isinstance(data, list):
            FactSpec.model_validate(data[0])
            checked += 1
        elif "settlement" in data and "package" not in data:
            Settlement.model_validate(data["settlement"])
            checked += 1
    assert checked == 3


def test_readme_library_example_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the README says it works from any directory
    (block,) = _blocks(ROOT / "README.md")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})  # runs our own documentation example
    assert out.getvalue().splitlines() == [
        "eligible 40000 10% * (rd_expense - rd_expense_prev) = 10% * (1200000 - 800000) = 40000",
        "340000",
    ]
