"""The drafter's loop, tried as a drafter would: a copy of rules/huangzuan16 edited in place, then the CLI.

Application years of every version are checked whichever version is named (`DIR@VERSION`), overlapping
years name the fix; `test` holds every case to the applicant invariants and warns on a year outside the
version's window; a catalogue fact the version does not list, and full-width symbols, say what to write.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .drafting_support import run
from .support import FIXTURES, ROOT


def package(tmp: Path) -> Path:
    """A drafter's working copy: rules/facts.yaml and rules/huangzuan16 (2.0, 3.0) under `tmp/rules`."""
    rules = tmp / "rules"
    rules.mkdir()
    shutil.copy(ROOT / "rules" / "facts.yaml", rules / "facts.yaml")
    shutil.copytree(ROOT / "rules" / "huangzuan16", rules / "huangzuan16")
    return rules / "huangzuan16"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_version(pkg: Path, name: str, effective: str) -> Path:
    """`cp -r 3.0 <name>`, then the version and its years changed in policy.yaml."""
    shutil.copytree(pkg / "3.0", pkg / name)
    policy = pkg / name / "policy.yaml"
    edit(policy, 'version: "3.0"', f'version: "{name}"')
    text = policy.read_text(encoding="utf-8")
    policy.write_text(re.sub(r"effective: \{[^}]*\}", f"effective: {effective}", text, count=1), encoding="utf-8")
    return policy


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_a_new_version_overlapping_the_last_is_reported_by_every_drafting_command(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    add_version(pkg, "4.0", "{from: 2023}")
    old_policy = pkg / "3.0" / "policy.yaml"
    fix = (f'give 3.0 "to: 2022" (effective: {{from: 2021, to: 2022}}) (at {old_policy}:'
           f'{line_of(old_policy, "effective:")})')
    outputs = {}
    for command in (["lint"], ["test"], ["check", "--max-examples", "5"]):
        result = run(*command, f"{pkg}@4.0")
        assert result.exit_code == 1, (command, result.output)
        assert "versions 3.0 (2021–) and 4.0 (2023–) both govern application year 2023" in result.output, command
        assert fix in result.output, command
        outputs[command[0]] = result.output.strip().splitlines()
    assert "huangzuan16@4.0: 1 package error (below) (16 clauses" in outputs["lint"][0]  # not "ok"
    assert outputs["lint"][-1] == "1 error, 0 warnings, 2 infos"
    assert outputs["test"][-1].endswith("; 1 package error (above)")
    assert outputs["check"][-1] == "no violations found; 1 package error (above)"
    # the whole package, as before, names both versions; but lint, test and check go on and exit 1, not 2
    whole = run("lint", str(pkg))
    assert whole.exit_code == 1
    assert "huangzuan16@3.0: 1 package error (below)" in whole.output
    assert "huangzuan16@2.0: ok" in whole.output

    edit(old_policy, "effective: {from: 2021}", "effective: {from: 2021, to: 2022}")  # the fix, as suggested
    fixed = run("lint", f"{pkg}@4.0")
    assert fixed.exit_code == 0, fixed.output
    assert "huangzuan16@4.0: ok (16 clauses" in fixed.output
    assert "windows" not in fixed.output


def test_prove_checks_the_years_of_every_version(tmp_path: Path) -> None:
    """`prove` runs the same check (on a small package: proving huangzuan16 takes seconds)."""
    pkg = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini" / "1.0", pkg / "1.0")
    policy = pkg / "1.1" / "policy.yaml"
    shutil.copytree(pkg / "1.0", pkg / "1.1")
    edit(policy, 'version: "1.0"', 'version: "1.1"')
    edit(policy, "effective: {from: 2021, to: 2022}", "effective: {from: 2022}")
    result = run("prove", f"{pkg}@1.1")
    assert result.exit_code == 1
    assert (f"mini: {policy}:{line_of(policy, 'effective:')}: error: versions 1.0 (2021–2022) and 1.1 (2022–) both "
            'govern application year 2022: an application year must pick one version; to end 1.0 where 1.1 '
            'begins, give 1.0 "to: 2021"') in result.output
    assert result.output.strip().splitlines()[-1] == "no violations; 1 package error (above)"
    edit(pkg / "1.0" / "policy.yaml", "to: 2022", "to: 2021")
    assert run("prove", f"{pkg}@1.1").exit_code == 0


def test_a_gap_is_a_warning_whichever_version_is_named(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    edit(pkg / "3.0" / "policy.yaml", "effective: {from: 2021}", "effective: {from: 2021, to: 2022}")
    policy = add_version(pkg, "4.0", "{from: 2025}")
    gap = (f"huangzuan16: {policy}:{line_of(policy, 'effective:')}: warning: no version governs application "
           "years 2023–2024 (version 3.0 ends 2022, 4.0 starts 2025) [windows-gap]")
    result = run("lint", f"{pkg}@2.0", f"{pkg}@4.0")  # two versions named: the package's windows reported once
    assert result.exit_code == 0, result.output
    assert result.output.count(gap) == 1, result.output
    assert "huangzuan16@2.0: ok (16 clauses" in result.output and "huangzuan16@4.0: ok (16 clauses" in result.output
    assert result.output.strip().splitlines()[-1] == "0 errors, 1 warning, 4 infos"


def test_a_sibling_that_does_not_load_does_not_stop_the_named_version(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    edit(pkg / "2.0" / "policy.yaml", "hightech_cert_year == Y - 1", "hightech_cert_yr == Y - 1")
    result = run("test", f"{pkg}@3.0")
    assert result.exit_code == 0, result.output
    assert "warning: version 2.0 does not load" in result.output
    assert run("test", str(pkg)).exit_code == 2  # the whole package: 2.0's error, as before


def test_test_warns_when_a_cases_year_is_outside_the_window(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    edit(pkg / "3.0" / "policy.yaml", "effective: {from: 2021}", "effective: {from: 2021, to: 2022}")
    add_version(pkg, "4.0", "{from: 2023}")  # its test cases still say 申报年度 2021
    result = run("test", f"{pkg}@4.0")
    assert result.exit_code == 0, result.output  # a warning, not a failure
    cases = len([line for line in (pkg / "4.0" / "tests.yaml").read_text(encoding="utf-8").splitlines()
                 if line.startswith("  - name:")])
    assert (f"WARNING huangzuan16@4.0: {cases} test cases: 申报年度 2021 is outside huangzuan16@4.0's application "
            "years 2023–") in result.output
    assert f"  … and {cases - 3} more" in result.output
    assert result.output.strip().splitlines()[-1] == f"{cases} passed, 0 failed, {cases} with warnings"
    assert "WARNING" not in run("test", f"{pkg}@3.0").output


def test_test_reports_a_case_that_breaks_an_invariant(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    # the drafter states a cap lower than a01's award: every case where a01 pays 100,000 breaks it
    edit(pkg / "3.0" / "invariants.yaml", "invariants:\n",
         "invariants:\n  - {id: a01_small, statement: a01.amount <= 50000, description: 首次认定奖励不超过5万元}\n")
    result = run("test", f"{pkg}@3.0")
    assert result.exit_code == 1
    assert "FAILED huangzuan16@3.0 :: a01 上年度首次认定 → 100,000" in result.output
    assert ("  invariant a01_small broken 违反不变式 (首次认定奖励不超过5万元): a01.amount <= 50000 is false "
            "(100000 <= 50000)") in result.output
    failing = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert failing and all("a01" in line or "HT" in line or "单户" in line or "就高" in line for line in failing), \
        failing


def test_a_catalogue_fact_missing_from_the_facts_list_says_to_add_it(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    policy = pkg / "3.0" / "policy.yaml"
    edit(policy, "hightech_cert_year == Y - 1", "cultivation_pool_year == Y - 1")
    result = run("lint", f"{pkg}@3.0")
    assert result.exit_code == 2
    assert (f"{policy}:{line_of(policy, 'cultivation_pool_year')}: clauses[0].conditions[2]: unknown name "
            "'cultivation_pool_year': the fact catalogue has it (高新技术企业培育库入库年份), but this version's "
            f"facts: list does not; add cultivation_pool_year to facts: [...] at {policy}:"
            f"{line_of(policy, 'facts: [name')}") in result.stderr
    assert "did you mean" not in result.stderr
    edit(policy, "facts: [name,", "facts: [name, cultivation_pool_year,")  # as told
    assert run("lint", f"{pkg}@3.0").exit_code == 0


@pytest.mark.parametrize(("old", "new", "char", "ascii_text"), [
    ("hightech_cert_year == Y - 1", "hightech_cert_year ≥ Y - 1", "≥", "hightech_cert_year >= Y - 1"),
    ("amount: 10% *", "amount: 10％ *", "％", "10% * (rd_expense - rd_expense_prev)"),
    ("hightech_cert_year == Y - 1", "（hightech_cert_year == Y - 1）", "（", "(hightech_cert_year == Y - 1)"),
    ('hightech_status == "首次认定"', "hightech_status == “首次认定”", "“", 'hightech_status == "首次认定"'),
])
def test_full_width_symbols_suggest_the_ascii_form(tmp_path: Path, old: str, new: str, char: str,
                                                   ascii_text: str) -> None:
    pkg = package(tmp_path)
    edit(pkg / "3.0" / "policy.yaml", old, new)
    result = run("lint", f"{pkg}@3.0")
    assert result.exit_code == 2
    assert f"unexpected character '{char}'" in result.stderr
    assert f"(an expression is written with ASCII symbols, 表达式请用半角符号): {ascii_text!r}" in result.stderr
