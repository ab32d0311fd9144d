"""Reading an applicant spreadsheet (CSV or .xlsx) into a table of text cells, and mapping its headers to facts.

Every cell stays text here: typing happens in `parse`, so that no number is ever read through a float.
CSV encodings: a UTF-8 byte-order mark means UTF-8; otherwise UTF-8 is tried strictly and GB18030 (a superset
of GBK) next; `encoding=` overrides detection.

Rows are counted as a clerk sees the file. In a CSV every physical line below the header is one row, numbered
by its line (the header is line 1; a blank line is a row too, as Excel shows it): a record that spans lines (a
quote opened in one line and closed in a later one, or never) is not read as one applicant: each of its lines is
rejected with `第N行：引号未闭合`, N the line where the quote opened. (A header may span lines; data rows then
start below it.) In an .xlsx the header is row 1 and the rows below it are numbered on from there.

A row with more cells than the header is rejected; a row with fewer cells reads its missing trailing cells as
blank (the usual CSV convention, and what Excel does when it opens such a file). A cell larger than
`CELL_LIMIT` rejects its row (naming the column) before anything reads it. In an .xlsx, a formula without a
computed result or an error value (`#DIV/0!`, `#REF!`, `#N/A`…) is recorded as a problem of its cell
(`Table.problems`); a row is rejected for it when the cell is in a fact column.

So rows in = rows read + rows rejected here, always.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from policyengine.errors import PolicyEngineError, brief
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
    reason_zh: str = ""
    """`reason` in Chinese, for a clerk's sheet; left out (or empty), it is `reason`."""

    def __post_init__(self) -> None:
        if not self.reason_zh:
            object.__setattr__(self, "reason_zh", self.reason)


@dataclass(frozen=True)
class CellProblem:
    """A cell that holds no value to read: a formula without a computed result, or an error value."""

    row: int
    column: int
    """column index (as in `Table.headers`)"""
    value: str
    """the formula, or the error value"""
    reason: str
    """e.g. `D17: 公式无计算结果`, `D17: 错误值 #REF!` (the cell as Excel names it)"""


@dataclass
class Table:
    """An applicant file as text cells: column `c<i>` holds the cells under `headers[i]`; `ROW` the row number."""

    frame: pl.DataFrame
    headers: list[str]
    source: Path
    encoding: str | None
    rejects: list[Reject] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)

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

class _NotUtf8(Exception):
    """The bytes taken for UTF-8 are not: detection tries GB18030 next."""


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

    Detected UTF-8 is checked here on the first megabyte only; the reader checks the rest as it reads.
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


def physical_lines(utf8: bytes) -> int:
    """How many lines a text editor shows: ended by LF, CR LF or a lone CR (as Python's csv module splits
    them); a last line without an ending counts too."""
    n = utf8.count(b"\n")
    if b"\r" in utf8:
        n += utf8.count(b"\r") - utf8.count(b"\r\n")
    return n + 1 if utf8 and not utf8.endswith((b"\n", b"\r")) else n


def _read_frame(utf8: bytes, headers: Sequence[str], header_lines: int) -> tuple[pl.DataFrame, list[Reject]]:
    """polars on a clean file (the fast path); Python's csv module, line by line, when polars' records are not
    the file's physical lines (a quoted field spanning lines, a lone CR), or a row is ragged."""
    names = [Table.column_name(i) for i in range(len(headers))]
    try:
        frame = pl.read_csv(io.BytesIO(utf8), has_header=True, new_columns=names, infer_schema=False,
                            raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        if str(exc).startswith("invalid utf-8"):  # (the message may quote a cell: only its start is polars')
            raise _NotUtf8 from None
        # ragged or otherwise irregular rows: read again, carefully, line by line
        return _read_csv_carefully(utf8, headers)
    # every record ends at a line end, so as many records as data lines means one record per line
    if frame.width != len(names) or frame.height != physical_lines(utf8) - header_lines:
        return _read_csv_carefully(utf8, headers)
    return frame.with_row_index(ROW, offset=header_lines + 1).with_columns(pl.col(ROW).cast(pl.Int64)), []


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
    try:
        headers, header_lines = _header_row(utf8)
        frame, rejects = _read_frame(utf8, headers, header_lines)
    except _NotUtf8:
        if used != "utf-8":
            raise InputError(f"{path}: not valid UTF-8 text; name the file's encoding with --encoding") from None
        utf8, used = _decode_all(path, data, "gb18030"), "gb18030"
        headers, header_lines = _header_row(utf8)
        try:
            frame, rejects = _read_frame(utf8, headers, header_lines)
        except _NotUtf8:  # pragma: no cover - GB18030 decoded into valid UTF-8
            raise InputError(f"{path}: not valid UTF-8 text; name the file's encoding with --encoding") from None
    frame, large = _large_cells(frame, headers)
    return Table(frame, headers, path, used, sorted([*rejects, *large], key=lambda r: (r.row, r.column)))


HEADER_LIMIT = 1 << 20
"""The header row may take at most this many bytes (1 MiB)."""


def _header_row(utf8: bytes) -> tuple[list[str], int]:
    """The header cells and how many physical lines the header takes (more than one when a quoted header
    cell holds a line break)."""
    chunk = utf8[:HEADER_LIMIT]
    whole = len(utf8) <= HEADER_LIMIT
    text = chunk.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise InputError(f"the header row cannot be read: {exc}") from None
    lines = max(reader.line_num, 1)
    if lines > 1 and lines >= physical_lines(chunk):
        if not whole:
            raise InputError(f"the header row is longer than {HEADER_LIMIT >> 20} MiB (a quote opened on line 1 "
                             "may never close)")
        if _quote_open_at_end(text):
            raise InputError("第1行：引号未闭合 (the header row opens a quote that the file never closes)")
    if not any(h.strip() for h in header):
        raise InputError("the first row is empty; it must hold the column headers")
    return header, lines


def _quote_open_at_end(text: str) -> bool:
    """Whether the first record of `text` runs to its end inside a quoted field."""
    try:
        next(csv.reader(io.StringIO(text, newline=""), strict=True), None)
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


class _Lines:
    """The physical lines of a text, remembering those read since `mark()`: the lines of the current record."""

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text, newline="")
        self.taken: list[str] = []

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self.taken.append(line)
            yield line

    def mark(self) -> None:
        self.taken.clear()


def _line_text(line: str) -> str:
    line = line.rstrip("\r\n")
    return line if len(line) <= 80 else line[:80] + "…"


def _read_csv_carefully(utf8: bytes, headers: Sequence[str]) -> tuple[pl.DataFrame, list[Reject]]:
    """Python's csv module: slower, but says which lines are ragged and which records span lines."""
    width = len(headers)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    numbers: list[int] = []
    rejects: list[Reject] = []
    try:
        text = utf8.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotUtf8 from None
    last = physical_lines(utf8)
    lines = _Lines(text)
    reader = csv.reader(lines)
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, (1 << 31) - 1))  # a huge cell is rejected by its size, after reading
    try:
        next(reader, None)  # the header (`_header_row` read it)
        while True:
            lines.mark()
            row = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # pragma: no cover - Python's csv reader no longer raises on any text
                rejects.extend(Reject(row + k, "", _line_text(line), f"第{row}行：{exc}")
                               for k, line in enumerate(lines.taken))
                continue
            if reader.line_num > row or (row == last and '"' in lines.taken[0] and _quote_open_at_end(lines.taken[0])):
                rejects.extend(Reject(row + k, "", _line_text(line), f"第{row}行：引号未闭合")
                               for k, line in enumerate(lines.taken))
                continue
            if len(record) > width:
                extra = ",".join(record[width:])
                rejects.append(Reject(row, "", extra[:200], f"this row has {len(record)} cells, the header has "
                                                            f"{width}"))
                continue
            numbers.append(row)
            for j in range(width):
                cell = record[j] if j < len(record) else ""
                columns[j].append(cell if cell != "" else None)
    finally:
        csv.field_size_limit(limit)
    frame = pl.DataFrame({Table.column_name(j): pl.Series(columns[j], dtype=pl.String) for j in range(width)},
                         schema={Table.column_name(j): pl.String for j in range(width)})
    return frame.select(pl.Series(ROW, numbers, dtype=pl.Int64), pl.all()), rejects


# -- every reader: cell size ----------------------------------------------------------------------------

CELL_LIMIT = 64 * 1024
"""A cell may hold at most this many bytes (64 KiB, as UTF-8): no fact needs more, and a larger cell (a whole
file pasted into one cell, or an attack) is rejected before anything parses it."""


def _large_cells(frame: pl.DataFrame, headers: Sequence[str]) -> tuple[pl.DataFrame, list[Reject]]:
    """Reject the rows holding a cell above `CELL_LIMIT`; a byte count per cell, so a 50 MB cell costs nothing."""
    names = [Table.column_name(i) for i in range(len(headers))]
    if not names or frame.height == 0:
        return frame, []
    largest = frame.select(pl.col(names).str.len_bytes().max()).row(0)
    over = [i for i, n in enumerate(largest) if n is not None and n > CELL_LIMIT]
    if not over:
        return frame, []
    rejects: list[Reject] = []
    bad = pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
    for i in over:
        size = frame.get_column(names[i]).str.len_bytes()
        hit = (size > CELL_LIMIT).fill_null(False)
        bad = bad | hit
        cells = frame.filter(hit).select(ROW, pl.col(names[i]).str.slice(0, 80), size.filter(hit).alias("n"))
        header = headers[i] or f"column {i + 1}"
        rejects += [Reject(row, headers[i], f"{head}…",
                           f"{header}: 单元格过大（{n:,} 字节，上限 {CELL_LIMIT // 1024} KiB）(cell too large)")
                    for row, head, n in cells.iter_rows()]
    return frame.filter(~bad), rejects


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
    problems = _xlsx_problems(path, raw)
    last = max((p.row for p in problems), default=0)
    if last > frame.height + 1:  # a row below the last value (its formulas have no value): a row all the same
        more = pl.DataFrame({ROW: range(frame.height + 2, last + 1)}, schema={ROW: pl.Int64})
        frame = pl.concat([frame, more], how="diagonal_relaxed").select(frame.columns)
    frame, large = _large_cells(frame, headers)
    return Table(frame, headers, path, None, large, problems)


def _xlsx_problems(path: Path, raw: pl.DataFrame) -> list[CellProblem]:
    """The sheet's formulas without a computed result and its error cells, placed in the table's numbering."""
    from policyengine.batch.xlsxcells import SheetError, unreadable_cells

    try:
        found = unreadable_cells(path)
    except SheetError as exc:
        raise InputError(f"{path}: {exc}") from None
    if found is None or not found.cells:
        return []
    out = []
    for cell in found.cells:
        row = cell.row - found.first_row + 1
        col = cell.col - found.first_col
        if row >= 2 and 0 <= col < raw.width:
            out.append(CellProblem(row, col, cell.value, f"{cell.ref}: {cell.reason}"))
    return out


def problem_rejects(table: Table, columns: Iterable[int]) -> list[Reject]:
    """The rows rejected for a problem cell (a formula without a result, an error value) in `columns`."""
    wanted = set(columns)
    return [Reject(p.row, table.headers[p.column], p.value, p.reason) for p in table.problems if p.column in wanted]


# -- headers -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeaderMap:
    """Which input column holds which fact, and which columns pass through untouched."""

    facts: dict[str, int]
    """fact name → column index"""
    passthrough: list[int]
    missing: list[str]
    """facts some package reads that the file does not have (every row reads them as blank)"""


def _shown(header: str) -> str:
    """A header as an error message shows it: on one line, at most 40 characters."""
    text = " ".join(header.split())
    return text if len(text) <= 40 else text[:40] + "…"


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
            raise InputError(f"columns {brief(first)} and {brief(h)} both give {spec.name} ({spec.label}); keep one")
        facts[spec.name] = i
    absent = [s for s in required if s.name not in facts]
    if absent:
        names = ", ".join(f"{s.label} ({s.name})" for s in absent)
        shown = ", ".join(_shown(h) for h in headers[:50])
        more = f" and {len(headers) - 50:,} more" if len(headers) > 50 else ""
        raise InputError(f"required column missing: {names}; the header row has: {shown}{more}")
    missing = [n for n in wanted if n not in facts]
    return HeaderMap(facts, passthrough, missing)
