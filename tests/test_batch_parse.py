"""The vectorised cell parser (`batch.parse.parse_table`) gives every cell exactly the value `cells.read_value`
gives it: the same typed value (in columnar form), the same 'did not happen', the same rows left to the
interpreter, the same rejects. Random texts of every spelling, of every fact type in the catalogue."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine import FactError
from policyengine.batch.parse import FALLBACK, has_none, none_col, parse_table, to_cell, value_col
from policyengine.batch.read import ROW, Table
from policyengine.decide.evaluate import fact_index
from policyengine.facts.cells import read_value
from policyengine.facts.uscc import CHARSET, check_character
from policyengine.model.bundled import load_bundled

SPECS = dict(fact_index(load_bundled()).specs)

_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=16)
_NOISE = st.text(alphabet="0123456789,.%+- 万元年是否\u3000\tAaxX_１", min_size=0, max_size=10)


@st.composite
def _text(draw: st.DrawFn) -> str | None:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([None, "", " ", "\u3000", "\t \n"]))
    if kind == 1:
        return draw(_DIGITS)
    if kind == 2:
        d = draw(_DIGITS)
        return draw(st.sampled_from([d, f"{d}.{draw(_DIGITS)}", f"{d}%", f"{d}万", f"{d}元", f"{d}.{d}万元",
                                     f" {d} ", f"+{d}", f"-{d}", f"{d}年", f"{d[:3]}.{d[3:]}%"]))
    if kind == 3:
        return f"{draw(st.integers(0, 10**16)):,}" + draw(st.sampled_from(["", ".5", ".05", ".123", "万", "元"]))
    if kind == 4:
        return str(draw(st.integers(1850, 2250)))
    if kind == 5:
        body = draw(st.text(alphabet=CHARSET, min_size=17, max_size=17))
        code = body + check_character(body)
        return draw(st.sampled_from([code, code.lower(), f" {code} ", code[:17] + "0", code[:-1], code + "1"]))
    if kind == 6:
        return draw(st.sampled_from(["是", "否", "true", "FALSE", "1", "0", "yes", "N", " 否 ", "maybe"]))
    if kind == 7:
        return draw(st.sampled_from(["无", "首次认定", "市级", "省级", "国家级", "瞪羚", " 无 ", "一等奖", "县级"]))
    if kind == 8:
        return draw(st.text(min_size=1, max_size=6))
    return draw(_NOISE)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SPECS)), st.lists(_text(), min_size=1, max_size=40))
def test_parse_table_reads_every_cell_as_read_value(name: str, cells: list[str | None]) -> None:
    spec = SPECS[name]
    frame = pl.DataFrame({"c0": pl.Series(cells, dtype=pl.String)})
    frame = frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    parsed = parse_table(Table(frame, [spec.label], Path("<memory>"), "utf-8"), {name: 0}, {name: spec})
    rejected = {r.row for r in parsed.rejects}
    got = {r[ROW]: r for r in parsed.frame.iter_rows(named=True)}
    for i, text in enumerate(cells):
        row = i + 2
        try:
            cell = to_cell(spec, read_value(spec, "" if text is None else text))
        except FactError:
            assert row in rejected and row not in got, (text, row)
            continue
        assert row not in rejected and row in got, (text, row)
        r = got[row]
        assert r[FALLBACK] == (not cell.fits), text
        if cell.fits:
            assert r[value_col(name)] == cell.value, text
            if has_none(spec):
                assert r[none_col(name)] == cell.none, text
