"""Large output files written around the page cache (`policyengine.direct_write`): the bytes in the file are
exactly those written, whatever the sizes of the pieces, with direct I/O and without."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine import direct_write as D

SIZES = [0, 1, D.ALIGN - 1, D.ALIGN, D.ALIGN + 1, D.BUFFER - 1, D.BUFFER, D.BUFFER + 1, 2 * D.BUFFER + 7]


def _pieces(sizes: list[int]) -> list[bytes]:
    return [os.urandom(n) for n in sizes]


@pytest.mark.parametrize("size", SIZES)
def test_one_piece_of_any_size_is_written_exactly(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "out.bin"
    path.write_bytes(b"old content, longer than some of the new" * 1000)   # emptied first
    with D.sequential(path) as fh:
        fh.write(data)
    assert path.read_bytes() == data


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3 * D.ALIGN + 5) | st.sampled_from(SIZES[1:]), max_size=8))
def test_pieces_are_written_in_order(tmp_path_factory: pytest.TempPathFactory, sizes: list[int]) -> None:
    pieces = _pieces(sizes)
    path = tmp_path_factory.mktemp("d") / "out.bin"
    with D.sequential(path) as fh:
        for p in pieces:
            fh.write(memoryview(p))
    assert path.read_bytes() == b"".join(pieces)


def test_direct_io_is_used_where_the_system_has_it(tmp_path: Path) -> None:
    if getattr(os, "O_DIRECT", None) is None:
        pytest.skip("this system has no O_DIRECT")
    fd = D._open_direct(tmp_path / "probe.bin")
    if fd is None:
        pytest.skip(f"the file system of {tmp_path} has no direct I/O")
    os.close(fd)
    with D.sequential(tmp_path / "out.bin") as fh:
        assert isinstance(fh, D.DirectWriter)


def test_without_direct_io_the_file_is_written_the_ordinary_way(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(D, "_open_direct", lambda path: None)
    pieces = _pieces([5, D.BUFFER + 3, 0, 9])
    with D.sequential(tmp_path / "out.bin") as fh:
        assert not isinstance(fh, D.DirectWriter)
        for p in pieces:
            fh.write(p)
    assert (tmp_path / "out.bin").read_bytes() == b"".join(pieces)


def test_an_error_while_writing_is_raised_and_nothing_more_is_written(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    with pytest.raises(RuntimeError, match="stop"), D.sequential(path) as fh:
        fh.write(b"x" * 10)
        raise RuntimeError("stop")
    assert path.stat().st_size == 0    # the partial block is not written: the caller discards the file
