"""`policyengine explain` in Chinese (`--labels zh`, the default): values as the sheet spells them, conditions as
phrases, only the deciding condition marked, settlement steps as the `说明` column's sentences."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .drafting_support import run
from .support import ROOT, VALID_USCC

SHEET = ROOT / "examples" / "applicants_2021.csv"
HZ = ROOT / "rules" / "huangzuan16"
ENGLISH = re.compile(r"\b(true|false|none|unknown)\b|is false|==|>=|<=|!=|deciding|eligible|settlement|capped",
                     re.IGNORECASE)


def _clause_block(out: str, heading: str) -> str:
    start = out.index(heading)
    nxt = re.search(r"\n  (第\d+条|合计)", out[start + 1:])
    return out[start: start + 1 + nxt.start()] if nxt else out[start:]


def _blocks(out: str) -> list[str]:
    return [_clause_block(out, m.group(0)) for m in re.finditer(r"  第\d+条 a\d+ ", out)]


def _facts(tmp_path: Path, **extra: str) -> Path:
    facts = tmp_path / "a.json"
    facts.write_text(json.dumps({"统一社会信用代码": VALID_USCC, "申报年度": "2021", "注册地所在区": "皇姑区",
                                 "税收户管地所在区": "皇姑区", "是否列入严重失信主体名单": "否", **extra},
                                ensure_ascii=False), encoding="utf-8")
    return facts


def _assert_chinese(out: str) -> None:
    assert ENGLISH.search(out) is None, ENGLISH.search(out)
    for blank in _blocks(out):
        if "：不符合，" in blank.split("\n")[0]:
            assert blank.count("决定性条件") == 1, blank
        else:
            assert "决定性条件" not in blank, blank


def test_a_spreadsheet_row_is_explained_in_chinese() -> None:
    result = run("explain", str(SHEET), "--row", "2", "--package", f"{HZ}@3.0")
    assert result.exit_code == 0, result.output
    out = result.output
    _assert_chinese(out)
    assert "是否列入严重失信主体名单：否" in out and "[载体入驻率：92%]" in out
    assert "高新技术企业迁入年份：未填写" in out
    a01 = _clause_block(out, "第1条 a01")
    assert "✗ 高新技术企业认定类型等于首次认定  [高新技术企业认定类型：重新认定]" in a01
    assert "决定性条件：高新技术企业认定类型为重新认定，不在首次认定" in a01
    a05 = _clause_block(out, "第5条 a05")
    assert "金额：10% * (上年度研发费用 - 前年度研发费用) = 10% * (3000万元 - 2200万元) = 80万元" in a05
    assert "结算：本条上限50万元，核减300000元" in a05
    a11 = _clause_block(out, "第11条 a11")
    assert "结算：本条上限200万元，核减400000元\n    结算：单户年度奖励上限500万元，核减1110000元" in a11
    assert "合计 huangzuan16@3.0：500万元（单户年度奖励上限500万元）" in out


def test_a_facts_file_in_chinese_marks_only_the_deciding_condition(tmp_path: Path) -> None:
    # 认定类型 and 认定年份 both fail a01: only the first is the deciding one
    facts = _facts(tmp_path, 高新技术企业认定类型="无", 高新技术企业认定年份="2015", 是否列入严重失信主体名单="是")
    result = run("explain", str(facts), "--package", str(HZ))
    assert result.exit_code == 0, result.output
    out = result.output
    _assert_chinese(out)
    a01 = _clause_block(out, "第1条 a01")
    assert a01.count("✗") >= 2 and a01.count("决定性条件") == 1
    assert "是否列入严重失信主体名单：是" in a01


def test_a_group_exclusion_reads_as_its_chinese_sentence(tmp_path: Path) -> None:
    facts = _facts(tmp_path, 高新技术企业认定类型="首次认定", 高新技术企业认定年份="2020", 高新技术企业迁入年份="2020")
    result = run("explain", str(facts), "--package", str(HZ))
    assert result.exit_code == 0, result.output
    _assert_chinese(result.output)
    a01 = _clause_block(result.output, "第1条 a01")
    assert a01.startswith("第1条 a01 高新技术企业首次认定奖励：就高不重复，0元")
    assert "结算：与第3条就高不重复" in a01
    assert "第3条 a03 高新技术企业迁入奖励：符合，20万元" in result.output


def test_id_labels_keep_the_drafters_trace() -> None:
    result = run("explain", str(SHEET), "--row", "2", "--package", f"{HZ}@3.0", "--labels", "id")
    assert result.exit_code == 0, result.output
    assert "deciding 决定性条件: 高新技术企业认定类型 == \"首次认定\"  →  \"重新认定\" == \"首次认定\" is false" \
        in result.output
    assert "settlement 结算: 800000 → 500000: capped at 500000 (clause cap)" in result.output
