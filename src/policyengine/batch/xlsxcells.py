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
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from xml.etree import ElementTree

_CHUNK = 1 << 22
_SMALL_PART = 1 << 24
"""workbook.xml and its relationships are small; a larger one is refused rather than parsed."""

_MARKER = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]|\bt\s*=\s*[\"']e[\"']")
_P = rb"(?:[A-Za-z_][\w.-]*:)?"
_ERROR_CELL = re.compile(rb"<" + _P + rb"c\b([^>]*\bt\s*=\s*[\"']e[\"'][^>]*?)(?:/>|>(.*?)</" + _P + rb"c>)",
                         re.S)
_FORMULA_CELL = re.compile(rb"<" + _P + rb"c\b([^>/]*)>\s*(<" + _P + rb"f\b.*?)</" + _P + rb"c>", re.S)
_VALUE_CELL_COLUMN = re.compile(rb"<" + _P + rb"c\s[^>]*?\br\s*=\s*[\"']\$?([A-Z]{1,3})\$?[0-9]+[\"'][^>]*>"
                                rb"(?:<" + _P + rb"f\b[^>]*?(?:/>|>[^<]*</" + _P + rb"f>))?"
                                rb"<" + _P + rb"(?:v>[^<]|is\b)")
_REF = re.compile(rb"\br\s*=\s*[\"']\$?([A-Z]{1,3})\$?([0-9]+)[\"']")
_TYPE = re.compile(rb"\bt\s*=\s*[\"']([A-Za-z]+)[\"']")
_V = re.compile(rb"<" + _P + rb"v\s*(?:/>|>([^<]*)</" + _P + rb"v>)")
_F = re.compile(rb"<" + _P + rb"f\b[^>]*?(?:/>|>([^<]*)</" + _P + rb"f>)")


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


def _has_marker(book: zipfile.ZipFile, sheet: str) -> bool:
    tail = b""
    with book.open(sheet) as fh:
        while chunk := fh.read(_CHUNK):
            if _MARKER.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


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
            if not _has_marker(book, sheet):
                return None
            xml = book.read(sheet)
    except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError) as exc:
        raise SheetError(f"cannot read the sheet's cells ({exc})") from None
    found: dict[tuple[int, int], BadCell] = {}
    unplaced = 0
    for m in _ERROR_CELL.finditer(xml):
        where = _cell(m.group(1))
        if where is None:
            unplaced += 1
            continue
        v = _V.search(m.group(2) or b"")
        error = _text(v.group(1) if v else None) or "#VALUE!"
        found[where[1:]] = BadCell(where[0], where[1], where[2], error, f"错误值 {error}")
    for m in _FORMULA_CELL.finditer(xml):
        attrs, body = m.group(1), m.group(2)
        t = _TYPE.search(attrs)
        kind = t.group(1).decode() if t else "n"
        if kind == "e":
            continue  # an error value, above
        v = _V.search(body)
        cached = v is not None and (bool(v.group(1)) or kind == "str")  # an empty text result is a result
        if cached:
            continue
        where = _cell(attrs)
        if where is None:
            unplaced += 1
            continue
        f = _F.search(body)
        formula = "=" + _text(f.group(1)) if f is not None and f.group(1) else "(shared formula)"
        found[where[1:]] = BadCell(where[0], where[1], where[2], formula, "公式无计算结果")
    if unplaced:
        raise SheetError(f"{unplaced} formula or error cells carry no cell reference; open the workbook in a "
                         "spreadsheet and save it again")
    if not found:
        return None
    first = re.search(rb"<" + _P + rb"c\s[^>]*?\br\s*=\s*[\"']\$?[A-Z]{1,3}\$?([0-9]+)[\"'][^>]*>"
                      rb"(?:<" + _P + rb"f\b[^>]*?(?:/>|>[^<]*</" + _P + rb"f>))?<" + _P + rb"(?:v>[^<]|is\b)", xml)
    first_row = int(first.group(1)) if first else 1
    columns = set(_VALUE_CELL_COLUMN.findall(xml))
    first_col = min((column_index(c.decode()) for c in columns), default=0)
    return Found(sorted(found.values(), key=lambda c: (c.row, c.col)), first_row, first_col)
