"""Random CSV bytes through `policyengine score`: no traceback, exit 0 or one line `error: …` (exit 2), and
rows in = rows out + rows rejected, counted on the file's physical lines, whatever the quotes, line breaks,
separators, encodings and numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .sheet_support import packages_loaded_once, physical_data_lines, score, uscc
from .support import ROOT

HEADER = "统一社会信用代码,企业名称,申报年度,上年度研发费用,载体入驻率,备注"

_cells = st.one_of(
    st.sampled_from([uscc(1), uscc(2), uscc(3), uscc(1).lower(), "2021", "2020", "120万", "1,000,000.00", "85%",
                     "", " ", '"', '""', '"a,b"', '"x\ny"', "\n", "\r", "\r\n", ",", "=1+1", "是", "沈阳某公司",
                     '"沈阳某公司', '沈阳某公司"', "#REF!", "99999999999999999999999999999", "9" * 5000,
                     "0." + "0" * 30 + "1", "1e9", "-5", "NaN", "\x00", "\ufeff"]),
    st.text(alphabet=st.sampled_from('0123456789,.万元%"\n\r 是否AaＢ企业'), max_size=12),
    st.integers(0, 10**30).map(str),
)


@st.composite
def _files(draw: st.DrawFn) -> tuple[bytes, str]:
    rows = draw(st.lists(st.lists(_cells, min_size=0, max_size=8), max_size=10))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = HEADER + end + end.join(",".join(r) for r in rows) + draw(st.sampled_from(["", end]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
    try:
        return text.encode(encoding), text
    except UnicodeEncodeError:
        return text.encode("utf-8"), text


@pytest.fixture(autouse=True, scope="module")
def _rules_loaded_once() -> Iterator[None]:
    with packages_loaded_once():
        yield


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(_files())
def test_random_csv_is_decided_rejected_or_refused_in_one_line(tmp_path: Path, file: tuple[bytes, str]) -> None:
    data, text = file
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    # `score` checks: no traceback, exit 0 or a one-line error, in = out + rejected
    got = score(path, "--package", str(ROOT / "rules" / "huangzuan16"), seconds=20)
    if got.code == 0:
        assert got.rows["in"] == physical_data_lines(text), (got.rows, text)
        lines = range(2, got.rows["in"] + 2)
        assert all(r[0] in lines for r in got.rejects), (got.rejects, text)
