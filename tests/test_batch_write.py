"""The vectorised formula neutralisation (`write.neutralised`) is `write.neutralise` applied to every text cell."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine.batch.write import neutralise, neutralised

_CELL = st.one_of(st.none(), st.text(max_size=6),
                  st.sampled_from(["=1+1", "+86", "-5", "@A1", "\tx", "\rx", "'=x", "＝1", "é=", ""]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL, st.integers(-5, 5)), min_size=1, max_size=20))
def test_neutralised_is_neutralise_per_cell(rows: list[tuple[str | None, str | None, int]]) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String, "n": pl.Int64}, orient="row")
    got = neutralised(frame)
    assert got.get_column("n").to_list() == [r[2] for r in rows]
    for i, name in enumerate(("a", "b")):
        assert got.get_column(name).to_list() == [None if r[i] is None else neutralise(r[i]) for r in rows]
