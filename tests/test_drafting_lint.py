"""`policyengine lint` beyond loading: unknown/unused facts, never-eligible clauses, windows, groups."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from policyengine import load_package
from policyengine.drafting.analysis import conjuncts
from policyengine.drafting.lint_rules import contradiction
from policyengine.lang.parser import parse
from policyengine.model.policy import PolicyVersion

from .drafting_support import run
from .support import FIXTURES, ROOT


@pytest.fixture(scope="module")
def mini() -> PolicyVersion:
    return load_package(FIXTURES / "mini").versions[0]


@pytest.mark.parametrize(("text", "never"), [
    ("spend >= 10 and spend < 5", True),
    ("spend >= 10 and spend <= 10", False),
    ("spend > 10 and spend < 10", True),
    ("spend > 4 and spend < 5", False),                 # money: 4.5 yuan
    ("staff > 4 and staff < 5", True),                  # a whole number of people
    ("staff >= 3 and staff <= 4 and staff != 3 and staff != 4", True),
    ("staff < 0", True),                                # counts are never negative
    ("share > 100%", True),                             # a rate is at most 100%
    ("spend - spend_prev > 0 and spend < spend_prev", False),  # two facts: not read, so never claimed
    ('level == "市级" and level == "省级"', True),
    ('level == "市级" and level != "市级"', True),
    ('level in ["市级", "省级"] and level not in ["市级", "省级"]', True),
    ('level != "无" and level != "市级"', False),
    ('level != "无" and level != "市级" and level != "省级"', True),
    ("honest == true and not (honest == true)", True),
    ("level_year == application_year - 1 and level_year >= application_year", True),
    ("level_year == application_year - 1 and level_year >= application_year - 3", False),
    ("application_year <= 2020", True),                 # mini governs 2021–2022
    ('district == "皇姑区" and district == "铁西区"', True),
    ('district != "皇姑区"', False),
    ("spend >= 10 or spend < 5", False),                # a disjunction is not read
])
def test_contradictions(mini: PolicyVersion, text: str, never: bool) -> None:
    assert (contradiction(conjuncts(parse(text)), mini) is not None) == never


def test_bundled_packages_lint_with_infos_only() -> None:
    result = run("lint", str(ROOT / "rules" / "huangzuan16"), str(ROOT / "rules" / "municipal"))
    assert result.exit_code == 0, result.output
    assert "huangzuan16@3.0: ok" in result.output
    # a01 (首次认定) and a02 (重新认定) can never both be eligible: said as information, with the group's line
    assert re.search(r"policy\.yaml:\d+: info: group HT: a01 and a02 can never both be eligible", result.output)
    assert "error:" not in result.output and "warning:" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("0 errors, 0 warnings")


def _broken(tmp: Path) -> Path:
    """mini with an unused fact, a typo in a reason, a clause that can never be eligible, and an enum clash."""
    pkg = tmp / "mini"
    shutil.copytree(FIXTURES / "mini", pkg)
    policy = pkg / "1.0" / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    for old, new in (
        ("  - {name: share, type: rate, label: 占比, blank: unknown}",
         "  - {name: share, type: rate, label: 占比, blank: unknown}\n"
         "  - {name: patents, type: integer, label: 专利数, blank: zero}"),
        ("{spend_prev} → {spend}", "{spend_prv} → {spend}"),
        ("conditions: [E, share >= 80%]", "conditions: [E, share >= 80%, share < 50%]"),
        ("conditions: [E, staff >= 1]", 'conditions: [E, staff >= 1, level == "市级", level == "省级"]'),
    ):
        assert old in text
        text = text.replace(old, new)
    policy.write_text(text, encoding="utf-8")
    return pkg


def _line(file: Path, needle: str) -> int:
    return next(i for i, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_broken_fixture_findings_name_file_and_line(tmp_path: Path) -> None:
    pkg = _broken(tmp_path)
    policy = pkg / "1.0" / "policy.yaml"
    result = run("lint", str(pkg))
    assert result.exit_code == 1
    out = result.output
    assert f"{policy}:{_line(policy, 'name: patents')}: warning: fact patents (专利数) is declared but no clause " \
           "or definition reads it [unused-fact]" in out
    assert f"{policy}:{_line(policy, 'spend_prv')}: error: clause c03: the reason names {{spend_prv}}" in out
    assert "did you mean spend_prev" in out
    assert f"{policy}:{_line(policy, 'share < 50%')}: error: clause c04 (占比奖励) can never be eligible: " \
           "占比 >= 80% and 占比 < 50% cannot all hold" in out
    assert '级别 == "市级" and 级别 == "省级" cannot all hold' in out
    assert "mini@1.0: 3 errors" in out
    assert out.strip().splitlines()[-1] == "3 errors, 1 warning, 1 info"


def _versions(tmp: Path, *windows: tuple[str, str]) -> Path:
    pkg = tmp / "mini"
    for version, effective in windows:
        shutil.copytree(FIXTURES / "mini" / "1.0", pkg / version)
        policy = pkg / version / "policy.yaml"
        text = policy.read_text(encoding="utf-8")
        text = text.replace('version: "1.0"', f'version: "{version}"')
        text = text.replace("effective: {from: 2021, to: 2022}", f"effective: {effective}")
        policy.write_text(text, encoding="utf-8")
    return pkg


def test_a_gap_between_versions_is_a_warning(tmp_path: Path) -> None:
    pkg = _versions(tmp_path, ("1.0", "{from: 2021, to: 2022}"), ("2.0", "{from: 2024}"))
    result = run("lint", str(pkg))
    assert result.exit_code == 0, result.output
    policy = pkg / "2.0" / "policy.yaml"
    assert f"mini: {policy}:{_line(policy, 'effective:')}: warning: no version governs application year 2023 " \
           "(version 1.0 ends 2022, 2.0 starts 2024) [windows-gap]" in result.output


def test_overlapping_versions_are_an_error_with_file_and_line(tmp_path: Path) -> None:
    pkg = _versions(tmp_path, ("1.0", "{from: 2021, to: 2022}"), ("1.1", "{from: 2022}"))
    result = run("lint", str(pkg))
    assert result.exit_code == 1
    policy = pkg / "1.1" / "policy.yaml"
    assert f"{policy}:{_line(policy, 'effective:')}: error: versions 1.0 (2021–2022) and 1.1 (2022–) both govern " \
           "application year 2022" in result.output


def test_a_load_error_is_still_one_line_and_exit_2(tmp_path: Path) -> None:
    pkg = _versions(tmp_path, ("1.0", "{from: 2021, to: 2022}"), ("2.0", "{from: 2023}"))
    policy = pkg / "2.0" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("staff >= 1", "stafff >= 1"), encoding="utf-8")
    result = run("lint", str(pkg))
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "did you mean staff" in result.stderr
