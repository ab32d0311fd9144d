"""Malformed spreadsheets: a clear one-line error or a reject, never a traceback."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.cli import main

from .sheet_support import packages_loaded_once

HEADER = "统一社会信用代码,申报年度,上年度研发费用,前年度研发费用,载体入驻率,双创载体级别\n"


@pytest.fixture(autouse=True, scope="module")
def _rules_loaded_once() -> Iterator[None]:
    with packages_loaded_once():
        yield


def run_cli(path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["score", str(path), "--out", str(path.with_suffix(".out.csv")), "-q", *extra])
    text = result.output + (repr(result.exception) if result.exception and result.exit_code not in (0, 2) else "")
    assert "Traceback" not in text, text
    assert result.exit_code in (0, 2), text
    if result.exit_code == 2:
        assert text.startswith("error: ") and text.count("\n") == 1, text
    return result.exit_code, text


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"\n\n", "empty"),
    (b"\xff\xfe\x00\x00garbage", "NUL bytes"),
    (b"a,b,c\n1,2,3\n", "required column missing"),
    (HEADER.encode(), None),  # header only: no rows, no error
    ("统一社会信用代码,申报年度\n\"unterminated,2021\n".encode(), None),
])
def test_broken_files(tmp_path: Path, content: bytes, message: str | None) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    code, text = run_cli(path)
    if message is None:
        assert code == 0, text
    else:
        assert code == 2 and message in text, text


def test_not_really_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "in.xlsx"
    path.write_bytes(b"PK\x03\x04 this is no workbook")
    code, text = run_cli(path)
    assert code == 2 and ".xlsx" in text
    with zipfile.ZipFile(tmp_path / "empty.xlsx", "w") as z:
        z.writestr("hello.txt", "no sheets here")
    assert run_cli(tmp_path / "empty.xlsx")[0] == 2


def test_wrong_declared_encoding(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + "91210105MALH7EF96R,2021,120万,100万,85%,市级\n").encode("gbk"))
    code, text = run_cli(path, "--encoding", "utf-8")
    assert code == 2 and "not valid utf-8" in text
    assert run_cli(path)[0] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    run_cli(path)


_cell = st.one_of(st.text(max_size=12), st.sampled_from(["", "2021", "120万", "85%", "市级", "91210105MALH7EF96R",
                                                         '"', "\n", ",", "=1+1", "1e9", "-5", "NaN"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_cell, max_size=9), max_size=8))
def test_ragged_random_rows(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "rows.csv"
    body = "\n".join(",".join(r) for r in rows)
    path.write_text(HEADER + body + "\n", encoding="utf-8")
    code, _text = run_cli(path)
    if code == 0:
        out = path.with_suffix(".out.csv")
        assert out.exists()
