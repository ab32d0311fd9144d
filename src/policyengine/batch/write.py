"""Writing results: atomically (a temporary file in the same folder, then `os.replace`), with text cells that a
spreadsheet would run as a formula neutralised.

CSV is UTF-8 with a byte-order mark, so that Excel opens Chinese text correctly. A text cell starting with
`=`, `+`, `-` or `@` (or a tab or carriage return, which some spreadsheets strip before looking) gets a leading
single quote; numbers (amounts, totals) are written as plain digits and never altered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from policyengine.atomic import OutputError, atomic_path, atomic_text
from policyengine.batch.read import Reject

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_576


def neutralise(text: str) -> str:
    """`=1+1` → `'=1+1`: a cell a spreadsheet would run is shown as text instead."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column with formula-like cells prefixed by a single quote; other columns untouched."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text or frame.height == 0:
        return frame

    def formula(name: str) -> pl.Expr:
        # the first byte: every FORMULA_STARTS character is ASCII, and no other UTF-8 character starts with one
        first = pl.col(name).cast(pl.Binary).bin.get(0, null_on_oob=True)
        return first.is_in([ord(c) for c in FORMULA_STARTS]).fill_null(False)

    # rewrite only the columns that hold such a cell (usually none): a rewritten column is a full copy
    hits = frame.select(formula(name).any() for name in text).row(0)
    cols = [pl.when(formula(name)).then(pl.concat_str([pl.lit("'"), pl.col(name)]))
            .otherwise(pl.col(name)).alias(name) for name, hit in zip(text, hits, strict=True) if hit]
    return frame.with_columns(cols) if cols else frame


def write_table(frame: pl.DataFrame, target: Path) -> None:
    """CSV (UTF-8 with BOM) or .xlsx, chosen by the extension; atomically; formulas neutralised."""
    safe = neutralised(frame)
    suffix = target.suffix.lower()
    try:
        if suffix == ".xlsx":
            _write_xlsx(safe, target)
        elif suffix in (".csv", ".txt", ""):
            with atomic_path(target) as tmp:
                safe.write_csv(tmp, include_bom=True)
        else:
            raise OutputError(f"{target}: write .csv or .xlsx (the extension chooses the format)")
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None


def _write_xlsx(frame: pl.DataFrame, target: Path) -> None:
    import xlsxwriter  # type: ignore[import-untyped]

    if frame.height + 1 > EXCEL_MAX_ROWS:
        raise OutputError(f"{target}: {frame.height} rows do not fit in one Excel sheet "
                          f"({EXCEL_MAX_ROWS - 1} at most); write CSV instead")
    with atomic_path(target) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                              "strings_to_numbers": False, "constant_memory": True})
        try:
            sheet = book.add_worksheet("scores")
            sheet.write_row(0, 0, frame.columns)
            text = [dtype == pl.String or isinstance(dtype, pl.Enum) for dtype in frame.dtypes]
            for r, row in enumerate(frame.iter_rows(), start=1):
                for c, value in enumerate(row):
                    if value is None:
                        continue
                    if text[c]:
                        sheet.write_string(r, c, value)
                    else:
                        sheet.write_number(r, c, value)
        finally:
            book.close()


def write_rejects(rejects: Iterable[Reject], target: Path) -> None:
    frame = pl.DataFrame([(r.row, r.column, r.value, r.reason) for r in rejects],
                         schema={"row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String},
                         orient="row")
    write_table(frame, target)


def write_json(data: Any, target: Path) -> None:
    try:
        with atomic_text(target) as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None


def write_lines(lines: Iterable[str], target: Path) -> int:
    """JSON Lines, atomically; returns how many lines were written."""
    n = 0
    try:
        with atomic_text(target) as fh:
            for line in lines:
                fh.write(line)
                fh.write("\n")
                n += 1
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return n
