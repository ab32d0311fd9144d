"""Reading an applicant spreadsheet (CSV or .xlsx) into a table of text cells, and mapping its headers to facts.

Every cell stays text here: typing happens in `parse`, so that no number is ever read through a float.
CSV encodings: a UTF-8 byte-order mark means UTF-8; otherwise UTF-8 is tried strictly and GB18030 (a superset
of GBK) next; `encoding=` overrides detection. Rows are numbered as a spreadsheet numbers them: the header is
row 1, the first applicant row 2 (a blank line in a CSV is a row too, as Excel shows it).

A row with more cells than the header is rejected; a row with fewer cells reads its missing trailing cells as
blank (the usual CSV convention, and what Excel does when it opens such a file).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from policyengine.errors import PolicyEngineError
from policyengine.facts.applicant import FactIndex
from policyengine.model.rulefile import FactSpec

ROW = "__row"
"""The column holding each row's spreadsheet row number (header = row 1)."""

_BOM = codecs.BOM_UTF8


class InputError(PolicyEngineError):
    """The applicant file cannot be read at all (one clear line, before any work starts)."""


@dataclass(frozen=True)
class Reject:
    """One problem that keeps a row out of the decisions."""

    row: int
    column: str
    value: str
    reason: str


@dataclass
class Table:
    """An applicant file as text cells: column `c<i>` holds the cells under `headers[i]`; `ROW` the row number."""

    frame: pl.DataFrame
    headers: list[str]
    source: Path
    encoding: str | None
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        """Rows in the file below the header, including those the reader already rejected."""
        return self.frame.height + len({r.row for r in self.rejects})

    @staticmethod
    def column_name(i: int) -> str:
        return f"c{i}"


def read_table(path: Path, encoding: str | None = None) -> Table:
    """Read a CSV or .xlsx file of applicants; raise `InputError` when the file as a whole is unreadable."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    if path.suffix.lower() in (".xls", ".xlsm", ".ods"):
        raise InputError(f"{path}: only .xlsx and .csv are read; save the sheet as .xlsx or CSV")
    return _read_csv(path, encoding)


# -- CSV ------------------------------------------------------------------------------------------------

def _decode_all(path: Path, data: bytes, encoding: str) -> bytes:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r} (try utf-8, utf-8-sig, gbk or gb18030)") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid {encoding} text (byte {exc.start}); name the file's encoding with "
                         "--encoding") from None
    return text.removeprefix("\ufeff").encode("utf-8")


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[bytes, str]:
    """UTF-8 bytes of the file (without a byte-order mark) and the encoding they were read in.

    Detected UTF-8 is checked here on the first megabyte only; polars checks the rest as it reads.
    """
    if encoding is not None:
        return _decode_all(path, data, encoding), encoding
    if data.startswith(_BOM):
        return data[len(_BOM):], "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data[: 1 << 20], final=len(data) <= 1 << 20)
        return data, "utf-8"
    except UnicodeDecodeError:
        return _decode_all(path, data, "gb18030"), "gb18030"


def _read_frame(utf8: bytes, headers: Sequence[str]) -> tuple[pl.DataFrame, list[Reject]]:
    names = [Table.column_name(i) for i in range(len(headers))]
    try:
        frame = pl.read_csv(io.BytesIO(utf8), has_header=True, new_columns=names, infer_schema=False,
                            raise_if_empty=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, pl.exceptions.ShapeError) as exc:
        if "utf-8" in str(exc):
            raise
        # ragged or otherwise irregular rows: read again, carefully, row by row
        return _read_csv_carefully(utf8, headers)
    if frame.width != len(names):
        return _read_csv_carefully(utf8, headers)
    return frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64)), []


def _read_csv(path: Path, encoding: str | None) -> Table:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if b"\x00" in data[:4096]:
        raise InputError(f"{path}: this is not a text file (it holds NUL bytes); CSV or .xlsx expected")
    utf8, used = _decode(path, data, encoding)
    if not utf8 or utf8.isspace():  # as `not utf8.strip()`, without copying the file (stops at a non-space)
        raise InputError(f"{path}: the file is empty (a header row is needed)")
    headers = _header_row(utf8)
    try:
        frame, rejects = _read_frame(utf8, headers)
    except pl.exceptions.ComputeError:
        if used != "utf-8":
            raise InputError(f"{path}: not valid UTF-8 text; name the file's encoding with --encoding") from None
        utf8, used = _decode_all(path, data, "gb18030"), "gb18030"
        headers = _header_row(utf8)
        frame, rejects = _read_frame(utf8, headers)
    return Table(frame, headers, path, used, rejects)


def _header_row(utf8: bytes) -> list[str]:
    text = utf8[: 1 << 20].decode("utf-8", errors="replace")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as exc:
        raise InputError(f"the header row cannot be read: {exc}") from None
    if not any(h.strip() for h in header):
        raise InputError("the first row is empty; it must hold the column headers")
    return header


def _read_csv_carefully(utf8: bytes, headers: Sequence[str]) -> tuple[pl.DataFrame, list[Reject]]:
    """Python's csv module: slower, but says which rows are ragged."""
    width = len(headers)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    numbers: list[int] = []
    rejects: list[Reject] = []
    try:
        text = utf8.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the file is not valid UTF-8 text; name its encoding with --encoding") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        next(reader, None)
        for i, record in enumerate(reader):
            row = i + 2
            if len(record) > width:
                extra = ",".join(record[width:])
                rejects.append(Reject(row, "", extra[:200], f"this row has {len(record)} cells, the header has "
                                                             f"{width}"))
                continue
            numbers.append(row)
            for j in range(width):
                cell = record[j] if j < len(record) else ""
                columns[j].append(cell if cell != "" else None)
    except csv.Error as exc:
        raise InputError(f"the CSV is malformed near row {reader.line_num}: {exc}") from None
    frame = pl.DataFrame({Table.column_name(j): pl.Series(columns[j], dtype=pl.String) for j in range(width)},
                         schema={Table.column_name(j): pl.String for j in range(width)})
    return frame.with_columns(pl.Series(ROW, numbers, dtype=pl.Int64)), rejects


# -- xlsx -----------------------------------------------------------------------------------------------

def _read_xlsx(path: Path) -> Table:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        raw = sheet.to_polars()
    except Exception as exc:  # fastexcel raises its own exception types for every kind of broken workbook
        raise InputError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
    if raw.height == 0:
        raise InputError(f"{path}: the first sheet is empty (a header row is needed)")
    headers = ["" if v is None else str(v) for v in raw.row(0)]
    if not any(h.strip() for h in headers):
        raise InputError(f"{path}: the first row is empty; it must hold the column headers")
    names = [Table.column_name(i) for i in range(len(headers))]
    frame = raw.slice(1).cast(pl.String)
    frame.columns = names
    frame = frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Table(frame, headers, path, None)


# -- headers -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeaderMap:
    """Which input column holds which fact, and which columns pass through untouched."""

    facts: dict[str, int]
    """fact name → column index"""
    passthrough: list[int]
    missing: list[str]
    """facts some package reads that the file does not have (every row reads them as blank)"""


def map_headers(headers: Sequence[str], index: FactIndex, required: Iterable[FactSpec],
                wanted: Iterable[str]) -> HeaderMap:
    """Match headers (fact names, Chinese labels, aliases) to facts; raise `InputError` for a missing required
    column or two columns naming one fact."""
    facts: dict[str, int] = {}
    passthrough: list[int] = []
    for i, h in enumerate(headers):
        spec = index.find(h) if h.strip() else None
        if spec is None:
            passthrough.append(i)
            continue
        if spec.name in facts:
            first = headers[facts[spec.name]]
            raise InputError(f"columns {first!r} and {h!r} both give {spec.name} ({spec.label}); keep one")
        facts[spec.name] = i
    absent = [s for s in required if s.name not in facts]
    if absent:
        names = ", ".join(f"{s.label} ({s.name})" for s in absent)
        raise InputError(f"required column missing: {names}; the header row has: {', '.join(headers)}")
    missing = [n for n in wanted if n not in facts]
    return HeaderMap(facts, passthrough, missing)
