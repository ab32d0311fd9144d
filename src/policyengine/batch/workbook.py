"""The clerk's workbook (`score … --out FILE.xlsx`) and the Chinese wording of the output (`--labels zh`).

Sheets, in order:

* `结果` — one row per applicant: 统一社会信用代码, 企业名称, then per clause a status column headed by the clause
  (`第5条 研发投入增量补助`: 符合 / 不符合 / 待补充 / 不重复享受), its amount (`… 金额`) and its amount before
  settlement (`… 测算金额`), each package's total (`<title> 合计`), `合计`, `说明` (the reasons and cuts as
  sentences), then the input's other columns untouched;
* `未通过` — the rejected rows: 行号, 列, 内容, 原因;
* `汇总` — per clause the count of each status and the amount paid, each package's total, and the fund use;
* `条款` — each clause of each version: package, version, 条, 标题, 条文, verified.

Headers are frozen, every sheet has an autofilter, columns have widths that fit their content, amounts are
numbers formatted `#,##0`; every text cell that a spreadsheet would run as a formula is neutralised (as CSV).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from policyengine.atomic import OutputError, OutputSet
from policyengine.batch.read import Reject
from policyengine.batch.score import Scored, clause_ids
from policyengine.batch.write import EXCEL_MAX_ROWS, UniqueNames, neutralise, neutralised, xlsx_book
from policyengine.model.policy import Clause, Package

STATUS_ZH = {"eligible": "符合", "ineligible": "不符合", "undetermined": "待补充", "excluded": "不重复享受"}
LABELS = ("zh", "id")


def default_labels(target: Path) -> str:
    """`zh` for a workbook, `id` (the program contract) for CSV."""
    return "zh" if target.suffix.lower() == ".xlsx" else "id"


def _latest_clause(package: Package, cid: str) -> Clause:
    for v in reversed(package.versions):
        for c in v.clauses:
            if c.id == cid:
                return c
    raise KeyError(cid)


def _title(package: Package) -> str:
    from policyengine.batch.reasons_zh import short_title

    return short_title(package)


def headers_zh(scored: Scored) -> dict[str, str]:
    """The id-mode column name → its Chinese header."""
    several = len(scored.packages) > 1
    out = {"uscc": "统一社会信用代码", "name": "企业名称", "total": "合计", "reasons": "说明", "advise": "最近可达条款"}
    for p in scored.packages:
        prefix = f"{_title(p)} " if several else ""
        for cid in clause_ids(p):
            c = _latest_clause(p, cid)
            head = f"{prefix}第{c.article}条 {c.title}"
            out[f"{p.id}.{cid}.status"] = head
            out[f"{p.id}.{cid}.amount"] = f"{head} 金额"
            out[f"{p.id}.{cid}.computed"] = f"{head} 测算金额"
        out[f"{p.id}.total"] = f"{_title(p)} 合计"
    return out


def labelled_output(scored: Scored, labels: str) -> pl.DataFrame:
    """The output frame in the chosen wording: `id` is the contract as it is; `zh` has Chinese headers, status
    words and the `说明` sentences."""
    if labels == "id":
        return scored.output
    from policyengine.batch.reasons_zh import zh_reasons

    frame = scored.output
    status = [c for c in frame.columns if c.endswith(".status") and c in headers_zh(scored)]
    frame = frame.with_columns(
        *(pl.col(c).replace_strict(STATUS_ZH, default=None, return_dtype=pl.String) for c in status),
        zh_reasons(scored).alias("reasons") if frame.height else pl.col("reasons"))
    names = headers_zh(scored)
    known = set(names)
    unique = UniqueNames(set(names.values()))
    rename = {c: names[c] if c in known else unique(c) for c in frame.columns}
    return frame.rename(rename)


def rejects_frame(rejects: Sequence[Reject], labels: str = "zh") -> pl.DataFrame:
    """The `未通过` sheet: 原因 in Chinese (`Reject.reason_zh`) with Chinese labels, in English with `labels="id"`."""
    return pl.DataFrame([(r.row, r.column, r.value, r.reason if labels == "id" else r.reason_zh) for r in rejects],
                        schema={"行号": pl.Int64, "列": pl.String, "内容": pl.String, "原因": pl.String}, orient="row")


def summary_frames(scored: Scored, data: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The `汇总` sheet: clause counts and amounts; and the fund use."""
    rows = []
    for p, pdata in zip(scored.packages, data["packages"], strict=True):
        for cid, c in pdata["clauses"].items():
            clause = _latest_clause(p, cid)
            rows.append((_title(p), f"第{clause.article}条", clause.title, c["eligible"], c["ineligible"],
                         c["undetermined"], c["excluded"], c["amount"]))
        rows.append((_title(p), "合计", "", None, None, None, None, pdata["total"]))
    rows.append(("总计", "", "", None, None, None, None, data["total"]))
    counts = pl.DataFrame(rows, orient="row", schema={
        "政策": pl.String, "条": pl.String, "标题": pl.String, "符合": pl.Int64, "不符合": pl.Int64,
        "待补充": pl.Int64, "不重复享受": pl.Int64, "金额": pl.Int64})
    funds = []
    for p, pdata in zip(scored.packages, data["packages"], strict=True):
        for b in pdata["budget"]:
            funds.append((_title(p), b["version"], b["application_year"], b["fund"], b["demand"], b["paid"],
                          "按比例兑付 " + b["factor"] if b["prorated"] else "资金充足"))
    fund = pl.DataFrame(funds, orient="row", schema={
        "政策": pl.String, "版本": pl.String, "申报年度": pl.Int64, "年度资金": pl.Int64, "测算合计": pl.Int64,
        "兑付合计": pl.Int64, "说明": pl.String})
    return counts, fund


def clauses_frame(packages: Sequence[Package]) -> pl.DataFrame:
    rows = [(p.id, v.version, c.article, c.title, c.text, "是" if c.verified else "否")
            for p in packages for v in p.versions for c in v.clauses]
    return pl.DataFrame(rows, orient="row", schema={"package": pl.String, "version": pl.String, "条": pl.Int64,
                                                      "标题": pl.String, "条文": pl.String, "verified": pl.String})


_MONEY_WORDS = ("金额", "合计", "年度资金", "测算合计", "兑付合计")


def _is_money(name: str) -> bool:
    return name.endswith(_MONEY_WORDS) or name in ("合计", "总计")


def _width(name: str, values: pl.Series) -> float:
    def w(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)

    sample = values.head(2000).cast(pl.String).drop_nulls()
    longest = max((w(t) for t in sample.to_list()), default=0)
    return float(min(max(w(name), longest, 6) + 2, 60))


def write_workbook(scored: Scored, data: dict[str, Any], target: Path, labels: str = "zh",
                   outputs: OutputSet | None = None) -> None:
    """The four-sheet workbook, atomically (or as part of `outputs`)."""
    result = neutralised(labelled_output(scored, labels))
    if result.height + 1 > EXCEL_MAX_ROWS:
        raise OutputError(f"{target}: {result.height} rows do not fit in one Excel sheet "
                          f"({EXCEL_MAX_ROWS - 1} at most); write CSV instead")
    counts, fund = summary_frames(scored, data)
    fund = neutralised(fund)
    sheets = [("结果", result), ("未通过", neutralised(rejects_frame(scored.rejects, labels))),
              ("汇总", neutralised(counts)), ("条款", neutralised(clauses_frame(scored.packages)))]
    money_cols = {f"{p.id}.{cid}.{k}" for p in scored.packages for cid in clause_ids(p)
                  for k in ("amount", "computed")} | {f"{p.id}.total" for p in scored.packages} | {"total"}
    try:
        with xlsx_book(target, outputs) as book:
            head = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7"})
            money = book.add_format({"num_format": "#,##0"})
            for name, frame in sheets:
                ws = book.add_worksheet(name)
                ws.freeze_panes(1, 2 if name == "结果" else 0)
                is_money = [(c in money_cols) if labels == "id" and name == "结果" else _is_money(c)
                            for c in frame.columns]
                for i, c in enumerate(frame.columns):
                    ws.set_column(i, i, _width(c, frame.get_column(c)), money if is_money[i] else None)
                ws.write_row(0, 0, frame.columns, head)
                ws.autofilter(0, 0, max(frame.height, 1), max(frame.width - 1, 0))
                for r, row in enumerate(frame.iter_rows(), start=1):
                    for col, value in enumerate(row):
                        if value is None:
                            continue
                        if isinstance(value, str):   # String, Enum (statuses) and Categorical columns
                            ws.write_string(r, col, value)
                        elif is_money[col]:
                            ws.write_number(r, col, value, money)
                        else:
                            ws.write_number(r, col, value)
                if name == "汇总" and fund.height:   # the fund use, below the clause counts
                    top = frame.height + 2
                    ws.write_row(top, 0, fund.columns, head)
                    for r, row in enumerate(fund.iter_rows(), start=top + 1):
                        for col, value in enumerate(row):
                            if isinstance(value, str):
                                ws.write_string(r, col, value)
                            elif value is not None:
                                ws.write_number(r, col, value, money if col >= 3 else None)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None


__all__ = ["LABELS", "STATUS_ZH", "default_labels", "labelled_output", "neutralise", "write_workbook"]
