"""The clerk's workbook (`--out FILE.xlsx`), `--labels zh|id`, reasons as Chinese sentences, every cut explained."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import openpyxl
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.batch import Job, run
from tests.sheet_support import cli, uscc
from tests.support import ROOT

EXAMPLE = ROOT / "examples" / "applicants_2021.csv"
PACKAGES = [str(ROOT / "rules" / "huangzuan16"), str(ROOT / "rules" / "municipal")]
ENGLISH = re.compile(r"==|!=|>=|<=| is false|\b(true|false|none|unknown)\b")


@cache   # loaded once: every test here runs the same two packages
def _packages() -> list:  # type: ignore[type-arg]
    from policyengine.cli.common import load_packages

    return load_packages(tuple(PACKAGES))


def test_the_workbook_has_the_four_sheets_worded_for_clerks(tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    done = cli("score", str(EXAMPLE), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["结果", "未通过", "汇总", "条款"]
    ws = book["结果"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["统一社会信用代码", "企业名称"]
    assert header[2] == "皇钻十六条 第1条 高新技术企业首次认定奖励" and "皇钻十六条 第5条 研发投入增量补助" in header
    assert any(h.endswith("第5条 研发投入增量补助 测算金额") for h in header)
    assert "说明" in header and "合计" in header
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref
    status_cols = [i for i, h in enumerate(header) if re.search(r"第\d+条 [^ ]+$", h)]
    words = {ws.cell(r, i + 1).value for r in range(2, ws.max_row + 1) for i in status_cols}
    assert words <= {"符合", "不符合", "待补充", "不重复享受"} and {"符合", "不符合", "不重复享受"} <= words
    money = header.index("合计") + 1
    assert ws.cell(2, money).number_format == "#,##0" and isinstance(ws.cell(2, money).value, int)
    assert [c.value for c in book["未通过"][1]] == ["行号", "列", "内容", "原因"]
    assert book["未通过"].max_row == 4   # the three rejected rows
    assert [c.value for c in book["条款"][1]] == ["package", "version", "条", "标题", "条文", "verified"]
    summary = book["汇总"]
    assert summary["A1"].value == "政策" and summary.auto_filter.ref
    assert "年度资金" in [c.value for row in summary.iter_rows() for c in row]


def test_csv_keeps_the_contract_and_gains_computed(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert cli("score", str(EXAMPLE), "--out", str(out), "-q").returncode == 0
    cols = pl.read_csv(out, infer_schema=False).columns
    i = cols.index("huangzuan16.a05.amount")
    assert cols[i - 1:i + 2] == ["huangzuan16.a05.status", "huangzuan16.a05.amount", "huangzuan16.a05.computed"]
    assert cols[:2] == ["uscc", "name"] and "reasons" in cols and "说明" not in cols


def test_an_unknown_out_extension_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = cli("score", str(EXAMPLE), "--out", str(tmp_path / "x.txt"), "-q")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "unknown output extension" in done.stderr
    assert not (tmp_path / "x.txt").exists()


def test_cap_cut_and_group_exclusion_are_explained(tmp_path: Path) -> None:
    run(Job(EXAMPLE, tmp_path / "o.csv", _packages(), labels="zh"))
    out = pl.read_csv(tmp_path / "o.csv", infer_schema=False)
    text = "\n".join(out.get_column("说明").drop_nulls().to_list())
    assert "单户年度奖励上限500万元，核减" in text
    assert "与第3条就高不重复" in text
    assert "注册地所在区为和平区，不在皇姑区" in text
    assert not ENGLISH.search(text)


def test_fund_proration_is_explained(tmp_path: Path) -> None:
    rows = pl.read_csv(EXAMPLE, encoding="gbk", infer_schema=False)
    first = rows.row(0, named=True)
    many = pl.DataFrame([{**first, "统一社会信用代码": uscc(i), "企业名称": f"企业{i}"} for i in range(8)])
    src = tmp_path / "many.csv"
    many.write_csv(src)
    run(Job(src, tmp_path / "o.csv", _packages(), labels="zh"))
    text = pl.read_csv(tmp_path / "o.csv", infer_schema=False).get_column("说明").to_list()[0]
    assert "年度资金3000万元不足，按比例兑付75%" in text   # 8 × 500万 asked of 3000万


DISTRICTS = ["皇姑区", "和平区", "铁西区", ""]
YESNO = ["是", "否", ""]
MONEY = ["", "45万", "3000万", "0"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(DISTRICTS), st.sampled_from(DISTRICTS), st.sampled_from(YESNO),
                          st.sampled_from(MONEY), st.sampled_from(MONEY)), min_size=1, max_size=6))
def test_zh_reasons_never_read_like_code(tmp_path: Path, cells: list[tuple[str, str, str, str, str]]) -> None:
    rows = pl.read_csv(EXAMPLE, encoding="gbk", infer_schema=False)
    base = rows.row(1, named=True)
    made = [{**base, "统一社会信用代码": uscc(i), "注册地所在区": d, "税收户管地所在区": t,
             "是否列入严重失信主体名单": y, "上年度研发费用": a, "前年度研发费用": b}
            for i, (d, t, y, a, b) in enumerate(cells)]
    src = tmp_path / "h.csv"
    pl.DataFrame(made).write_csv(src)
    run(Job(src, tmp_path / "h.out.csv", _packages(), labels="zh"))
    for text in pl.read_csv(tmp_path / "h.out.csv", infer_schema=False).get_column("说明").drop_nulls():
        assert not ENGLISH.search(text), text


def test_the_rejects_sheet_gives_the_reason_in_chinese_and_the_ids_in_english(tmp_path: Path) -> None:
    from policyengine.facts.uscc import check_character

    good = uscc(1)
    wrong = "0" if good[-1] != "0" else "1"
    bad = good[:-1] + wrong
    src = tmp_path / "in.csv"
    src.write_text("统一社会信用代码,企业名称,申报年度,上年度研发费用\n"
                   f"{bad},甲,2021,100万\n{uscc(2)},乙,,100万\n{uscc(3)},丙,2021,12.x万\n", encoding="utf-8")
    sheets = {}
    for labels in ("zh", "id"):
        out = tmp_path / f"{labels}.xlsx"
        done = cli("score", str(src), "--out", str(out), "--labels", labels, "-q")
        assert done.returncode == 0, done.stderr
        rows = openpyxl.load_workbook(out)["未通过"].iter_rows(min_row=2, values_only=True)
        sheets[labels] = [(r[0], r[1], r[3]) for r in rows]
    expected = check_character(good[:17])
    assert sheets["zh"] == [
        (2, "统一社会信用代码", f"统一社会信用代码校验位应为 {expected!r}，实为 {wrong!r}"),
        (3, "申报年度", "必填项为空，该行不予测算"),
        (4, "上年度研发费用", "无法识别为金额：'12.x万'（可写作 1234567、1,234,567.00、123.4567万 或 85万元）")]
    assert sheets["id"] == [
        (2, "统一社会信用代码", f"check character is {wrong!r}, expected {expected!r}"),
        (3, "申报年度", "required: a row with this fact blank is rejected"),
        (4, "上年度研发费用", "cannot read '12.x万' as money (write 1234567, 1,234,567.00, 123.4567万 or 85万元)")]
