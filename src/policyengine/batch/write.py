"""Writing results: atomically (a temporary file in the same folder, then `os.replace`; or as one file of a run's
`OutputSet`, moved into place with the others), with text cells that a spreadsheet would run as a formula
neutralised.

CSV is UTF-8 with a byte-order mark, so that Excel opens Chinese text correctly. A text cell or a column header
starting with `=`, `+`, `-` or `@` (or a tab or carriage return, which some spreadsheets strip before looking)
gets a leading single quote; numbers (amounts, totals) are written as plain digits and never altered.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from policyengine.atomic import OutputError, OutputSet, atomic_path, scratch_folder
from policyengine.batch.read import Reject

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_576


def neutralise(text: str) -> str:
    """`=1+1` → `'=1+1`: a cell a spreadsheet would run is shown as text instead."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class UniqueNames:
    """Column names made unique in order: `备注`, `备注.2`, `备注.3` (linear, however many repeat)."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.taken: set[str] = set(taken or ())
        self._next: dict[str, int] = {}

    def __call__(self, base: str) -> str:
        name = base
        k = self._next.get(base, 2)
        while name in self.taken:
            name = f"{base}.{k}"
            k += 1
        self._next[base] = k
        self.taken.add(name)
        return name


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """Every header and every text column's formula-like cells prefixed by a single quote; numbers untouched."""
    if any(neutralise(name) != name for name in frame.columns):
        unique = UniqueNames()
        frame = frame.rename(dict(zip(frame.columns, [unique(neutralise(n)) for n in frame.columns], strict=True)))
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


@contextlib.contextmanager
def _destination(target: Path, outputs: OutputSet | None) -> Iterator[Path]:
    """Where to write `target`: its place in the run's output set, or a temporary file moved onto it after."""
    if outputs is not None:
        yield outputs.path(target)
    else:
        with atomic_path(target) as tmp:
            yield tmp


OUTPUT_EXTENSIONS = (".csv", ".xlsx")


def check_extension(target: Path, option: str = "") -> None:
    """Refuse an output whose extension names no format we write (`.txt`, none, `.pdf`): one line."""
    if target.suffix.lower() not in OUTPUT_EXTENSIONS:
        where = f"{option} {target}" if option else str(target)
        raise OutputError(f"{where}: unknown output extension {target.suffix or '(none)'!r}; "
                          "write .csv or .xlsx (the extension chooses the format)")


def write_table(frame: pl.DataFrame, target: Path, outputs: OutputSet | None = None) -> None:
    """CSV (UTF-8 with BOM) or .xlsx, chosen by the extension; atomically (or as part of `outputs`);
    formulas neutralised."""
    check_extension(target)
    suffix = target.suffix.lower()
    safe = neutralised(frame)
    try:
        if suffix == ".xlsx":
            _write_xlsx(safe, target, outputs)
        else:
            with _destination(target, outputs) as tmp:
                safe.write_csv(tmp, include_bom=True)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None


@contextlib.contextmanager
def xlsx_book(target: Path, outputs: OutputSet | None) -> Iterator[Any]:
    """An xlsxwriter Workbook written to `target`'s temporary path, closed (assembled) when the block succeeds.

    Cells are never run as formulas, URLs or numbers; xlsxwriter's own temporary files (the rows, in
    constant-memory mode; the parts of the zip) go to a private folder beside the target, removed whatever
    happens, so nothing is left in TMPDIR. On an error or interruption the workbook is not closed (that would
    assemble the whole file): its row files are let go and the temporary path is removed."""
    import xlsxwriter  # type: ignore[import-untyped]
    from xlsxwriter.exceptions import XlsxWriterException  # type: ignore[import-untyped]

    with _destination(target, outputs) as tmp, scratch_folder(target) as scratch:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                              "strings_to_numbers": False, "constant_memory": True,
                                              "tmpdir": str(scratch)})
        try:
            yield book
        except BaseException:
            for ws in book.worksheets():
                fh = getattr(ws, "row_data_fh", None)
                if fh is not None:
                    fh.close()
            raise
        try:
            book.close()
        except XlsxWriterException as exc:
            raise OutputError(f"{target}: cannot write: {exc}") from None


def rejects_table(rejects: Iterable[Reject]) -> pl.DataFrame:
    """The rejects file's columns: row, column, value, reason."""
    return pl.DataFrame([(r.row, r.column, r.value, r.reason) for r in rejects],
                        schema={"row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String},
                        orient="row")


def _write_xlsx(frame: pl.DataFrame, target: Path, outputs: OutputSet | None) -> None:
    if frame.height + 1 > EXCEL_MAX_ROWS:
        raise OutputError(f"{target}: {frame.height} rows do not fit in one Excel sheet "
                          f"({EXCEL_MAX_ROWS - 1} at most); write CSV instead")
    with xlsx_book(target, outputs) as book:
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


def write_rejects(rejects: Iterable[Reject], target: Path, outputs: OutputSet | None = None) -> None:
    write_table(rejects_table(rejects), target, outputs)


def write_json(data: Any, target: Path, outputs: OutputSet | None = None) -> None:
    try:
        with _destination(target, outputs) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None


def write_lines(lines: Iterable[str], target: Path, outputs: OutputSet | None = None) -> int:
    """JSON Lines, atomically (or as part of `outputs`); returns how many lines were written."""
    n = 0
    try:
        with _destination(target, outputs) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
            for line in lines:
                fh.write(line)
                fh.write("\n")
                n += 1
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return n
