"""`policyengine.score`: the CLI's engine from a library, on a path, a DataFrame or fact mappings."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import policyengine
from policyengine import PolicyEngineError, ScoreResult, score
from policyengine.cli import main

from .support import ROOT

EXAMPLE = ROOT / "examples" / "applicants_2021.csv"


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    out = folder / "scores.csv"
    result = CliRunner().invoke(main, ["score", str(EXAMPLE), "--out", str(out), "--summary",
                                       str(folder / "summary.json")])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def from_path() -> ScoreResult:
    return score(EXAMPLE)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.all().cast(pl.String))


def _example_frame() -> pl.DataFrame:
    return pl.read_csv(EXAMPLE, encoding="gb18030", infer_schema=False)


def test_exported_lazily() -> None:
    assert {"score", "ScoreResult"} <= set(policyengine.__all__)
    assert policyengine.score is score


def test_decisions_equal_the_cli_csv(cli_out: Path, from_path: ScoreResult) -> None:
    written = pl.read_csv(cli_out, infer_schema=False)
    assert from_path.decisions.columns == written.columns
    assert "huangzuan16.a05.status" in written.columns and "total" in written.columns
    assert from_path.decisions.height == written.height == 57
    assert _as_text(from_path.decisions).equals(written)
    assert from_path.decisions.schema["total"] == pl.Int64


def test_rejects_and_summary_match_the_cli(cli_out: Path, from_path: ScoreResult) -> None:
    cli_rejects = pl.read_csv(cli_out.with_name("scores.rejects.csv"), schema_overrides={"row": pl.Int64},
                              infer_schema=False)
    assert from_path.rejects.columns == ["row", "column", "value", "reason"]
    assert from_path.rejects.get_column("row").to_list() == [35, 42, 59]
    assert _as_text(from_path.rejects).equals(cli_rejects.with_columns(pl.all().cast(pl.String)))
    rows = from_path.summary["rows"]
    assert rows == {"in": 60, "out": 57, "rejected": 3}
    assert rows["in"] == rows["out"] + rows["rejected"]
    cli_summary = json.loads(cli_out.with_name("summary.json").read_text(encoding="utf-8"))
    assert from_path.summary["packages"] == cli_summary["packages"]
    assert from_path.summary["total"] == cli_summary["total"] > 0


def test_a_polars_frame_and_fact_mappings_give_the_same_decisions(from_path: ScoreResult) -> None:
    frame = _example_frame()
    by_frame = score(frame)
    assert by_frame.decisions.equals(from_path.decisions)
    assert by_frame.rejects.equals(from_path.rejects)   # rows numbered as in the spreadsheet (header = row 1)
    by_records = score(frame.to_dicts())
    assert by_records.decisions.equals(from_path.decisions)
    assert by_records.rejects.equals(from_path.rejects)
    assert by_records.summary["rows"] == from_path.summary["rows"]
    assert by_records.summary["input"] == "<records>"


def test_numbers_in_cells_read_as_the_text_a_spreadsheet_shows() -> None:
    base = {"统一社会信用代码": "91350100M000100Y43", "注册地所在区": "皇姑区", "税收户管地所在区": "皇姑区",
            "是否列入严重失信主体名单": "否", "高新技术企业认定类型": "首次认定", "高新技术企业认定年份": "2020"}
    as_text = {**base, "申报年度": "2021", "上年度研发费用": "1200000", "前年度研发费用": "800000"}
    typed = {**base, "申报年度": 2021.0, "上年度研发费用": Decimal("1200000.00"), "前年度研发费用": 800000,
             "是否列入严重失信主体名单": False}
    expected = score([as_text], "huangzuan16").decisions
    assert expected.get_column("huangzuan16.a05.amount").to_list() == [40000]
    assert score([typed], "huangzuan16").decisions.equals(expected)
    frame = pl.DataFrame([typed])   # float, decimal, integer and boolean columns
    assert score(frame, ["huangzuan16"]).decisions.equals(expected)


def test_labels_zh_gives_the_workbook_wording() -> None:
    result = score(_example_frame().head(3), "huangzuan16", labels="zh")
    assert result.decisions.columns[:2] == ["统一社会信用代码", "企业名称"]
    assert "说明" in result.decisions.columns
    assert set(result.decisions.get_column("第5条 研发投入增量补助").to_list()) <= {"符合", "不符合", "待补充",
                                                                                 "不重复享受"}


def test_bad_sources_are_one_line_errors() -> None:
    with pytest.raises(PolicyEngineError, match="record 2: a mapping of facts expected, got list"):
        score([{"uscc": "x"}, [("uscc", "x")]])
    with pytest.raises(PolicyEngineError, match="labels 'en'"):
        score([], labels="en")
    with pytest.raises(PolicyEngineError, match="no rule packages"):
        score([{"uscc": "91350100M000100Y43", "application_year": "2021"}], [])
    with pytest.raises(PolicyEngineError, match="required column missing"):
        score(pl.DataFrame({"企业名称": ["甲"]}))
    with pytest.raises(PolicyEngineError, match="no such file"):
        score(ROOT / "examples" / "nothing.csv")


def test_write_csv_is_the_cli_output(tmp_path: Path, cli_out: Path, from_path: ScoreResult) -> None:
    out = tmp_path / "api.csv"
    from_path.write(out)
    assert out.read_bytes() == cli_out.read_bytes()
    assert out.with_name("api.rejects.csv").read_bytes() == cli_out.with_name("scores.rejects.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api.csv", "api.rejects.csv"]   # nothing left behind


def test_write_xlsx_is_the_cli_workbook(tmp_path: Path, from_path: ScoreResult) -> None:
    import openpyxl

    CliRunner().invoke(main, ["score", str(EXAMPLE), "--out", str(tmp_path / "cli.xlsx")])
    from_path.write(tmp_path / "api.xlsx", rejects=tmp_path / "r.csv")
    cli = openpyxl.load_workbook(tmp_path / "cli.xlsx", read_only=True)
    api = openpyxl.load_workbook(tmp_path / "api.xlsx", read_only=True)
    assert api.sheetnames == cli.sheetnames == ["结果", "未通过", "汇总", "条款"]
    for name in ["结果", "未通过", "条款"]:
        assert list(api[name].values) == list(cli[name].values), name
    assert (tmp_path / "r.csv").is_file()


def test_write_refuses_an_unknown_extension(tmp_path: Path, from_path: ScoreResult) -> None:
    with pytest.raises(PolicyEngineError, match="unknown output extension"):
        from_path.write(tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []
