"""`score --advise`: one more output column naming, per row, the nearest clause the applicant can reach by
changing facts it controls, and the change (the 梯度培育 plan's "which enterprises are one step from a threshold").

Bounded for batches: only the clauses a row is not eligible for are asked about; a clause that a false condition
on facts no change moves (unchangeable or unknown) already rules out is settled without the solver; every other
question gets `BATCH_TIMEOUT_S` (then the cheapest change found so far, or nothing); blocking conditions and
missing facts are not worked out. It costs tens of milliseconds a row (benchmarks/bench_advise.py: 500 synthetic
rows, 43 s with --advise against 3.6 s without on two cores shared at load 8–10), so the option is meant for files
of moderate size (thousands of rows, not millions).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from policyengine.advice.advice import advise
from policyengine.advice.text import nearest_cell
from policyengine.batch.score import Scored, row_facts
from policyengine.errors import PolicyEngineError

BATCH_TIMEOUT_S = 1.0
"""The time z3 may spend on one clause of one row in `score --advise`."""

COLUMN = "advise"
"""The column's name in the id wording; `最近可达条款` in Chinese (batch/workbook.py)."""
HEADER_ZH = "最近可达条款"


def advise_column(scored: Scored, labels: str, progress: Callable[[int], object] | None = None) -> pl.Series:
    """Per accepted row (in output order), the nearest reachable clause and its change; "" where none is."""
    cells: list[str] = []
    for _row, raw in row_facts(scored.accepted, scored.header_map):
        try:
            report = advise(scored.packages, raw, version=scored.version, timeout_s=BATCH_TIMEOUT_S, explain=False)
            cells.append(nearest_cell(scored.packages, report, labels))
        except PolicyEngineError:
            cells.append("")   # the row was decided by the batch; a fact the advice cannot read leaves it blank
        if progress is not None:
            progress(1)
    return pl.Series(COLUMN, cells, dtype=pl.String)


def with_advice(scored: Scored, labels: str, progress: Callable[[int], object] | None = None) -> None:
    """`scored.output` with the `advise` column after `reasons` (an input column of that name is kept as
    `input.advise`)."""
    column = advise_column(scored, labels, progress)
    out = scored.output
    if COLUMN in out.columns:
        out = out.rename({COLUMN: f"input.{COLUMN}"})
    scored.output = out.insert_column(out.columns.index("reasons") + 1, column)
