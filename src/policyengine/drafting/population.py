"""Reading a population of applicants (CSV or .xlsx) for `diff --population` and `explain --row`.

The file is read by the batch reader (`policyengine.batch.read`: encoding detection, xlsx, ragged rows), so
a sheet means here what it means to `policyengine score`; `read_sheet` is the one place that calls it.
Each version then reads the columns it knows (by fact name, Chinese label or alias, as `score` maps
headers); a row whose cell cannot be read, or whose required fact is blank, is rejected for that version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from policyengine.batch.read import ROW, CellProblem, Reject, map_headers, read_table
from policyengine.errors import FactError
from policyengine.facts.applicant import FactIndex, Facts, read_facts
from policyengine.model.policy import PolicyVersion


@dataclass(frozen=True)
class SheetRow:
    """One applicant row: its spreadsheet row number (header = row 1) and its cells, column by column."""

    number: int
    values: tuple[str | None, ...]


@dataclass
class Sheet:
    source: Path
    headers: list[str]
    rows: list[SheetRow]
    rejects: list[Reject]
    """rows the reader itself could not read (for example a row with more cells than the header)"""
    encoding: str | None
    sha256: str
    problems: list[CellProblem] = field(default_factory=list)
    """.xlsx cells with nothing to read (a formula without a result, an error value): a version that reads the
    column rejects the row"""

    @property
    def rows_in(self) -> int:
        return len(self.rows) + len({r.row for r in self.rejects})

    def row(self, number: int) -> SheetRow:
        for r in self.rows:
            if r.number == number:
                return r
        for rej in self.rejects:
            if rej.row == number:
                raise LookupError(f"row {number} cannot be read: {rej.reason}")
        last = max([r.number for r in self.rows] + [r.row for r in self.rejects], default=1)
        raise LookupError(f"no row {number} in {self.source.name} (rows 2–{last}; the header is row 1)")


def read_sheet(path: Path, encoding: str | None = None) -> Sheet:
    """Read an applicant file with the batch reader (raises `batch.InputError` when the file is unreadable)."""
    table = read_table(path, encoding)
    rows = []
    names = [table.column_name(i) for i in range(len(table.headers))]
    for record in table.frame.iter_rows(named=True):
        rows.append(SheetRow(int(record[ROW]), tuple(record[n] for n in names)))
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return Sheet(path, list(table.headers), rows, list(table.rejects), table.encoding, digest, list(table.problems))


@dataclass
class Applicants:
    """The rows one version can read, typed, and the rows it rejects."""

    version: PolicyVersion
    accepted: list[tuple[SheetRow, Facts]]
    rejects: list[Reject]


def read_applicants(sheet: Sheet, version: PolicyVersion) -> Applicants:
    """Type every row's cells with the version's fact schema; unknown columns are ignored."""
    index = FactIndex(version.facts.values())
    required = [s for s in version.facts.values() if s.required]
    columns = map_headers(sheet.headers, index, required, version.facts).facts
    accepted: list[tuple[SheetRow, Facts]] = []
    rejects = list(sheet.rejects)
    unreadable: dict[int, list[Reject]] = {}
    for p in sheet.problems:
        if p.column in columns.values():
            unreadable.setdefault(p.row, []).append(Reject(p.row, sheet.headers[p.column], p.value, p.reason))
    for row in sheet.rows:
        if row.number in unreadable:
            rejects.extend(unreadable[row.number])
            continue
        raw = {name: row.values[i] for name, i in columns.items()}
        try:
            accepted.append((row, read_facts(index, raw)))
        except FactError as exc:
            spec = index.find(exc.fact)  # the first bad fact of the row, by id
            column = sheet.headers[columns[spec.name]] if spec is not None and spec.name in columns else exc.fact
            cell = raw.get(spec.name) if spec is not None else None
            rejects.append(Reject(row.number, column, "" if cell is None else str(cell), exc.reason, exc.reason_zh))
    return Applicants(version, accepted, rejects)
