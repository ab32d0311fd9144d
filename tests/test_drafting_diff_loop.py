"""`diff --population`, tried as a drafter would: a copy of rules/huangzuan16@3.0 edited, against the bundled 3.0,
on a six-row population built so that each band of change holds a known applicant.

New version (the draft): a05's threshold 50万 → 40万 and rate 10% → 10.4%; a04 pays 1万 instead of 2万; a14 is
given the id a19 (same article and title); a new fact 主导制定标准数 and a clause a17 reading it, which the
population has no column for.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from policyengine.facts.uscc import check_character

from .drafting_support import run
from .support import FIXTURES, ROOT

HZ30 = ROOT / "rules" / "huangzuan16" / "3.0"
HEADER = ["企业名称", "统一社会信用代码", "申报年度", "注册地所在区", "税收户管地所在区", "是否列入严重失信主体名单",
          "科技型中小企业入库年份", "上年度研发费用", "前年度研发费用"]
ROWS = [  # row 2 … row 7: the band each falls in, old → new total
    ["增量企业", "皇姑区", "", "100万", "50万"],     # 50,000 → 52,000: gain ≤ 5%
    ["门槛企业", "皇姑区", "", "45万", "30万"],      # 0 → 15,600 (now over the threshold): gain > 5%
    ["大额企业", "皇姑区", "2020", "300万", "100万"],  # 220,000 → 218,000: lose ≤ 5%
    ["入库企业", "皇姑区", "2020", "0", "0"],        # 20,000 → 10,000: lose > 5%
    ["区外企业", "铁西区", "2020", "100万", "50万"],   # 0 → 0
    ["待补企业", "皇姑区", "", "100万", ""],         # 0 → 0, a05 undetermined (前年度研发费用 blank) in both
]
A17 = """
  - id: a17
    article: 17
    title: 主导制定标准奖励
    text: 对上年度主导制定国家或行业标准的企业，每项奖励10万元，最高30万元。
    conditions:
      - E
      - standard_count >= 1
    amount: 10万 * standard_count
    cap: 30万
    verified: false
"""


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def population(tmp: Path) -> Path:
    path = tmp / "pop.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i, (name, district, sme, rd, prev) in enumerate(ROWS):
            first17 = f"91210105MA{i:07d}"
            out.writerow([name, first17 + check_character(first17), "2021", district, "皇姑区", "否", sme, rd, prev])
    return path


def draft(tmp: Path) -> Path:
    """The drafter's copy of 3.0 (its test cases and invariants left out: they name a14) and of the catalogue."""
    rules = tmp / "rules"
    (rules / "huangzuan16").mkdir(parents=True)
    shutil.copy(ROOT / "rules" / "facts.yaml", rules / "facts.yaml")
    version = rules / "huangzuan16" / "3.0"
    version.mkdir()
    shutil.copy(HZ30 / "policy.yaml", version / "policy.yaml")
    with (rules / "facts.yaml").open("a", encoding="utf-8") as fh:
        fh.write("  - {name: standard_count, type: integer, unit: 项, label: 主导制定标准数, blank: zero}\n")
    policy = version / "policy.yaml"
    edit(policy, "facts: [name,", "facts: [name, standard_count,")
    edit(policy, "      - rd_expense >= 50万", "      - rd_expense >= 40万")
    edit(policy, "amount: 10% * (rd_expense - rd_expense_prev)", "amount: 10.4% * (rd_expense - rd_expense_prev)")
    edit(policy, "      - tech_sme_year == Y - 1\n    amount: 2万", "      - tech_sme_year == Y - 1\n    amount: 1万")
    edit(policy, "  - id: a14\n", "  - id: a19\n")
    with policy.open("a", encoding="utf-8") as fh:
        fh.write(A17)
    return version


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], str]:
    tmp = tmp_path_factory.mktemp("diffloop")
    result = run("diff", f"{ROOT / 'rules' / 'huangzuan16'}@3.0", str(draft(tmp)), "--population",
                 str(population(tmp)), "--json", str(tmp / "r.json"), "--report", str(tmp / "r.html"))
    assert result.exit_code == 0, result.output + result.stderr
    return (result.output, json.loads((tmp / "r.json").read_text(encoding="utf-8")),
            (tmp / "r.html").read_text(encoding="utf-8"))


def test_a_clause_reading_a_column_the_population_lacks_is_warned_about(
        report: tuple[str, dict[str, Any], str]) -> None:
    text, data, html = report
    assert ("  warning: 第17条 a17 主导制定标准奖励 (added) reads 主导制定标准数 (standard_count): the population "
            "has no such column, so every applicant reads it as blank") in text
    assert data["impact"]["missing_columns"] == [
        {"clause": "a17", "heading": "第17条 a17 主导制定标准奖励", "state": "added",
         "facts": [{"name": "standard_count", "label": "主导制定标准数"}]}]
    assert "注意：第17条 a17 主导制定标准奖励 读取 主导制定标准数（standard_count），测算样本没有这一列" in html
    # a05 changed too, but the population has every column it reads; a14 → a19 reads a column the population
    # lacks (技术合同登记成交额), but only its id changed, so what it pays is the same under both: no warning
    assert "a05" not in json.dumps(data["impact"]["missing_columns"])


def test_clauses_are_paired_by_article_and_title(report: tuple[str, dict[str, Any], str]) -> None:
    text, data, _ = report
    changed = {c["id"]: c for c in data["structural"]["clauses_changed"]}
    assert changed["a14 → a19"]["changes"][0] == {"what": "编号 id", "old": "a14", "new": "a19",
                                                  "note": "the same article and title under another id"}
    assert [c["id"] for c in data["structural"]["clauses_added"]] == ["a17"]
    assert data["structural"]["clauses_removed"] == []
    assert "  ~ 第14条 a14 → a19 技术合同登记奖励" in text
    per_clause = {c["id"]: c for c in data["impact"]["clauses"]}
    assert (per_clause["a14 → a19"]["old_id"], per_clause["a14 → a19"]["new_id"]) == ("a14", "a19")


def test_a_clause_pasted_twice_under_a_new_id_is_one_added(tmp_path: Path) -> None:
    version = draft(tmp_path)
    policy = version / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    a04 = text[text.index("  - id: a04\n"):text.index("  - id: a05\n")]
    pasted = a04.replace("id: a04", "id: a18").replace("article: 4", "article: 18")
    policy.write_text(text + "\n" + pasted, encoding="utf-8")
    result = run("diff", f"{ROOT / 'rules' / 'huangzuan16'}@3.0", str(version))
    assert result.exit_code == 0, result.output
    assert "  + 第18条 a18 科技型中小企业入库奖励" in result.output
    assert "  ~ 第4条 a04 科技型中小企业入库奖励" in result.output  # a04 stays paired with a04 (its amount changed)


def test_bands_undetermined_and_totals(report: tuple[str, dict[str, Any], str]) -> None:
    text, data, _ = report
    imp = data["impact"]
    assert {p["row"]: (p["old"], p["new"]) for p in imp["per_applicant"]} == {
        2: (50_000, 52_000), 3: (0, 15_600), 4: (220_000, 218_000), 5: (20_000, 10_000), 6: (0, 0), 7: (0, 0)}
    bands = {b["band"]: (b["count"], b["amount"]) for b in imp["applicants"]["bands"]}
    assert bands == {"gain_over": (1, 15_600), "gain_within": (1, 2_000), "same": (2, 0),
                     "lose_within": (1, -2_000), "lose_over": (1, -10_000)}
    assert ("  by change 按变化幅度: gain > 5%: 1 (+15,600); gain ≤ 5%: 1 (+2,000); no change: 2; "
            "lose ≤ 5%: 1 (-2,000); lose > 5%: 1 (-10,000)") in text
    assert imp["old"]["applicants_undetermined"] == imp["new"]["applicants_undetermined"] == 1
    a05 = next(c for c in imp["clauses"] if c["id"] == "a05")
    assert (a05["old_undetermined"], a05["new_undetermined"]) == (1, 1)
    assert text.count("    1 applicants left 待补充 (undetermined") == 2


def test_html_wan_to_two_decimals_labelled_axes_and_bands(report: tuple[str, dict[str, Any], str]) -> None:
    _, _, html = report
    assert "29.00 万元" in html and "29.56 万元" in html and "+0.56 万元" in html  # 290,000 → 295,600
    assert "奖励变化（万元） change in award" in html
    assert "企业，按变化从大到小排列（共 6 家） applicants, sorted by change" in html
    assert "企业数（家） applicants" in html
    for label in ("增加超过5%", "增加不超过5%", "不变", "减少不超过5%", "减少超过5%"):
        assert f"<tr><td>{label} <span class=en>" in html, label
    assert "另有 1 家企业有条款待补充" in html
    assert "<th class=n>待补充 undetermined (old → new)</th>" in html


def test_the_changed_region_in_the_drafters_words(tmp_path: Path, report: tuple[str, dict[str, Any], str]) -> None:
    text, _, html = report
    region = "      变化区域 region: 40万 <= 上年度研发费用 < 50万 now meets it (新满足)"
    assert "      门槛 threshold: 上年度研发费用 >= 50万 → 上年度研发费用 >= 40万 (50万 → 40万)\n" + region in text
    assert "40万 &lt;= 上年度研发费用 &lt; 50万 now meets it (新满足)" in html
    # `==` widened to `>=` (issue 14's a13), and the window ended: described, not only shown old → new
    version = draft(tmp_path)
    policy = version / "policy.yaml"
    edit(policy, "      - intl_platform_start_year == Y - 1", "      - intl_platform_start_year >= Y - 1")
    edit(policy, "effective: {from: 2021}", "effective: {from: 2019, to: 2025}")
    result = run("diff", f"{ROOT / 'rules' / 'huangzuan16'}@3.0", str(version))
    assert result.exit_code == 0, result.output
    assert ("      门槛 threshold: 中外合作创新平台运营年份 == Y - 1 → 中外合作创新平台运营年份 >= Y - 1\n"
            "      变化区域 region: 中外合作创新平台运营年份 >= 申报年度 now meets it (新满足)") in result.output
    assert ("  变化区域 region: 申报年度 2019–2020 now in force (新适用); 申报年度 2026– no longer in force (不再适用)"
            in result.output)


def test_the_semantic_witness_in_the_html_report_has_chinese_headers(tmp_path: Path) -> None:
    """`diff --prove --report` (on the small fixture package: proving huangzuan16 takes half a minute)."""
    old, new = tmp_path / "old" / "1.0", tmp_path / "new" / "1.0"
    shutil.copytree(FIXTURES / "mini" / "1.0", old)
    shutil.copytree(old, new)
    edit(new / "policy.yaml", "conditions: [E, staff >= 1]", "conditions: [E, staff >= 2]")
    result = run("diff", str(old), str(new), "--prove", "--report", str(tmp_path / "r.html"))
    assert result.exit_code == 1, result.output
    assert "      变化区域 region: 人数 == 1 no longer meets it (不再满足)" in result.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    row = next(r for r in html.split("<tr>") if r.startswith("<td>第2条 c02 人员奖励</td><td class=down>"))
    assert "人数=1" in row and "staff=" not in row, row
