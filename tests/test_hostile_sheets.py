"""Hostile and unlucky spreadsheets: every case ends in a per-row reject with its reason or one clear error,
within a few seconds, and rows in = rows out + rows rejected counted on the file as a clerk sees it.

Each file is built here in a few lines; every run is bounded in time (`sheet_support.bounded`)."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
import xlsxwriter  # type: ignore[import-untyped]

from policyengine import FactError, evaluate, replay
from policyengine.batch import read_table
from policyengine.drafting.population import read_applicants, read_sheet
from policyengine.model.bundled import load_bundled

from .sheet_support import physical_data_lines, score, uscc

HEADER = "统一社会信用代码,企业名称,申报年度,上年度研发费用,备注"


def line(i: int, *, name: str | None = None, year: str = "2021", money: str | None = None,
         note: str | None = None, code: str | None = None) -> str:
    return ",".join([code or uscc(i), name or f"企业{i}", year, money or f"{100 + i}万", note or f"备注{i}"])


def write(tmp_path: Path, lines: list[str], name: str = "in.csv", end: str = "\n") -> Path:
    path = tmp_path / name
    text = end.join([HEADER, *lines]) + end
    path.write_text(text, encoding="utf-8", newline="")
    assert physical_data_lines(text) == len(lines)
    return path


def output_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# -- CSV: physical lines ------------------------------------------------------------------------------

def test_a_quote_closed_two_lines_later_rejects_each_line(tmp_path: Path) -> None:
    path = write(tmp_path, [line(2), line(3, name='"沈阳某公司'), line(4), line(5, name='沈阳某公司"'), line(6)])
    got = score(path)
    assert got.rows == {"in": 5, "out": 2, "rejected": 3}
    assert got.reasons() == {3: ["第3行：引号未闭合"], 4: ["第3行：引号未闭合"], 5: ["第3行：引号未闭合"]}
    assert [r["uscc"] for r in output_rows(got.out)] == [uscc(2), uscc(6)]  # type: ignore[arg-type]


def test_a_quote_left_open_to_the_end_rejects_every_line_after_it(tmp_path: Path) -> None:
    lines = [line(i) for i in range(2, 60)]
    lines[9] = line(11, name='"沈阳某公司')  # line 11
    got = score(write(tmp_path, lines, end="\r\n"))
    assert got.rows == {"in": 58, "out": 9, "rejected": 49}
    assert got.reasons() == {n: ["第11行：引号未闭合"] for n in range(11, 60)}


def test_a_header_cell_with_a_line_break_starts_the_rows_below_it(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HEADER + ',"经办\n人"\n' + line(3) + ",张三\n" + line(4, year="") + ",李四\n", encoding="utf-8")
    got = score(path)
    assert got.rows == {"in": 2, "out": 1, "rejected": 1}
    assert [r[0] for r in got.rejects] == [4]  # numbered by physical line: the header takes lines 1-2
    assert output_rows(got.out)[0]["经办\n人"] == "张三"  # type: ignore[arg-type]


def test_a_header_whose_quote_never_closes_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HEADER + ',"经办人\n' + line(2) + "\n", encoding="utf-8")
    got = score(path)
    assert got.code == 2 and "第1行：引号未闭合" in got.stderr


# -- xlsx: formulas and error cells ------------------------------------------------------------------------

def test_formulas_without_a_result_and_error_cells_are_rejected_with_their_cell(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER.split(","))
    for r in range(1, 8):
        sheet.write_row(r, 0, line(r + 1).split(","))
    sheet.write_formula("D3", "=1/0", None, "#DIV/0!")
    sheet.write_formula("D4", "=B2*2", None, "")  # a formula stored without its result
    sheet.write_formula("D5", "=#REF!", None, "#REF!")
    sheet.write_formula("C6", "=NA()", None, "#N/A")  # the application year: required
    sheet.write_formula("E7", "=1/0", None, "#DIV/0!")  # a pass-through column: reads as blank
    sheet.write_formula("D8", "=100*2", None, 200)  # a computed result is read
    book.close()
    expected = [(3, "上年度研发费用", "#DIV/0!", "D3: 错误值 #DIV/0!"),
                (4, "上年度研发费用", "'=B2*2", "D4: 公式无计算结果"),
                (5, "上年度研发费用", "#REF!", "D5: 错误值 #REF!"),
                (6, "申报年度", "#N/A", "C6: 错误值 #N/A")]
    got = score(path)
    assert got.rejects == expected
    assert got.rows == {"in": 7, "out": 3, "rejected": 4}
    # `diff --population` / `explain --row` read the sheet the same way
    version = next(p for p in load_bundled() if p.id == "huangzuan16").version("3.0")
    assert [r.reason for r in read_applicants(read_sheet(path), version).rejects] == [e[3] for e in expected]
    # the same sheet with the formula's empty result element left out altogether
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b"<v></v>", b"")
    bare = tmp_path / "bare.xlsx"
    with zipfile.ZipFile(bare, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    assert score(bare).rejects == expected


def test_a_row_holding_only_a_formula_without_a_result_is_counted_and_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER.split(","))
    sheet.write_row(1, 0, line(2).split(","))
    sheet.write_formula("D4", "=1+1", None, "")  # below the last value: fastexcel does not see the row
    book.close()
    got = score(path)
    assert got.rows == {"in": 3, "out": 1, "rejected": 2}
    assert got.reasons()[4][0] == "D4: 公式无计算结果" and 3 in got.reasons()  # row 3: blank, as Excel shows it


def test_an_error_cell_left_of_and_above_the_table_keeps_the_numbering(tmp_path: Path) -> None:
    path = tmp_path / "o.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(2, 1, HEADER.split(","))  # the table starts at B3
    for r in range(3, 6):
        sheet.write_row(r, 1, line(r).split(","))
    sheet.write_formula("E5", "=1/0", None, "#DIV/0!")
    book.close()
    assert score(path).rejects == [(3, "上年度研发费用", "#DIV/0!", "E5: 错误值 #DIV/0!")]


# -- headers -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_formula_header_is_neutralised_like_a_cell(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HEADER + ',"=HYPERLINK(""http://x"",""x"")"\n' + line(2) + ",=1+1\n", encoding="utf-8")
    got = score(path, out_suffix=".out" + suffix)
    headers = read_table(got.out).headers  # type: ignore[arg-type]
    assert headers[-1] == "'=HYPERLINK(\"http://x\",\"x\")"
    assert not any(h.startswith(("=", "+", "-", "@")) for h in headers)


def test_repeated_pass_through_headers_get_suffixes(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(HEADER + ",备注,备注,total\n" + line(2) + ",b,c,d\n", encoding="utf-8")
    got = score(path)
    (row,) = output_rows(got.out)  # type: ignore[arg-type]
    assert [row[k] for k in ("备注", "备注.2", "备注.3", "input.total")] == ["备注2", "b", "c", "d"]
    assert got.summary["columns_passed_through"] == ["备注", "备注", "备注", "total"]


# -- bounds ----------------------------------------------------------------------------------------------------

def test_huge_money_rejects_its_row_and_the_rest_is_decided(tmp_path: Path) -> None:
    path = write(tmp_path, [line(2), line(3, money="99999999999999999999999999999"), line(4, money="9" * 5000),
                            line(5, money="1000000000000000"), line(6, money="999999999999999.99"),
                            line(7, money="0." + "0" * 40 + "1")])
    got = score(path)
    assert got.rows == {"in": 6, "out": 2, "rejected": 4}
    assert got.reasons() == {
        3: ["too large: 29 digits before the decimal point; money must be below 10^15 yuan, exact to the fen"],
        4: ["too large: 5,000 digits before the decimal point; money must be below 10^15 yuan, exact to the fen"],
        5: ["too large: money must be below 10^15 yuan"],
        7: ["too precise: 41 digits after the decimal point; money must be below 10^15 yuan, exact to the fen"]}
    assert got.summary["rows_decided_by_interpreter"] == 1  # 999,999,999,999,999.99: beyond the columnar range


@pytest.mark.parametrize("value", ["99999999999999999999999999999", "9" * 5000, 10**5000, "1" + "0" * 15],
                         ids=["29 digits", "5000 digits", "int 10^5000", "10^15"])
def test_evaluate_and_replay_raise_fact_error_for_huge_money(value: object) -> None:
    packages = load_bundled()
    facts = {"统一社会信用代码": uscc(1), "申报年度": "2021", "上年度研发费用": "120万"}
    with pytest.raises(FactError, match="too large") as caught:
        evaluate(packages, facts | {"上年度研发费用": value})
    assert len(str(caught.value)) < 300
    record = evaluate(packages, facts).model_dump(mode="json")
    record["facts"]["rd_expense"] = str(value)[:6000] if isinstance(value, str) else "1" + "0" * 5000
    result = replay(record)
    assert not result.ok and "too large" in result.differences[0] and len(result.differences[0]) < 400


def test_a_50_mb_cell_is_rejected_in_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, [line(2), line(3, money="9" * (50 << 20)), line(4, note="x" * (64 << 10)),
                            line(5, note="x" * ((64 << 10) + 1))])
    got = score(path, seconds=30)
    assert got.seconds < 10
    assert got.rows == {"in": 4, "out": 2, "rejected": 2}
    assert [(r, c, len(v), why) for r, c, v, why in got.rejects] == [
        (3, "上年度研发费用", 81, "上年度研发费用: 单元格过大（52,428,800 字节，上限 64 KiB）(cell too large)"),
        (5, "备注", 81, "备注: 单元格过大（65,537 字节，上限 64 KiB）(cell too large)")]


# -- one applicant, one award --------------------------------------------------------------------------------

def test_the_same_applicant_twice_in_one_year_is_never_paid_twice(tmp_path: Path) -> None:
    path = write(tmp_path, [line(2), line(3), line(4, code=uscc(2)), line(5), line(6, code=uscc(2).lower()),
                            line(7, code=uscc(2), year="2022"), line(8, code=uscc(5))])
    got = score(path)
    assert got.rows == {"in": 7, "out": 2, "rejected": 5}
    assert got.reasons() == {2: ["统一社会信用代码与第4、6行重复（同一申报年度）"],
                             4: ["统一社会信用代码与第2、6行重复（同一申报年度）"],
                             5: ["统一社会信用代码与第8行重复（同一申报年度）"],
                             6: ["统一社会信用代码与第2、4行重复（同一申报年度）"],
                             8: ["统一社会信用代码与第5行重复（同一申报年度）"]}
    assert [r["uscc"] for r in output_rows(got.out)] == [uscc(3), uscc(2)]  # type: ignore[arg-type]
