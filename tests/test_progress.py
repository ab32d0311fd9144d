"""The progress bar advances as rows are decided: a large population is decided in chunks, with the same result."""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine.batch import score as S
from policyengine.batch.read import read_table
from policyengine.model.bundled import load_bundled

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "applicants_2021.csv"


def test_chunks_feed_the_progress_and_decide_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    packages = load_bundled()
    whole = S.score_table(read_table(EXAMPLE), packages)
    monkeypatch.setattr(S, "PROGRESS_CHUNK", 10)
    ticks: list[int] = []
    chunked = S.score_table(read_table(EXAMPLE), packages, progress=ticks.append)
    assert chunked.output.equals(whole.output)
    assert [(r.row, r.reason) for r in chunked.rejects] == [(r.row, r.reason) for r in whole.rejects]
    decided = [t for t in ticks[1:] if t]             # the first tick: rows rejected before deciding
    assert ticks[0] == 3 and decided == [10, 10, 10, 10, 10, 7]
    assert sum(ticks) == whole.rows_in
