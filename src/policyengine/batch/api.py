"""`policyengine.score`: a population scored as `policyengine score` scores a file, from a library.

The source is a spreadsheet path (CSV or .xlsx, read as the CLI reads it), a polars or pandas DataFrame, or an
iterable of fact mappings (one per applicant). Each becomes the text table the CLI's reader makes (headers:
fact names, Chinese labels or aliases; cells as text), and is scored, settled and prorated by the same code.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from policyengine.atomic import OutputSet, remove_stale
from policyengine.batch.read import ROW, InputError, Reject, Table, read_table
from policyengine.batch.run import check_outputs, default_rejects_path, write_scored
from policyengine.batch.score import Scored, score_table
from policyengine.batch.summary import summary
from policyengine.batch.workbook import LABELS, default_labels, labelled_output
from policyengine.batch.write import rejects_table
from policyengine.decide.versions import VersionChoice
from policyengine.model.policy import Package

Source = str | os.PathLike[str] | pl.DataFrame | Iterable[Mapping[str, Any]] | Any
"""A path, a polars DataFrame, a pandas DataFrame, or an iterable of fact mappings."""
Packages = Package | str | Sequence[Package | str] | None

FIRST_ROW = 2
"""The row number of the first record of a DataFrame or of mappings: as in the spreadsheet they make (the
header is row 1), so rejects name the same rows whichever way a population comes."""


@dataclass
class ScoreResult:
    """What `score` gives: the decisions, the rejected rows and the run summary; `write` saves them."""

    decisions: pl.DataFrame
    """One row per accepted applicant, in input order, with the CSV contract's columns (`uscc`, `name`,
    `<pkg>.<clause>.status|amount|computed`, `<pkg>.total`, `total`, `reasons`, then the input's other
    columns), or their Chinese headers with `labels="zh"`. Cells are values, not neutralised for a spreadsheet
    (`write` does that)."""
    rejects: pl.DataFrame
    """The rejected rows: `row`, `column`, `value`, `reason` (the rejects file's columns)."""
    summary: dict[str, Any]
    """The run summary (as `--summary` writes it): rows in = out + rejected, counts and amounts per clause,
    fund use."""
    scored: Scored = field(repr=False)
    """The scoring itself (internal; `write` reads it)."""
    source: str = field(default="", repr=False)

    def write(self, path: str | os.PathLike[str], *, rejects: str | os.PathLike[str] | None = None,
              labels: str | None = None) -> None:
        """Write the decisions as `policyengine score --out PATH` does: CSV or the clerk's workbook (.xlsx), by
        the extension; `labels` `zh` or `id`, by default `zh` for .xlsx and `id` for .csv; the rejects go to
        `rejects` (default `<stem>.rejects.csv` beside `path`). Both files are written under temporary names
        and moved into place together: an error leaves the previous files as they were."""
        out = Path(path)
        reject_path = Path(rejects) if rejects is not None else None
        check_outputs(Path(self.source) if self.source else Path(os.devnull), out, reject_path)
        wording = _labels(labels) if labels is not None else default_labels(out)
        target = reject_path if reject_path is not None else default_rejects_path(out)
        for stale in (out, target):
            remove_stale(stale)
        with OutputSet() as outputs:
            write_scored(self.scored, out, target, outputs, wording, source=self.source or "<records>")
            outputs.commit()


def score(source: Source, packages: Packages = None, *, version: VersionChoice = None,
          labels: str = "id") -> ScoreResult:
    """Score a population with the engine `policyengine score` uses (columnar, settled, prorated per fund).

    `source`: a CSV or .xlsx path; a polars or pandas DataFrame whose columns are headers (fact names, Chinese
    labels or aliases) and whose cells are text or numbers; or an iterable of fact mappings. `packages`: a
    package, a package name or folder, or a list of them; None means every bundled package. `version`: a
    version name for every package, or a mapping package id → version (default: by application year).
    `labels`: the wording of `decisions`, `id` (the CSV contract) or `zh` (the workbook's Chinese headers,
    status words and sentences). A file that cannot be read, or a missing required column, raises
    `InputError`; a bad row is rejected, not raised."""
    wording = _labels(labels)
    chosen = _packages(packages)
    table, name = _table(source)
    scored = score_table(table, chosen, version=version, keep_cells=True)
    data = summary(scored, source=name, output=None, rejects=None, audit=None)
    return ScoreResult(labelled_output(scored, wording), rejects_table(scored.rejects), data, scored,
                       name if isinstance(source, str | os.PathLike) else "")


def _labels(labels: str) -> str:
    if labels not in LABELS:
        raise InputError(f"labels {labels!r}: choose one of {', '.join(LABELS)}")
    return labels


def _packages(packages: Packages) -> list[Package]:
    from policyengine.model.bundled import load_bundled
    from policyengine.model.loader import load_package

    if packages is None:
        return load_bundled()
    items: Sequence[Package | str] = [packages] if isinstance(packages, Package | str) else packages
    return [p if isinstance(p, Package) else load_package(p) for p in items]


def _table(source: object) -> tuple[Table, str]:
    """The text table of `source` and the name the summary gives it."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return read_table(path), str(path)
    if isinstance(source, pl.DataFrame):
        return _frame_table(source, "<polars.DataFrame>"), "<polars.DataFrame>"
    if type(source).__module__.partition(".")[0] == "pandas" and type(source).__name__ == "DataFrame":
        return _frame_table(pl.from_pandas(source), "<pandas.DataFrame>"), "<pandas.DataFrame>"
    if isinstance(source, Mapping) or not isinstance(source, Iterable):
        raise InputError(f"cannot score a {type(source).__name__}: give a CSV or .xlsx path, a DataFrame or an "
                         "iterable of fact mappings (one per applicant)")
    return _records_table(source), "<records>"


def _text(column: pl.Series) -> pl.Series:
    """A column as spreadsheet text: integers as digits, a whole float as an integer (`2021.0` → `2021`), any
    other float as the shortest decimal that reads back as it (`0.1`), booleans as 是/否."""
    dtype = column.dtype
    if dtype == pl.String:
        return column
    if dtype == pl.Boolean:
        words: pl.Series = column.replace_strict({True: "是", False: "否"}, return_dtype=pl.String)
        return words
    if dtype.is_float():
        return pl.Series(column.name, [_cell(v) for v in column.to_list()], dtype=pl.String)
    text: pl.Series = column.cast(pl.String)
    return text


def _frame_table(frame: pl.DataFrame, name: str) -> Table:
    headers = [str(c) for c in frame.columns]
    cols = [_text(frame.to_series(i)).alias(Table.column_name(i)) for i in range(frame.width)]
    text = pl.DataFrame(cols, schema={Table.column_name(i): pl.String for i in range(frame.width)})
    return _as_table(text, headers, name)


def _cell(value: object) -> str | None:
    """One value of a fact mapping as spreadsheet text (None stays blank)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _records_table(records: Iterable[object]) -> Table:
    headers: dict[str, int] = {}
    rows: list[Mapping[str, Any]] = []
    for n, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            raise InputError(f"record {n}: a mapping of facts expected, got {type(record).__name__}")
        for key in record:
            if not isinstance(key, str):
                raise InputError(f"record {n}: fact names are text, got {key!r}")
            headers.setdefault(key, len(headers))
        rows.append(record)
    names = list(headers)
    text = pl.DataFrame({Table.column_name(i): [_cell(r.get(h)) for r in rows] for i, h in enumerate(names)},
                        schema={Table.column_name(i): pl.String for i in range(len(names))})
    return _as_table(text, names, "<records>")


def _as_table(text: pl.DataFrame, headers: list[str], name: str) -> Table:
    if not headers:
        raise InputError(f"{name}: no columns (a header is needed)")
    frame = text.with_row_index(ROW, offset=FIRST_ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    rejects: list[Reject] = []
    return Table(frame, headers, Path(name), None, rejects)
