"""The facts text a batch is recorded with (`policyengine.store.facts_text`), built column-wise while the rows are
decided: for every accepted row exactly the canonical JSON `evaluate()` reads from the row's cells (and its
SHA-256, the decision's facts hash), whatever the cells hold; and the store's chunks staged through the ADBC
driver, many chunks through the same reused files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policyengine.store as pstore
from policyengine import score
from policyengine.batch.read import read_table
from policyengine.batch.score import row_facts, score_table
from policyengine.decide.evaluate import fact_index
from policyengine.errors import PolicyEngineError
from policyengine.facts.applicant import read_facts
from policyengine.model.bundled import load_bundled
from policyengine.store import db as store_db
from policyengine.store import staging
from policyengine.store.facts_text import canonical_json, positional_json

from .store_support import cli
from .support import ROOT

EXAMPLE = ROOT / "examples" / "applicants_2021.csv"
PACKAGES = load_bundled()

# cells as the field writes them: money with 万 and separators, negative and fractional amounts, rates, blanks,
# text that JSON escapes, yes/no spellings, and junk that rejects the row
CELLS = st.sampled_from(["", " ", "0", "-5", "-0.01", "0.01", "12.5万", "1,234.56", "3.14159", "0.000001",
                         "0.5", "-12.5", "85万元", "2019", "2020", "是", "否", "true", "国家级", "无",
                         '带"引号', "换\n行", "tab\there", "back\\slash", "控制\x01字符", "N/A", "1e3",
                         "99999999999999"])


def _check_prepared(src: Path) -> int:
    """Score `src` with the facts text prepared and compare each accepted row's with what `read_facts` makes of
    its cells; returns the rows compared."""
    scored = score_table(read_table(src, None), PACKAGES, keep_cells=True, prepare="both")
    assert scored.prepared is not None
    texts = scored.prepared.for_rows(scored.accepted.get_column("__row"))
    names = sorted(scored.header_map.facts)
    index = fact_index(PACKAGES)
    cells = row_facts(scored.accepted, scored.header_map)
    assert texts.height == len(cells) == scored.accepted.height
    for (row, facts_in), (obj, digest, pos) in zip(cells, texts.select("facts", "facts_hash", "pos").iter_rows(),
                                                   strict=True):
        canonical = read_facts(index, facts_in).canonical()
        assert obj == canonical_json(canonical), row
        assert digest == hashlib.sha256(obj.encode("utf-8")).hexdigest(), row
        assert pos == positional_json(canonical, names), row
    return len(cells)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_prepared_facts_text_is_what_evaluate_reads(tmp_path: Path, data: st.DataObject) -> None:
    frame = pl.read_csv(EXAMPLE, encoding="gbk", infer_schema=False)
    rows = [list(r) for r in frame.head(12).iter_rows()]
    keep = {0, 1}   # the USCC and the name stay as they are (a changed USCC only makes the row a reject)
    for r in rows:
        for _ in range(data.draw(st.integers(0, 4))):
            j = data.draw(st.integers(0, len(r) - 1))
            if j not in keep and frame.columns[j] != "统一社会信用代码":
                r[j] = data.draw(CELLS)
    src = tmp_path / "cells.csv"
    pl.DataFrame(rows, schema=frame.columns, orient="row").write_csv(src)
    _check_prepared(src)


def test_prepared_facts_text_of_the_example(tmp_path: Path) -> None:
    assert _check_prepared(EXAMPLE) == 57


@pytest.mark.parametrize("column, cells", [
    ("注册地所在市", ["", '沈"阳市', "换\n行", "沈阳市"]),     # unknown beside text that JSON escapes
    ("注册地所在市", ["", "沈阳市", "沈阳市", "沈阳市"]),       # unknown beside plain text
    ("上年度研发费用", ["-12.5", "0.01", "", "85万元"]),       # negative, fractional, blank money
    ("载体入驻率", ["0.000001", "-0.5", "", "1"]),             # rates to the millionth
    ("高新技术企业迁入年份", ["", "", "", ""]),                 # None in every row
    ("上年度研发费用", ["99999999999999", "1", "", "2"]),      # too large for a column: read by read_facts
])
def test_prepared_facts_text_of_chosen_cells(tmp_path: Path, column: str, cells: list[str]) -> None:
    frame = pl.read_csv(EXAMPLE, encoding="gbk", infer_schema=False).head(len(cells))
    src = tmp_path / "chosen.csv"
    frame.with_columns(pl.Series(column, cells)).write_csv(src)
    assert _check_prepared(src) >= len(cells) - 1


def test_rows_too_large_for_the_columns_are_prepared_from_their_cells(tmp_path: Path) -> None:
    frame = pl.read_csv(EXAMPLE, encoding="gbk", infer_schema=False).head(3)
    src = tmp_path / "large.csv"
    frame.with_columns(pl.Series("上年度研发费用", ["99999999999999", "1", "2"])).write_csv(src)
    scored = score_table(read_table(src, None), PACKAGES, keep_cells=True, prepare="object")
    assert scored.accepted.get_column("__fallback").to_list() == [True, False, False]
    assert _check_prepared(src) == 3


def test_a_file_of_rejects_only_is_stored_and_audited(tmp_path: Path) -> None:
    # no row accepted: the prepared text is empty, the run complete with its rejects, the audit file empty
    src = tmp_path / "bad.csv"
    src.write_text("统一社会信用代码,申报年度\nBAD,2021\n", encoding="utf-8")
    db, audit = tmp_path / "s.db", tmp_path / "a.jsonl"
    cli("score", str(src), "--out", str(tmp_path / "o.csv"), "--store", str(db), "--audit", str(audit), "-q",
        check=True)
    with pstore.open(db) as store:
        (run,) = store.runs()
        assert (run.status, run.decided, run.rejected) == ("complete", 0, 1)
        assert store.verify(run.id)[0].ok
    assert audit.read_bytes() == b""


def test_many_chunks_through_reused_staged_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 57 decisions in chunks of 5: twelve transactions, through a few staged files used again and again; the
    # stored rows are those of a run stored in one chunk, the run verifies, and no staged file is left
    result = score(EXAMPLE)
    with pstore.open(tmp_path / "one.db") as store:
        run = store.record_run(result.scored)
        whole = store.decisions(run=run)
    monkeypatch.setattr(store_db, "CHUNK_ROWS", 5)
    made: list[Path] = []
    real_stage = staging.stage
    monkeypatch.setattr(staging, "stage", lambda frame, path: made.append(path) or real_stage(frame, path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pstore.open(tmp_path / "chunks.db") as store:
        run = store.record_run(result.scored)
        assert store.decisions(run=run) == whole
        (report,) = store.verify(run)
        assert report.ok and report.rows == 57
    assert len(made) == 12 and len(set(made)) <= 4     # files taken back and filled again (how many: by timing)
    assert {p.parent.parent for p in made} == {tmp_path}
    assert all(p.parent.name.startswith(".policyengine-stage.") for p in made)
    assert not [p for p in tmp_path.iterdir() if "policyengine-stage" in p.name]


def test_the_staged_files_of_a_killed_run_are_removed_by_the_next(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # a process killed while it stages leaves its folder; the next run that stages removes it, but never the
    # folder of a run still alive
    hold = ("import sys, time; from policyengine.store import staging\n"
            "with staging.folder() as files:\n"
            "    files.take().write_bytes(b'x' * 1000); print(files.folder, flush=True); time.sleep(60)")
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT / "src")}
    killed, alive = (subprocess.Popen([sys.executable, "-c", hold], env=env, stdout=subprocess.PIPE, text=True)
                     for _ in range(2))
    try:
        left, live = (Path(p.stdout.readline().strip()) for p in (killed, alive))   # type: ignore[union-attr]
        killed.kill()
        killed.wait(timeout=30)
        assert left.is_dir() and live.is_dir() and left.name.startswith(".policyengine-stage.")
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        with pstore.open(tmp_path / "s.db") as store:
            run = store.record_run(score(EXAMPLE).scored)
            assert store.verify(run)[0].ok
        assert not left.exists() and live.is_dir()
        assert [p.name for p in tmp_path.iterdir() if "policyengine-stage" in p.name] == [live.name]
    finally:
        for p in (killed, alive):
            p.kill()
            p.wait(timeout=30)


def test_a_chunk_that_cannot_be_staged_fails_the_run_in_one_line(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # a folder that cannot be written (here: gone) is a PolicyEngineError naming it, and the run is `failed`
    monkeypatch.setattr(staging.Staging, "take", lambda self: tmp_path / "gone" / "chunk.db")
    with pstore.open(tmp_path / "s.db") as store:
        with pytest.raises(PolicyEngineError, match=r"cannot stage decisions for the store in .*gone: "):
            store.record_run(score(EXAMPLE).scored)
        (run,) = store.runs()
        assert run.status == "failed" and "cannot stage decisions" in (run.error or "")


def test_a_staged_file_is_replaced_not_appended(tmp_path: Path) -> None:
    path = tmp_path / "chunk.db"
    staging.stage(pl.DataFrame({"a": [1, 2], "b": ["x", None]}), path)
    staging.stage(pl.DataFrame({"a": [3], "b": ["引号\"y"]}), path)
    with sqlite3.connect(path) as conn:
        assert conn.execute(f"SELECT a, b, typeof(b) FROM {staging.TABLE}").fetchall() == [(3, '引号"y', "text")]
