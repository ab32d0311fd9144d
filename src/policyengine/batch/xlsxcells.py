"""The cells of an .xlsx sheet that hold no value to read: formulas without a computed result, and error values.

fastexcel (calamine) reads both as empty cells, and an empty money cell may well mean 0: so they are found
here, in the sheet's XML, and the batch rejects a row for such a cell in a fact column. A formula's result is
the value Excel computed and stored beside it (`<v>`); a formula stored without one (written by a program and
never opened in a spreadsheet) has nothing to read. An error cell (`t="e"`: `#DIV/0!`, `#REF!`, `#N/A`…) is
not a value at all.

Cost: the sheet's XML is streamed once looking for a formula or an error marker; a sheet with neither (the usual
data sheet) costs nothing more. Otherwise the XML is searched with a few regular expressions (C speed).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from xml.etree import ElementTree

_CHUNK = 1 << 22
_SMALL_PART = 1 << 24
"""workbook.xml and its relationships are small; a larger one is refused rather than parsed."""

_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet\b")
_ERROR_MARKS = (b't="e"', b"t='e'")
_REF = re.compile(rb"\br\s*=\s*[\"']\$?([A-Z]{1,3})\$?([0-9]+)[\"']")
_TYPE = re.compile(rb"\bt\s*=\s*[\"']([A-Za-z]+)[\"']")


def _patterns(prefix: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]:
    """The `<v>` and `<f>` elements, and a cell that holds a value, in a sheet whose elements carry `prefix`."""
    p = re.escape(prefix)
    v = re.compile(rb"<" + p + rb"v\s*(?:/>|>([^<]*)</" + p + rb"v>)")
    f = re.compile(rb"<" + p + rb"f\b[^>]*?(?:/>|>([^<]*)</" + p + rb"f>)")
    valued = re.compile(rb"<" + p + rb"c\s[^>]*?\br\s*=\s*[\"']\$?([A-Z]{1,3})\$?([0-9]+)[\"'][^>]*>"
                        rb"(?:<" + p + rb"f\b[^>]*?(?:/>|>[^<]*</" + p + rb"f>))?<" + p + rb"(?:v>[^<]|is\b)")
    return v, f, valued


class SheetError(Exception):
    """The workbook's first sheet cannot be located in the file."""


@dataclass(frozen=True)
class BadCell:
    ref: str
    """as Excel names the cell: `D17`"""
    row: int
    """the sheet's row number (1-based)"""
    col: int
    """the sheet's column (0-based: A is 0)"""
    value: str
    """the formula (`=A1+A2`) or the error value (`#REF!`)"""
    reason: str
    """`公式无计算结果` or `错误值 #REF!`"""


@dataclass(frozen=True)
class Found:
    cells: list[BadCell]
    first_row: int
    """the first row holding a value (where calamine's range, hence the table, starts)"""
    first_col: int
    """the first column holding a value (0-based)"""


def column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _part(book: zipfile.ZipFile, name: str) -> bytes:
    try:
        info = book.getinfo(name)
    except KeyError:
        raise SheetError(f"the workbook has no part {name}") from None
    if info.file_size > _SMALL_PART:
        raise SheetError(f"{name} is too large ({info.file_size:,} bytes)")
    return book.read(info)


def _xml(book: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(_part(book, name))
    except ElementTree.ParseError as exc:
        raise SheetError(f"{name} is not well-formed XML ({exc})") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _target(book: zipfile.ZipFile, rels: str, rid: str | None, kind: str, base: str) -> str | None:
    """The part a relationship (by id, or else the first of a kind) points to, as a path in the zip."""
    for rel in _xml(book, rels).iter():
        if _local(rel.tag) != "Relationship":
            continue
        if (rid is not None and rel.get("Id") == rid) or (rid is None and rel.get("Type", "").endswith(kind)):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
            return posixpath.normpath(path)
    return None


def first_sheet(book: zipfile.ZipFile) -> str:
    """The zip path of the workbook's first sheet (the one fastexcel reads as sheet 0)."""
    names = set(book.namelist())
    workbook = (_target(book, "_rels/.rels", None, "/officeDocument", "") if "_rels/.rels" in names else None) \
        or "xl/workbook.xml"
    folder = posixpath.dirname(workbook)
    rid = None
    for el in _xml(book, workbook).iter():
        if _local(el.tag) == "sheet":
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
            break
    if rid is None:
        raise SheetError("the workbook lists no sheet")
    rels = posixpath.join(folder, "_rels", posixpath.basename(workbook) + ".rels")
    sheet = _target(book, rels, rid, "", folder)
    if sheet is None or sheet not in names:
        raise SheetError("the first sheet's part is missing")
    return sheet


def _formula_marks(prefix: bytes) -> tuple[bytes, ...]:
    return tuple(b"<" + prefix + b"f" + end for end in (b">", b" ", b"/"))


def _prefix(book: zipfile.ZipFile, sheet: str) -> bytes:
    with book.open(sheet) as fh:
        m = _PREFIX.search(fh.read(4096))
    return m.group(1) or b"" if m else b""


def _has_marker(book: zipfile.ZipFile, sheet: str, prefix: bytes) -> bool:
    """Whether the sheet may hold a formula or an error cell: literal searches over the stream (cheap)."""
    marks = (*_ERROR_MARKS, *_formula_marks(prefix))
    tail = b""
    with book.open(sheet) as fh:
        while chunk := fh.read(_CHUNK):
            window = tail + chunk
            if any(mark in window for mark in marks):
                return True
            tail = chunk[-16:]
    return False


def _cells_at(xml: bytes, marks: tuple[bytes, ...], prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(attributes, content) of each distinct cell whose markup contains one of `marks`."""
    start_tag, end_tag = b"<" + prefix + b"c ", b"</" + prefix + b"c>"
    seen: set[int] = set()
    for mark in marks:
        pos = xml.find(mark)
        while pos != -1:
            start = xml.rfind(start_tag, 0, pos)
            close = xml.find(b">", start) if start != -1 else -1
            if start != -1 and start not in seen and close != -1:
                seen.add(start)
                if xml[close - 1:close] == b"/":
                    yield xml[start + len(start_tag):close - 1], b""
                else:
                    end = xml.find(end_tag, close)
                    yield xml[start + len(start_tag):close], xml[close + 1:end if end != -1 else len(xml)]
            pos = xml.find(mark, pos + 1)


def _cell(attrs: bytes) -> tuple[str, int, int] | None:
    m = _REF.search(attrs)
    if m is None:
        return None
    letters, digits = m.group(1).decode(), m.group(2).decode()
    return letters + digits, int(digits), column_index(letters)


def _text(raw: bytes | None) -> str:
    text = unescape(raw.decode("utf-8", errors="replace")) if raw else ""
    return text if len(text) <= 200 else text[:200] + "…"


def unreadable_cells(path: Path) -> Found | None:
    """The formulas without a result and the error cells of the first sheet, or None when it has neither."""
    try:
        with zipfile.ZipFile(path) as book:
            sheet = first_sheet(book)
            prefix = _prefix(book, sheet)
            if not _has_marker(book, sheet, prefix):
                return None
            xml = book.read(sheet)
    except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise SheetError(f"cannot read the sheet's cells ({exc})") from None
    v_re, f_re, valued = _patterns(prefix)
    found: dict[tuple[int, int], BadCell] = {}
    unplaced = 0
    for attrs, body in _cells_at(xml, (*_ERROR_MARKS, *_formula_marks(prefix)), prefix):
        t = _TYPE.search(attrs)
        kind = t.group(1).decode() if t else "n"
        v = v_re.search(body)
        f = f_re.search(body)
        if kind == "e":
            error = _text(v.group(1) if v else None) or "#VALUE!"
            reason = f"错误值 {error}"
            value = error
        elif f is not None and (v is None or not (v.group(1) or kind == "str")):  # an empty text is a result
            value = "=" + _text(f.group(1)) if f.group(1) else "(shared formula)"
            reason = "公式无计算结果"
        else:
            continue  # a formula with its result, or a mark that was not one
        where = _cell(attrs)
        if where is None:
            unplaced += 1
            continue
        found[where[1:]] = BadCell(where[0], where[1], where[2], value, reason)
    if unplaced:
        raise SheetError(f"{unplaced} formula or error cells carry no cell reference; open the workbook in a "
                         "spreadsheet and save it again")
    if not found:
        return None
    # where calamine's range starts: the first row and the first column holding a value (an error included)
    refs = valued.findall(xml)
    first_row = min((int(r) for _, r in refs[:1]), default=1)
    first_col = min((column_index(c.decode()) for c in {c for c, _ in refs}), default=0)
    return Found(sorted(found.values(), key=lambda c: (c.row, c.col)), first_row, first_col)
