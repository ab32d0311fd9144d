"""The generated clause-table pages (docs/rules/*.md) and `policyengine doc`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine import load_package
from policyengine.cli import main
from policyengine.drafting.clausetable import clause_table_markdown

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("huangzuan16", "municipal")


@pytest.mark.parametrize("name", PACKAGES)
def test_committed_page_matches_the_rule_files(name: str) -> None:
    page = ROOT / "docs" / "rules" / f"{name}.md"
    generated = clause_table_markdown(load_package(ROOT / "rules" / name))
    committed = page.read_text(encoding="utf-8") if page.exists() else ""
    assert committed == generated, (
        f"docs/rules/{name}.md is out of date with rules/{name}; regenerate it with:\n"
        f"    policyengine doc rules/{name} -o docs/rules/{name}.md")


def test_page_says_the_numbers_are_reconstructed_and_how_to_correct_them() -> None:
    page = clause_table_markdown(load_package(ROOT / "rules" / "huangzuan16"))
    top = page[:page.index("## Version")]
    assert "reconstructed, not verified" in top and "`verified: false`" in top
    for step in ("policy.yaml", "`verified: true`", "policyengine lint rules/huangzuan16",
                 "policyengine test rules/huangzuan16",
                 "policyengine doc rules/huangzuan16 -o docs/rules/huangzuan16.md"):
        assert step in top, step
    assert "version 3.0: 16 of 16 clauses" in top


def _row(page: str, version: str, clause_id: str) -> str:
    section = page[page.index(f"## Version {version} "):]
    return next(line for line in section.splitlines() if line.startswith("| ") and f" | {clause_id} | " in line)


def test_clause_rows_use_chinese_labels_and_the_brief_numbers() -> None:
    page = clause_table_markdown(load_package(ROOT / "rules" / "huangzuan16"))
    a05 = _row(page, "3.0", "a05")
    assert "上年度研发费用 ≥ 50万" in a05 and "上年度研发费用 > 前年度研发费用" in a05
    assert "10% × (上年度研发费用 − 前年度研发费用)" in a05 and "500,000 (50万元)" in a05
    assert "rd_expense" not in a05
    assert "载体入驻率 ≥ 70%" in _row(page, "2.0", "a08")
    assert "(若 赛事级别 = 国家级 则 100% 否则 50%) × PRIZE[赛事获奖等次]" in _row(page, "3.0", "a15")
    assert _row(page, "3.0", "a01").split(" | ")[6] == "HT"
    assert "Per-applicant cap: 5,000,000 (500万元)" in page and "Annual fund: 30,000,000 (3000万元)" in page
    assert "Per-applicant cap: 3,000,000 (300万元)" in page and "Annual fund: 20,000,000 (2000万元)" in page
    assert "`CARRIER[…]`: 无 0 · 市级 30万 · 省级 50万 · 国家级 100万" in page
    assert page.index("## Version 3.0") < page.index("## Version 2.0")  # the version in force first


def test_municipal_page_has_no_caps() -> None:
    page = clause_table_markdown(load_package(ROOT / "rules" / "municipal"))
    assert "Per-applicant cap: none." in page and "Annual fund: none." in page
    assert "高新技术企业培育库入库年份 = Y − 1<br>高新技术企业认定类型 = 无" in _row(page, "2019", "m03")


def test_a_verified_package_gets_no_reconstruction_banner(tmp_path: Path) -> None:
    copy = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", copy)
    policy = copy / "municipal" / "2019" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("verified: false", "verified: true"),
                      encoding="utf-8")
    page = clause_table_markdown(load_package(copy / "municipal"))
    assert "reconstructed, not verified" not in page
    assert "Every clause of every version is marked `verified: true`" in page


def test_doc_command_prints_and_writes_the_page(tmp_path: Path) -> None:
    expected = clause_table_markdown(load_package(ROOT / "rules" / "municipal"))
    runner = CliRunner()
    printed = runner.invoke(main, ["doc", str(ROOT / "rules" / "municipal")])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == expected
    out = tmp_path / "docs" / "municipal.md"
    written = runner.invoke(main, ["doc", str(ROOT / "rules" / "municipal"), "-o", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8") == expected


def test_doc_command_reports_a_missing_package_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["doc", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such package folder" in result.output
