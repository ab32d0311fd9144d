"""The decision store on SQLite and on a real PostgreSQL server: recording, show, verify (tamper, snapshots),
export, migrations, interrupted runs, concurrent writers, hidden passwords."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text

import policyengine.store as pstore
from policyengine import evaluate, replay
from policyengine.batch.score import clause_ids
from policyengine.model.bundled import load_bundled
from policyengine.store import schema as S
from policyengine.store.db import CHUNK_ROWS
from policyengine.store.rows import line, outcome_of, read_outcome_text, reject_line, write_outcome_text
from policyengine.store.write import chain_start, seal

from .store_support import ENV, PYTHON, cli, new_postgres_db, population, postgres_server  # noqa: F401
from .support import ROOT

EXAMPLE = ROOT / "examples" / "applicants_2021.csv"
USCC = "91210105MALH7EF96R"   # row 2 of the example
FACTS = {"统一社会信用代码": USCC, "申报年度": "2021", "注册地所在区": "皇姑区", "税收户管地所在区": "皇姑区",
         "是否列入严重失信主体名单": "否", "上年度研发费用": "120万", "前年度研发费用": "80万"}


def _score(tmp_path: Path, url: str, src: Path = EXAMPLE, *extra: str) -> None:
    cli("score", str(src), "--out", str(tmp_path / "o.csv"), "--store", url, "-q", *extra, check=True)


def _sql(url: str, statement: str) -> None:
    store = pstore.open(url)
    with store.engine.begin() as conn:
        conn.execute(text(statement))
    store.close()


def test_score_records_every_decision_and_it_verifies(tmp_path: Path, url: str) -> None:
    _score(tmp_path, url)
    with pstore.open(url) as store:
        (run,) = store.runs()
        assert (run.status, run.rows_in, run.decided, run.rejected) == ("complete", 60, 57, 3)
        assert run.ended_at and run.user and run.input_sha256 and len(run.input_sha256) == 64
        assert run.command is not None and run.command.startswith("policyengine score")
        assert len(store.rejects(run.id)) == 3
        stored = store.decisions(run=run.id)
        assert len(stored) == 57
        # each stored row is what evaluate() decides for that applicant: same facts, facts hash and outcome
        packages = load_bundled()
        names, layout = store.forms(run.id)
        assert names is not None and layout == [(p.id, clause_ids(p)) for p in packages]
        with store.engine.connect() as conn:
            texts = dict(conn.execute(text('SELECT "row", outcome FROM decisions')).all())
        for d in stored[:10]:
            own = evaluate(packages, d.facts, backend="interpreter")
            assert (own.facts, own.facts_hash, outcome_of(own), own.total) == \
                (d.facts, "sha256:" + d.facts_hash, d.outcome, d.total)
            assert texts[d.row] == write_outcome_text(outcome_of(own), layout)   # kept by position
        (report,) = store.verify(run.id)
        assert report.ok and report.rows == 57
        full = store.explain(store.decisions(uscc=USCC)[0])
        assert full.package("huangzuan16").clause("a01").conditions   # the trace, re-derived
    shown = cli("audit", "show", "--store", url, "--uscc", USCC, check=True).stdout
    assert "复核 replay: 与存储结果一致" in shown and "总计 total: 5,100,000 元" in shown
    assert "run 1: ok — 57 decisions replayed, chain intact" in cli("audit", "verify", "--store", url).stdout
    assert " complete 完成 " in cli("audit", "runs", "--store", url, check=True).stdout


@pytest.mark.parametrize("how", ["amount", "deleted", "added", "digest"])
def test_tampering_is_detected_naming_the_row(tmp_path: Path, url: str, how: str) -> None:
    _score(tmp_path, url)
    with pstore.open(url) as store:
        row2 = store.decisions(uscc=USCC)[0]
        _, layout = store.forms(row2.run)
    assert layout is not None
    outcome = write_outcome_text({**row2.outcome, "huangzuan16": {
        **row2.outcome["huangzuan16"], "c": {**row2.outcome["huangzuan16"]["c"], "a02": ["e", 90000, 50000]}}},
        layout)
    statement = {
        "amount": f"UPDATE decisions SET outcome = '{outcome}' WHERE \"row\" = 2",
        "deleted": "DELETE FROM decisions WHERE \"row\" = 5",
        "added": "INSERT INTO decisions SELECT run_id, 999, uscc, name, year, facts, facts_hash, outcome, total, "
                 "reasons, digest FROM decisions WHERE \"row\" = 2",
        "digest": "UPDATE decisions SET total = total + 1 WHERE \"row\" = 3",
    }[how]
    _sql(url, statement)
    done = cli("audit", "verify", "--store", url)
    assert done.returncode == 1, done.stdout + done.stderr
    want = {"amount": "row 2: huangzuan16 a02: stored eligible 90000 (computed 50000), replayed eligible 50000 "
                      "(computed 50000)",
            "deleted": "row 5: deleted (recorded by the run, missing from the store)",
            "added": "row 999: added (in the store, never recorded by the run)",
            "digest": "row 3: changed since the run (its digest does not match its values)"}[how]
    assert want in done.stdout
    assert "the chain does not match the stored rows" in done.stdout


def test_replay_uses_the_snapshot_after_the_rules_change(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    url = str(tmp_path / "a.db")
    _score(tmp_path, url, EXAMPLE, "--package", str(rules / "huangzuan16"))
    policy = rules / "huangzuan16" / "3.0" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("500000", "1"), encoding="utf-8")
    shutil.rmtree(rules / "huangzuan16" / "2.0")
    assert "run 1: ok — 57 decisions replayed" in cli("audit", "verify", "--store", url).stdout
    shutil.rmtree(rules)
    shown = cli("audit", "show", "--store", url, "--uscc", USCC, check=True).stdout
    assert "复核 replay: 与存储结果一致" in shown


def test_export_formats(tmp_path: Path) -> None:
    url = str(tmp_path / "a.db")
    _score(tmp_path, url)
    for suffix in (".csv", ".xlsx", ".parquet"):
        out = tmp_path / f"e{suffix}"
        assert "57 decisions of run 1" in cli("audit", "export", "--store", url, "--run", "1", "--out", str(out),
                                              check=True).stdout
    back = pl.read_parquet(tmp_path / "e.parquet")
    scored = pl.read_csv(tmp_path / "o.csv", infer_schema=False)
    assert back.get_column("uscc").to_list() == scored.get_column("uscc").to_list()
    assert back.get_column("huangzuan16.a05.amount").cast(pl.String).to_list() == \
        scored.get_column("huangzuan16.a05.amount").to_list()
    assert pl.read_csv(tmp_path / "e.csv").height == 57
    assert cli("audit", "export", "--store", url, "--run", "1", "--out", str(tmp_path / "e.txt")).returncode == 2


def test_evaluate_records_one_decision(tmp_path: Path) -> None:
    packages = load_bundled()
    with pstore.open(tmp_path / "a.db") as store:
        decision = evaluate(packages, FACTS, store=store)
        (run,) = store.runs()
        (stored,) = store.decisions(run=run.id)
        assert stored.outcome == outcome_of(decision) and stored.total == decision.total
        assert store.verify(run.id)[0].ok
        assert store.explain(stored).outcome() == decision.outcome()


def test_compact_audit_file_replays(tmp_path: Path) -> None:
    audit = tmp_path / "a.jsonl"
    cli("score", str(EXAMPLE), "--out", str(tmp_path / "o.csv"), "--audit", str(audit), "-q", check=True)
    lines = audit.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 57 and all(len(line) < 3000 for line in lines)
    result = replay(lines[0])
    assert result.ok and result.decision is not None and result.decision.total == 5_100_000
    bad = json.loads(lines[0])
    bad["outcome"]["huangzuan16@3.0"][0] += 1
    assert replay(bad).differences == ["row 2: huangzuan16 total: stored 5000001, replayed 5000000"]


def _v1_by_hand(conn: sqlite3.Connection) -> None:
    """The version-1 schema, written out by hand (as policyengine's first store wrote it)."""
    conn.executescript("""
        CREATE TABLE policyengine_store (version INTEGER NOT NULL);
        INSERT INTO policyengine_store VALUES (1);
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at VARCHAR(40) NOT NULL,
            ended_at VARCHAR(40), "user" VARCHAR(200), command TEXT, input_name TEXT, input_sha256 VARCHAR(64),
            rows_in BIGINT, decided BIGINT, rejected BIGINT, status VARCHAR(16) NOT NULL, backend VARCHAR(40),
            packages TEXT NOT NULL, version_choice TEXT, proration TEXT, chain VARCHAR(64), error TEXT,
            row_ranges TEXT);
        CREATE TABLE snapshots (content_hash VARCHAR(80) PRIMARY KEY, package VARCHAR(200) NOT NULL,
            version VARCHAR(200) NOT NULL, files BLOB NOT NULL, stored_at VARCHAR(40) NOT NULL);
        CREATE TABLE decisions (run_id INTEGER NOT NULL, "row" BIGINT NOT NULL, uscc VARCHAR(40), name TEXT,
            year INTEGER, facts TEXT NOT NULL, facts_hash VARCHAR(64) NOT NULL, outcome TEXT NOT NULL,
            total BIGINT NOT NULL, reasons TEXT, digest BLOB NOT NULL, PRIMARY KEY (run_id, "row")) WITHOUT ROWID;
        CREATE TABLE rejects (run_id INTEGER NOT NULL, seq INTEGER NOT NULL, "row" BIGINT NOT NULL,
            column_name TEXT, value TEXT, reason TEXT, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
    """)


def test_migration_from_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pstore.open(empty) as store, store.engine.connect() as conn:
        assert S.current_version(conn) == S.SCHEMA_VERSION == 5


@pytest.mark.parametrize("version", [1, 2])
def test_migration_from_an_older_version(tmp_path: Path, version: int) -> None:
    # a store in the layout of `version` holding a run as that version wrote it (facts as JSON objects, no fact
    # names; decisions a WITHOUT ROWID table), copied from a one-decision run (which keeps JSON objects)
    with pstore.open(tmp_path / "new.db") as store:
        evaluate(load_bundled(), FACTS, store=store)
    old = tmp_path / f"v{version}.db"
    with sqlite3.connect(old) as conn:
        _v1_by_hand(conn)
        if version == 2:
            conn.executescript("ALTER TABLE runs ADD COLUMN library TEXT; CREATE INDEX ix_decisions_uscc ON "
                               "decisions (uscc); UPDATE policyengine_store SET version = 2;")
        conn.execute(f"ATTACH '{tmp_path / 'new.db'}' AS n")
        for table, cols in (("runs", "id, started_at, ended_at, \"user\", command, input_name, input_sha256, rows_in,"
                                     " decided, rejected, status, backend, packages, version_choice, proration, "
                                     "chain, error, row_ranges" + (", library" if version == 2 else "")),
                            ("snapshots", "*"), ("decisions", "*"), ("rejects", "*")):
            conn.execute(f"INSERT INTO main.{table} SELECT {cols} FROM n.{table}")
        conn.commit()
        conn.execute("DETACH n")
        _reseal_as_form_1(conn, objects=False)
    with pstore.open(old) as store:
        with store.engine.connect() as conn:
            assert S.current_version(conn) == S.SCHEMA_VERSION
            assert conn.execute(text("SELECT count(*) FROM decisions WHERE uscc = :u"), {"u": USCC}).scalar() == 1
        assert store.verify(1)[0].ok
        (stored,) = store.decisions(run=1)
        assert stored.facts["uscc"] == USCC and stored.total == 40_000
    # the migrated store takes new runs (facts by position) beside the old one, and both verify
    _score(tmp_path, str(old))
    assert "run 1: ok" in (done := cli("audit", "verify", "--store", str(old))).stdout
    assert "run 2: ok — 57 decisions replayed, chain intact" in done.stdout
    with sqlite3.connect(old) as conn:
        assert "ix_decisions_uscc" in {r[1] for r in conn.execute("PRAGMA index_list(decisions)")}
        assert conn.execute("SELECT count(rowid) FROM decisions").fetchone()[0] == 58   # an ordinary rowid table
        assert conn.execute("SELECT facts FROM decisions WHERE run_id = 2 LIMIT 1").fetchone()[0].startswith("[")
    # a store from a later policyengine is refused, not guessed at
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE policyengine_store SET version = 99")
    assert "newer than this policyengine understands" in cli("audit", "runs", "--store", str(old)).stderr


def _reseal_as_form_1(conn: sqlite3.Connection, objects: bool) -> None:
    """Every run's row digests and chain recomputed as schema versions before 5 made them (digest form 1: every
    stored column); with `objects` each positional outcome first rewritten as a JSON object (as version 3 kept
    them)."""
    layouts = dict(conn.execute("SELECT id, outcome_layout FROM runs").fetchall()) if objects else {}
    for (run,) in conn.execute("SELECT id FROM runs").fetchall():
        chain = chain_start(run)
        rows = conn.execute('SELECT "row", uscc, name, year, facts, facts_hash, outcome, total, reasons '
                            'FROM decisions WHERE run_id = ? ORDER BY "row"', (run,)).fetchall()
        for values in rows:
            outcome_text = values[6]
            if layouts.get(run) is not None:
                outcome = read_outcome_text(values[6], json.loads(layouts[run]))
                outcome_text = json.dumps(outcome, ensure_ascii=False, separators=(",", ":"))
            old = (*values[:6], outcome_text, *values[7:])
            digest = hashlib.sha256(line(old)).digest()[:16]
            chain.update(digest)
            conn.execute('UPDATE decisions SET outcome = ?, digest = ? WHERE run_id = ? AND "row" = ?',
                         (old[6], digest, run, values[0]))
        for r in conn.execute('SELECT "row", column_name, value, reason FROM rejects WHERE run_id = ? '
                              "ORDER BY seq", (run,)):
            chain.update(hashlib.sha256(reject_line(*(v or "" for v in r))).digest()[:16])
        ranges = json.loads(conn.execute("SELECT row_ranges FROM runs WHERE id = ?", (run,)).fetchone()[0])
        conn.execute("UPDATE runs SET chain = ? WHERE id = ?", (seal(chain, ranges), run))


def _as_older_version(db: Path, version: int) -> None:
    """Rewrite a store's runs as schema `version` (3 or 4) wrote them (`_reseal_as_form_1`; version 3: outcomes
    as JSON objects, no outcome layout)."""
    with sqlite3.connect(db) as conn:
        _reseal_as_form_1(conn, objects=version == 3)
        conn.executescript("ALTER TABLE runs DROP COLUMN digest_form;"
                           + ("ALTER TABLE runs DROP COLUMN outcome_layout;" if version == 3 else "")
                           + f"UPDATE policyengine_store SET version = {version};")


@pytest.mark.parametrize("version", [3, 4])
def test_migration_from_version(tmp_path: Path, version: int) -> None:
    # a batch run as version 3 or 4 kept it (facts by position; version 3: outcomes as JSON objects; both: row
    # digests that cover the facts text) stays readable and verifies as it was recorded; a run recorded after
    # the migration keeps outcomes by position and digests the facts hash instead, and both verify
    db = tmp_path / f"v{version}.db"
    _score(tmp_path, str(db))
    with pstore.open(db) as store:
        before = store.decisions(run=1)
    _as_older_version(db, version)
    with sqlite3.connect(db) as conn:
        outcome = conn.execute("SELECT outcome FROM decisions LIMIT 1").fetchone()[0]
        assert outcome.startswith('{"huangzuan16":' if version == 3 else "[[")
    with pstore.open(db) as store:
        with store.engine.connect() as conn:
            assert S.current_version(conn) == S.SCHEMA_VERSION == 5
        assert (store.forms(1)[1] is None) == (version == 3) and store.decisions(run=1) == before
        assert store.run(1).digest_form == 1 and store.verify(1)[0].ok
    _score(tmp_path, str(db))
    done = cli("audit", "verify", "--store", str(db))
    assert "run 1: ok — 57 decisions replayed" in done.stdout and "run 2: ok — 57 decisions replayed" in done.stdout
    with pstore.open(db) as store:
        assert store.run(2).digest_form == 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT outcome FROM decisions WHERE run_id = 2 LIMIT 1").fetchone()[0].startswith("[[")
        # a changed row of the old run is still found, by its digest
        conn.execute('UPDATE decisions SET name = name || \'x\' WHERE run_id = 1 AND "row" = 5')
    with pstore.open(db) as store:
        report = store.verify(1)[0]
    assert not report.ok and any("row 5: changed since the run" in p for p in report.problems)


def test_postgres_migration_from_version_1(postgres_server: str) -> None:  # noqa: F811
    url = new_postgres_db(postgres_server)
    pstore.open(url).close()
    _sql(url, "DROP INDEX ix_decisions_uscc")
    _sql(url, "ALTER TABLE runs DROP COLUMN library")
    _sql(url, "ALTER TABLE runs DROP COLUMN fact_names")
    _sql(url, "ALTER TABLE runs DROP COLUMN outcome_layout")
    _sql(url, "ALTER TABLE runs DROP COLUMN digest_form")
    _sql(url, "UPDATE policyengine_store SET version = 1")
    with pstore.open(url) as store, store.engine.connect() as conn:
        assert S.current_version(conn) == S.SCHEMA_VERSION
        assert conn.execute(text("SELECT count(library) FROM runs")).scalar() == 0


def _score_killed_when(tmp_path: Path, src: Path, url: str, ready: Callable[[], bool]) -> None:
    """`policyengine score SRC --store URL` in a process of its own, killed with SIGKILL once `ready()` (or when
    it ends by itself, or after two minutes)."""
    proc = subprocess.Popen([PYTHON, "-m", "policyengine", "score", str(src), "--out", str(tmp_path / "b.csv"),
                             "--store", url, "-q"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_killed_run_leaves_the_store_consistent(tmp_path: Path, url: str) -> None:
    _score(tmp_path, url)                       # an earlier run, untouched by what follows

    def started() -> bool:
        with pstore.open(url) as store:
            return len(store.runs()) == 2
    _score_killed_when(tmp_path, population(20_000, tmp_path / "big.csv"), url, started)
    with pstore.open(url) as store:
        first, second = store.runs()
        assert first.status == "complete" and store.verify(first.id)[0].ok
        assert second.status == "running" and second.ended_at is None
        assert len(store.decisions(run=second.id)) in (0, 20_000)   # its one chunk, whole or not at all
    done = cli("audit", "verify", "--store", url)
    assert done.returncode == 1
    assert "run 1: ok" in done.stdout
    assert "run 2 is running, started" in done.stdout and "never ended" in done.stdout


def test_a_run_killed_while_writing_keeps_whole_chunks(tmp_path: Path) -> None:
    # killed once its first chunk is in (the command line writes a SQLite file through the ADBC driver): the
    # rows stored are whole chunks, the file is intact, and the earlier run verifies
    db = tmp_path / "k.db"
    _score(tmp_path, str(db))

    def first_chunk_in() -> bool:
        with sqlite3.connect(db, timeout=60) as conn:
            return bool(conn.execute("SELECT count(*) FROM decisions WHERE run_id = 2").fetchone()[0])
    _score_killed_when(tmp_path, population(3 * CHUNK_ROWS, tmp_path / "big.csv"), str(db), first_chunk_in)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with pstore.open(db) as store:
        first, second = store.runs()
        assert first.status == "complete" and store.verify(first.id)[0].ok
        kept = len(store.decisions(run=second.id))
        assert kept > 0 and kept % CHUNK_ROWS == 0   # whole transactions only
        assert second.status in ("running", "complete")


def test_a_run_whose_files_cannot_be_put_in_place_is_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    # the store's rows are written before the command's files are moved into place; the run is complete only
    # once they are, so a command that fails at the end leaves a failed run (its rows kept, as recorded)
    from click.testing import CliRunner

    from policyengine.atomic import OutputError, OutputSet
    from policyengine.cli import main

    db = tmp_path / "f.db"
    out = tmp_path / "o.csv"

    def full_disk(self: OutputSet) -> None:
        raise OutputError(f"{out}: cannot write: No space left on device")
    monkeypatch.setattr(OutputSet, "commit", full_disk)
    result = CliRunner().invoke(main, ["score", str(EXAMPLE), "--out", str(out), "--store", str(db), "-q"])
    assert result.exit_code == 2 and "No space left on device" in result.output
    assert not out.exists()
    with pstore.open(db) as store:
        (run,) = store.runs()
        assert run.status == "failed" and run.ended_at is not None
        assert "No space left on device" in (run.error or "")
        assert len(store.decisions(run=run.id)) == 57
    monkeypatch.undo()
    _score(tmp_path, str(db))
    with pstore.open(db) as store:
        assert [r.status for r in store.runs()] == ["failed", "complete"]
        assert store.verify(store.runs()[1].id)[0].ok


def test_two_writers_to_one_sqlite_file(tmp_path: Path) -> None:
    url = str(tmp_path / "shared.db")
    src = population(400, tmp_path / "p.csv")
    procs = [subprocess.Popen([PYTHON, "-m", "policyengine", "score", str(src), "--out", str(tmp_path / f"o{i}.csv"),
                               "--store", url, "-q"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with pstore.open(url) as store:
        runs = store.runs()
        assert [r.status for r in runs] == ["complete", "complete"]
        assert all(r.decided == 400 for r in runs)
        assert store.verify(runs[0].id)[0].ok and store.verify(runs[1].id)[0].ok


def test_passwords_are_never_printed(tmp_path: Path, postgres_server: str) -> None:  # noqa: F811
    bad = cli("score", str(EXAMPLE), "--out", str(tmp_path / "o.csv"), "--store",
              "postgresql://clerk:s3cret-pw@127.0.0.1:1/nodb", "-q")
    assert bad.returncode == 2 and "s3cret-pw" not in bad.stdout + bad.stderr
    assert "postgresql+psycopg://clerk:***@127.0.0.1:1/nodb" in bad.stderr
    # trust authentication ignores the password: the run is recorded, its command without it
    url = new_postgres_db(postgres_server).replace("postgres@", "postgres:s3cret-pw@")
    _score(tmp_path, url)
    listed = cli("audit", "runs", "--store", url, check=True).stdout
    assert "s3cret-pw" not in listed
    with pstore.open(url) as store:
        assert "s3cret-pw" not in (store.runs()[0].command or "") and "***" in (store.runs()[0].command or "")
        assert "s3cret-pw" not in repr(store)


def test_the_library_example_in_docs_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    page = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", page, re.S)
    assert code is not None
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(code.group(1).replace('"audit.db"', repr(str(tmp_path / "audit.db"))), namespace)   # the page's own code
    assert namespace["run"] == 1


def test_text_that_json_escapes_is_stored_and_audited_exactly(tmp_path: Path, url: str) -> None:
    # names with quotes, backslashes, tabs and control characters: the column-wise JSON (the facts hash, the
    # stored array, the audit record; PostgreSQL's COPY text) is exactly what evaluate() gives for the row
    frame = pl.read_csv(population(20, tmp_path / "p.csv"), infer_schema=False)
    names = ['引号"企业', "反斜杠\\企业", "制表\t企业", "控制\x01字符", "普通企业"]
    frame = frame.with_columns(pl.Series("企业名称", [*names, *frame.get_column("企业名称").to_list()[5:]]))
    src = tmp_path / "escapes.csv"
    frame.write_csv(src)
    cli("score", str(src), "--out", str(tmp_path / "o.csv"), "--store", url, "--audit", str(tmp_path / "a.jsonl"),
        "-q", check=True)
    packages = load_bundled()
    records = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    with pstore.open(url) as store:
        stored = {d.name: d for d in store.decisions(run=1)}
        assert store.verify(1)[0].ok
    by_name = {r["facts"]["name"]: r for r in records}
    for name in names:
        d = stored[name]
        own = evaluate(packages, d.facts, backend="interpreter")
        assert own.facts["name"] == name and own.facts == d.facts and own.facts_hash == "sha256:" + d.facts_hash
        assert by_name[name]["facts"] == own.model_dump(mode="json")["facts"]
        assert by_name[name]["facts_hash"] == own.facts_hash and replay(by_name[name]).ok
