"""Batch scoring end to end: every input form, rejects accounting, row order, proration, formula neutralisation,
atomic writes, audit records that replay, and the CLI on the example spreadsheets."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from policyengine import evaluate, replay
from policyengine.atomic import atomic_path
from policyengine.batch import InputError, Job, read_table, run, score_table
from policyengine.batch.audit import read_outcome, write_outcome
from policyengine.batch.write import neutralise, write_table
from policyengine.cli import main
from policyengine.facts.uscc import check_character
from policyengine.model.bundled import load_bundled

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CSV = ROOT / "examples" / "applicants_2021.csv"
EXAMPLE_XLSX = ROOT / "examples" / "applicants_2021.xlsx"
PACKAGES = load_bundled()
HZ = next(p for p in PACKAGES if p.id == "huangzuan16")


def uscc(i: int) -> str:
    body = f"9121010500{i:07d}"
    return body + check_character(body)


def applicant(i: int, **extra: str) -> dict[str, str]:
    row = {"统一社会信用代码": uscc(i), "企业名称": f"企业{i}", "申报年度": "2021", "注册地所在区": "皇姑区",
           "税收户管地所在区": "皇姑区", "是否列入严重失信主体名单": "否", "上年度研发费用": f"{100 + i}万",
           "前年度研发费用": "1,000,000.00"}
    row.update(extra)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def score(path: Path, **kw: object) -> pl.DataFrame:
    return score_table(read_table(path), PACKAGES, **kw).output  # type: ignore[arg-type]


# -- input forms ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_every_csv_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    rows = [applicant(i) for i in range(5)]
    reference = score(write_csv(tmp_path / "u.csv", rows))
    assert score(write_csv(tmp_path / f"{encoding}.csv", rows, encoding)).equals(reference)
    assert reference.get_column("企业名称" if "企业名称" in reference.columns else "name").to_list()[0] == "企业0"


def test_encoding_override_and_undecodable_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [applicant(1)], "gbk")
    assert read_table(path, "gbk").encoding == "gbk"
    with pytest.raises(InputError, match="not valid utf-8"):
        read_table(path, "utf-8")
    with pytest.raises(InputError, match="unknown encoding"):
        read_table(path, "klingon")


def test_xlsx_reads_like_csv() -> None:
    assert score(EXAMPLE_XLSX).equals(score(EXAMPLE_CSV))


@pytest.mark.parametrize("style", ["name", "label", "alias"])
def test_headers_by_name_label_or_alias(tmp_path: Path, style: str) -> None:
    rows = [applicant(i) for i in range(3)]
    if style == "name":
        names = {"统一社会信用代码": "uscc", "企业名称": "name", "申报年度": "application_year", "注册地所在区":
                 "registered_district", "税收户管地所在区": "tax_district", "是否列入严重失信主体名单":
                 "serious_dishonesty", "上年度研发费用": "rd_expense", "前年度研发费用": "rd_expense_prev"}
    elif style == "alias":
        names = {"统一社会信用代码": "信用代码", "企业名称": "单位名称", "申报年度": "申报年份",
                 "是否列入严重失信主体名单": "严重失信"}
    else:
        names = {}
    renamed = [{names.get(k, k): v for k, v in r.items()} for r in rows]
    assert score(write_csv(tmp_path / "r.csv", renamed)).equals(score(write_csv(tmp_path / "l.csv", rows)))


def test_missing_required_column_is_one_error_before_any_work(tmp_path: Path) -> None:
    rows = [{k: v for k, v in applicant(1).items() if k != "申报年度"}]
    with pytest.raises(InputError, match="required column missing: 申报年度"):
        score(write_csv(tmp_path / "m.csv", rows))


def test_two_columns_for_one_fact_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("统一社会信用代码,信用代码,申报年度\n" + f"{uscc(1)},{uscc(1)},2021\n", encoding="utf-8")
    with pytest.raises(InputError, match="both give uscc"):
        score(path)


def test_unknown_columns_pass_through_untouched(tmp_path: Path) -> None:
    rows = [applicant(i, 备注=f"note {i}", 经办人="=HYPERLINK(1)") for i in range(3)]
    out = score(write_csv(tmp_path / "p.csv", rows))
    assert out.columns[-2:] == ["备注", "经办人"]
    assert out.get_column("备注").to_list() == ["note 0", "note 1", "note 2"]


# -- rejects and row order --------------------------------------------------------------------------------

def test_rejects_accounting_and_row_order(tmp_path: Path) -> None:
    rows = [applicant(i) for i in range(12)]
    rows[2]["统一社会信用代码"] = rows[2]["统一社会信用代码"][:-1] + "0"  # check character wrong (row 4)
    rows[5]["申报年度"] = ""  # row 7
    rows[7]["上年度研发费用"] = "很多"  # row 9
    rows[7]["载体入驻率"] = "180%"
    for r in rows:
        r.setdefault("载体入驻率", "")
    scored = score_table(read_table(write_csv(tmp_path / "r.csv", rows)), PACKAGES)
    assert sorted({r.row for r in scored.rejects}) == [4, 7, 9]
    assert [r.column for r in scored.rejects if r.row == 9] == ["上年度研发费用", "载体入驻率"]
    assert scored.rows_in == 12 == scored.rows_out + scored.rows_rejected
    expected = [uscc(i) for i in range(12) if i not in (2, 5, 7)]
    assert scored.output.get_column("uscc").to_list() == expected


def test_ragged_rows_are_rejected_or_read_as_blank(tmp_path: Path) -> None:
    path = tmp_path / "rag.csv"
    path.write_text("统一社会信用代码,申报年度,上年度研发费用\n"
                    f"{uscc(1)},2021,120万\n"
                    f"{uscc(2)},2021,120万,surplus,cells\n"
                    f"{uscc(3)},2021\n", encoding="utf-8")
    scored = score_table(read_table(path), PACKAGES)
    assert [(r.row, r.reason) for r in scored.rejects] == [(3, "this row has 5 cells, the header has 3")]
    assert scored.output.get_column("uscc").to_list() == [uscc(1), uscc(3)]
    assert scored.output.get_column("huangzuan16.a05.status").to_list()[1] == "undetermined"


# -- proration ---------------------------------------------------------------------------------------

def test_over_subscribed_fund_is_prorated_and_audited(tmp_path: Path) -> None:
    rows = [applicant(i, 成长型企业类别="独角兽", 成长型企业认定年份="2020") for i in range(40)]
    src = write_csv(tmp_path / "big.csv", rows)
    scored, summary = run(Job(src, tmp_path / "out.csv", [HZ], audit=tmp_path / "audit.jsonl",
                              summary=tmp_path / "summary.json"))
    (budget,) = summary["packages"][0]["budget"]
    demand = sum(evaluate(HZ, r, backend="interpreter").total for r in rows)
    assert budget["demand"] == demand > 30_000_000
    assert budget["prorated"] and budget["paid"] <= 30_000_000
    assert budget["paid"] == scored.output.get_column("huangzuan16.total").sum()
    first = evaluate(HZ, rows[0], backend="interpreter").package("huangzuan16")
    assert scored.output.row(0, named=True)["huangzuan16.a06.amount"] == \
        first.clause("a06").amount * 30_000_000 // demand
    records = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(records) == 40
    record = json.loads(records[0])   # compact: facts, hashes, outcome, the run's proration; no trace
    assert record["run"]["proration"] == [["huangzuan16", "3.0", 2021, 30_000_000, demand]]
    outcome = read_outcome(record["outcome"], {v.key: v for v in HZ.versions})
    assert outcome["huangzuan16"]["c"]["a06"][1] == first.clause("a06").amount * 30_000_000 // demand
    assert "conditions" not in records[0]
    result = replay(records[0])
    assert result.ok, result.differences
    assert result.decision is not None
    steps = [s.step for s in result.decision.package("huangzuan16").steps]
    assert "proration" in steps
    assert json.loads(Path(tmp_path / "summary.json").read_text(encoding="utf-8"))["rows"] == \
        {"in": 40, "out": 40, "rejected": 0}


def test_audit_record_is_evaluates_own_record_when_within_the_fund(tmp_path: Path) -> None:
    rows = [applicant(i) for i in range(3)]
    src = write_csv(tmp_path / "a.csv", rows)
    run(Job(src, tmp_path / "out.csv", PACKAGES, audit=tmp_path / "a.jsonl"))
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    cells = {k: (v or None) for k, v in rows[1].items()}
    own = evaluate(PACKAGES, cells, backend="interpreter")
    from policyengine.store.rows import outcome_of

    assert json.loads(lines[1])["facts"] == own.model_dump(mode="json")["facts"]
    assert json.loads(lines[1])["facts_hash"] == own.facts_hash
    assert json.loads(lines[1])["outcome"] == write_outcome(outcome_of(own), {v.key: v for p in PACKAGES
                                                                              for v in p.versions})
    assert all(replay(line).ok for line in lines)


# -- output safety ----------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_formulas_are_neutralised_and_numbers_untouched(tmp_path: Path, suffix: str) -> None:
    rows = [applicant(1, 企业名称="=1+1", 备注="@SUM(A1)", 附注="-2", 其他="+x")]
    out = tmp_path / f"out{suffix}"
    run(Job(write_csv(tmp_path / "f.csv", rows), out, [HZ], labels="id"))  # the contract's names in both
    back = read_table(out).frame if suffix == ".xlsx" else pl.read_csv(out, infer_schema=False)
    if suffix == ".xlsx":
        back.columns = ["__row", *read_table(out).headers]
    row = back.row(0, named=True)
    assert (row["name"], row["备注"], row["附注"], row["其他"]) == ("'=1+1", "'@SUM(A1)", "'-2", "'+x")
    facts = {k: v for k, v in rows[0].items() if k not in ("备注", "附注", "其他")}
    a05 = evaluate(HZ, facts, backend="interpreter").package("huangzuan16").clause("a05").amount
    assert a05 > 0 and row["huangzuan16.a05.amount"] in (str(a05), a05)
    assert neutralise("plain") == "plain"


def test_csv_output_has_a_bom(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    run(Job(write_csv(tmp_path / "i.csv", [applicant(1)]), out, [HZ]))
    assert out.read_bytes().startswith(b"\xef\xbb\xbfuscc,name,huangzuan16.a01.status")


def test_atomic_write_leaves_no_partial_output(tmp_path: Path) -> None:
    target = tmp_path / "keep.csv"
    target.write_text("previous run\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a file", encoding="utf-8")
        raise RuntimeError("crash while writing")
    assert target.read_text(encoding="utf-8") == "previous run\n"
    assert os.listdir(tmp_path) == ["keep.csv"]
    frame = pl.DataFrame({"a": [1]})
    with pytest.raises(Exception, match="write .csv or .xlsx"):
        write_table(frame, tmp_path / "x.pdf")
    assert sorted(os.listdir(tmp_path)) == ["keep.csv"]


# -- the CLI on the example spreadsheets -----------------------------------------------------------------

@pytest.mark.parametrize("example", [EXAMPLE_CSV, EXAMPLE_XLSX], ids=["csv", "xlsx"])
def test_cli_on_the_examples(tmp_path: Path, example: Path) -> None:
    out, rej, summ = tmp_path / "out.csv", tmp_path / "rej.csv", tmp_path / "s.json"
    result = CliRunner().invoke(main, ["score", str(example), "--out", str(out), "--rejects", str(rej),
                                       "--summary", str(summ), "--quiet"])
    assert result.exit_code == 0, result.output
    rejects = pl.read_csv(rej, infer_schema=False)
    assert rejects.columns == ["row", "column", "value", "reason"]
    assert rejects.get_column("row").to_list() == ["35", "42", "59"]
    data = json.loads(summ.read_text(encoding="utf-8"))
    assert data["rows"] == {"in": 60, "out": 57, "rejected": 3}
    table = pl.read_csv(out, infer_schema=False)
    assert table.height == 57
    statuses = set(table.select(pl.col("^.*\\.status$")).unpivot().get_column("value").drop_nulls())
    assert statuses <= {"eligible", "ineligible", "undetermined", "excluded"}


def test_cli_backends_agree_on_the_example(tmp_path: Path) -> None:
    outs = []
    for backend in ("columnar", "interpreter"):
        out = tmp_path / f"{backend}.csv"
        result = CliRunner().invoke(main, ["score", str(EXAMPLE_CSV), "--out", str(out), "--backend", backend, "-q"])
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_cli_forced_version_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    ok = CliRunner().invoke(main, ["score", str(EXAMPLE_CSV), "--package", str(ROOT / "rules" / "huangzuan16"),
                                   "--version", "2.0", "--out", str(out), "-q"])
    assert ok.exit_code == 0, ok.output
    assert "huangzuan16.a09.amount" in pl.read_csv(out, n_rows=1).columns
    bad = CliRunner().invoke(main, ["score", str(EXAMPLE_CSV), "--version", "9.9", "--out", str(out), "-q"])
    assert bad.exit_code == 2 and "no version" in bad.output and "Traceback" not in bad.output


def test_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    # mkstemp makes 0600 files; an output file must be readable as an ordinary file would be (0666 & ~umask)
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.csv") as p:
            p.write_text("x", encoding="utf-8")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o644
