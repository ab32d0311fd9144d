"""`policyengine explain`: one applicant, every clause traced to its text, conditions, values and numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from policyengine import evaluate, load_package
from policyengine.drafting.population import read_sheet

from .drafting_support import run
from .support import ROOT, VALID_USCC

SHEET = ROOT / "examples" / "applicants_2021.csv"
HZ = ROOT / "rules" / "huangzuan16"


def _clause_block(out: str, heading: str) -> str:
    start = out.index(heading)
    nxt = re.search(r"\n  (第\d+条|合计)", out[start + 1:])
    return out[start: start + 1 + nxt.start()] if nxt else out[start:]


def test_every_clause_of_a_spreadsheet_row_is_explained() -> None:
    result = run("explain", str(SHEET), "--row", "2", "--package", f"{HZ}@3.0", "--labels", "id")
    assert result.exit_code == 0, result.output
    out = result.output
    version = load_package(f"{HZ}@3.0").versions[0]
    for c in version.clauses:
        assert f"第{c.article}条 {c.id} {c.title}:" in out
        assert f"条文 text: {c.text}" in out
    sheet = read_sheet(SHEET)
    row = sheet.row(2)
    facts = {h: v for h, v in zip(sheet.headers, row.values, strict=True) if v is not None and h in
             {s.label for s in version.facts.values()}}
    decision = evaluate(version, facts, version="3.0").package("huangzuan16")
    for r in decision.clauses:
        assert f"{r.clause} {r.title}: {r.status}" in out and f", {r.amount}\n" in out
    assert f"合计 total huangzuan16@3.0: {decision.total:,} 元" in out
    a05 = _clause_block(out, "第5条 a05")
    assert "✓ 上年度研发费用 >= 50万  [上年度研发费用=" in a05
    assert re.search(r"amount 金额: 10% \* \(上年度研发费用 - 前年度研发费用\) = 10% \* \(\d+ - \d+\) = \d+", a05)


def test_a_false_condition_shows_its_deciding_part_and_values(tmp_path: Path) -> None:
    facts = tmp_path / "a.json"
    facts.write_text(json.dumps({"统一社会信用代码": VALID_USCC, "申报年度": "2021", "注册地所在区": "皇姑区",
                                 "税收户管地所在区": "皇姑区", "是否列入严重失信主体名单": "否",
                                 "上年度研发费用": "499999", "前年度研发费用": "10万"}, ensure_ascii=False),
                     encoding="utf-8")
    result = run("explain", str(facts), "--package", str(HZ), "--labels", "id")
    assert result.exit_code == 0, result.output
    a05 = _clause_block(result.output, "第5条 a05")
    assert "ineligible 不符合, 0" in a05
    assert "✗ 上年度研发费用 >= 50万  [上年度研发费用=499999]" in a05
    assert "deciding 决定性条件: 上年度研发费用 >= 50万  →  499999 >= 50万 is false" in a05
    a08 = _clause_block(result.output, "第8条 a08")  # 入驻率 blank: nothing false before it, but 双创载体级别 is 无
    assert "ineligible" in a08


def test_undetermined_names_the_fact_to_supply(tmp_path: Path) -> None:
    facts = tmp_path / "a.yaml"
    facts.write_text(f"uscc: {VALID_USCC}\napplication_year: 2021\nregistered_district: 皇姑区\ntax_district: 皇姑区\n"
                     "serious_dishonesty: 否\nrd_expense: 80万\n", encoding="utf-8")
    result = run("explain", str(facts), "--package", f"{HZ}@3.0", "--labels", "id")
    a05 = _clause_block(result.output, "第5条 a05")
    assert "undetermined 待补充, 0" in a05 and "missing 需补充: 前年度研发费用 (rd_expense_prev)" in a05


def test_a_rejected_row_says_why() -> None:
    result = run("explain", str(SHEET), "--row", "35")
    assert result.exit_code == 2
    assert "applicants_2021.csv row 35: cannot be read" in result.stderr and "check character" in result.stderr


def test_rows_outside_the_sheet_and_a_sheet_without_row() -> None:
    assert "no row 999" in run("explain", str(SHEET), "--row", "999").stderr
    result = run("explain", str(SHEET))
    assert result.exit_code == 2 and "needs --row N" in result.stderr


def test_explain_uses_every_bundled_package_by_default() -> None:
    out = run("explain", str(SHEET), "--row", "3").output
    assert "huangzuan16@3.0" in out and "municipal@2019" in out and out.strip().splitlines()[-1].startswith("总计")


def test_an_xlsx_row_reads_as_the_csv_row() -> None:
    from_csv = run("explain", str(SHEET), "--row", "12").output
    from_xlsx = run("explain", str(SHEET.with_suffix(".xlsx")), "--row", "12").output
    assert from_xlsx.replace("applicants_2021.xlsx", "applicants_2021.csv") == from_csv
