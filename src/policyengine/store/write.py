"""Writing runs: a scored batch in bulk (executemany on SQLite, COPY on PostgreSQL), in chunk transactions,
with the run's chain; and single `evaluate()` decisions."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Connection

from policyengine.batch.read import ROW
from policyengine.store import rows as R
from policyengine.store import schema as S
from policyengine.store import staging
from policyengine.store.facts_text import canonical_json

if TYPE_CHECKING:
    from policyengine.batch.score import Scored
    from policyengine.decide.decision import Decision
    from policyengine.model.policy import Package
    from policyengine.store.db import Store


def chain_start(run: int) -> Any:
    return hashlib.sha256(f"policyengine-run/{run}\n".encode("ascii"))


def seal(chain: Any, ranges: list[list[int]]) -> str:
    """The chain's final value: the row digests, the reject digests, then the decided rows' ranges."""
    chain.update(json.dumps(ranges).encode("ascii"))
    return str(chain.hexdigest())


def ranges_of(numbers: Sequence[int] | pl.Series) -> list[list[int]]:
    """The runs of consecutive numbers in `numbers` (ascending), as [first, last] pairs."""
    col = pl.Series("n", numbers, dtype=pl.Int64)
    if col.is_empty():
        return []
    groups = (col.diff().fill_null(1) != 1).cum_sum()
    spans = pl.DataFrame({"n": col, "g": groups}).group_by("g", maintain_order=True).agg(
        pl.col("n").first().alias("a"), pl.col("n").last().alias("b"))
    return [[a, b] for a, b in zip(spans.get_column("a").to_list(), spans.get_column("b").to_list(), strict=True)]


def insert(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "postgresql":
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
    else:
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def copy_text(frame: pl.DataFrame) -> bytes:
    """`frame` in PostgreSQL's COPY text format: tab-separated, `\\N` for null, backslash escapes, bytea as hex."""
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    special = frame.select([pl.col(n).str.contains(r"[\\\t\n\r]").any().alias(n) for n in texts]).row(0) \
        if texts and frame.height else [False] * len(texts)
    escape = {n for n, found in zip(texts, special, strict=True) if found}
    cols = []
    for name, dtype in frame.schema.items():
        c = pl.col(name)
        if dtype == pl.Binary:
            c = pl.concat_str([pl.lit("\\\\x"), c.bin.encode("hex")])
        elif name in escape:   # only the columns that have a character to escape
            for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                c = c.str.replace_all(raw, escaped, literal=True)
        elif dtype != pl.String:
            c = c.cast(pl.String)
        cols.append(c.fill_null("\\N"))
    buffer = io.BytesIO()
    frame.select(pl.concat_str(cols, separator="\t").alias("line")).write_csv(
        buffer, include_header=False, quote_style="never", line_terminator="\n")
    return buffer.getvalue()


def _insert_prepared(conn: Connection, columns: Sequence[str], payload: bytes | Path) -> None:
    """A chunk of rows (`columns`) as `_prepare` made them: COPY text on PostgreSQL; on SQLite a staged file,
    attached as `stage` (`Store._retry(attach=...)`), copied by SQL."""
    names = ", ".join(f'"{c}"' for c in columns)
    if isinstance(payload, bytes):
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY decisions ({names}) FROM STDIN") as copy:
            copy.write(payload)
    else:
        conn.exec_driver_sql(f"INSERT INTO decisions ({names}) SELECT {names} FROM stage.{staging.TABLE}")


Prepared = tuple[bytes, list[str], "bytes | Path | pl.DataFrame"]
"""A block ready to insert: its rows' digests (joined, for the chain), the columns, the rows (`_insert_prepared`)."""


def _prepare(run: int, postgresql: bool, files: staging.Staging | None, block: pl.DataFrame) -> Prepared:
    """A built block's digests and its rows as the database takes them (made in the thread that built it):
    COPY text for PostgreSQL; for SQLite a staged file (`policyengine.store.staging`) of `files`, or without
    `files` the rows themselves (written by `staging.Direct`)."""
    digests = R.digests(block)
    part = block.select(pl.lit(run, dtype=pl.Int64).alias("run_id"), *R.COLUMNS).with_columns(digests)
    if postgresql:
        return b"".join(digests.to_list()), part.columns, copy_text(part)
    if files is None:
        return b"".join(digests.to_list()), part.columns, part
    return b"".join(digests.to_list()), part.columns, staging.stage(part, files.take())


def _direct(store: Store) -> staging.Direct | None:
    """The ADBC driver's own writer on a SQLite store's file, when the store is this process's to write alone
    (`Store.exclusive`, a file, no connection in use): the store's pooled connections are closed first, so that
    the driver's build of SQLite and this process's never hold the file open at once."""
    pool: Any = store.engine.pool
    if store.dialect != "sqlite" or not store.exclusive or store.url.database in (None, "", ":memory:") \
            or pool.checkedout():   # (a connection in use would stay open through dispose())
        return None
    store.engine.dispose()
    return staging.Direct(Path(str(store.url.database)))


def write_scored(store: Store, run: int, scored: Scored, progress: Callable[[int], None] | None = None, *,
                 complete: bool = True) -> str:
    """Store the decisions and rejects of `scored` under `run` with its chain and counts, and (`complete`) mark
    it complete; returns its chain. Without `complete` the run stays `running` until its caller, whose other
    work (writing its files) must succeed too, marks it (`Store.finish_run`).

    Each chunk of rows is built (column-wise) while the one before is being written, by one writer thread, in
    its own transaction; an error or an interruption waits for the chunk being written (it is stored whole, or
    not at all), then goes on."""
    from policyengine.store.db import CHUNK_ROWS

    names = json.dumps(R.fact_names(scored), ensure_ascii=False)
    layout = json.dumps(R.outcome_layout(scored.packages), ensure_ascii=False)
    # the forms come first, in their own transaction: rows stored before an interruption stay readable
    store._retry(lambda conn: conn.execute(S.runs.update().where(S.runs.c.id == run).values(
        fact_names=names, outcome_layout=layout, digest_form=R.DIGEST_FORM)))
    chain = chain_start(run)
    postgresql = store.dialect == "postgresql"
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="policyengine-store") as writer, \
            contextlib.ExitStack() as later:
        pending: list[tuple[Future[None], int]] = []
        direct = None if postgresql else _direct(store)
        files = None
        if not postgresql and direct is None:   # staged files, in a folder of this run's own
            files = later.enter_context(staging.folder())

        def store_chunk(columns: list[str], payload: bytes | Path | pl.DataFrame) -> None:
            if isinstance(payload, pl.DataFrame):
                assert direct is not None
                direct.append(payload, "decisions")
                return
            store._retry(functools.partial(_insert_prepared, columns=columns, payload=payload),
                         attach=payload if isinstance(payload, Path) else None)
            if files is not None and isinstance(payload, Path):
                files.give_back(payload)

        def wait_pending() -> None:
            while pending:
                done, rows = pending.pop(0)
                done.result()
                if progress is not None:
                    progress(rows)
        try:
            make = functools.partial(_prepare, run, postgresql, files)
            for digests, columns, payload in R.built(scored, make, positional=True, size=CHUNK_ROWS):
                chain.update(digests)
                wait_pending()   # one chunk in flight at a time
                pending.append((writer.submit(store_chunk, columns, payload), len(digests) // 16))
            wait_pending()
        except BaseException:
            writer.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            if direct is not None:
                writer.shutdown(wait=True)
                direct.close()
    rejects = [(run, i, r.row, r.column, r.value, r.reason) for i, r in enumerate(scored.rejects)]
    for r in rejects:
        chain.update(hashlib.sha256(R.reject_line(*r[2:])).digest()[:16])
    ranges = ranges_of(scored.accepted.get_column(ROW))
    sealed = seal(chain, ranges)
    proration = scored.proration

    def finish(conn: Connection) -> None:
        insert(conn, "rejects", S.REJECT_COLUMNS, rejects)
        ended = {"status": "complete", "ended_at": _now()} if complete else {}
        conn.execute(S.runs.update().where(S.runs.c.id == run).values(
            chain=sealed, rows_in=scored.rows_in, decided=scored.accepted.height, rejected=scored.rows_rejected,
            proration=json.dumps(proration), row_ranges=json.dumps(ranges), **ended))
    store._retry(finish)
    return sealed


def _now() -> str:
    from policyengine.store.db import now

    return now()


def reasons_text(decision: Decision, packages: Sequence[Package]) -> str:
    """The `reasons` text the batch output gives this decision."""
    from policyengine.batch import reasons
    from policyengine.batch.score import clause_labels, decision_row
    from policyengine.batch.settle import r_col, why_col

    labels_by = clause_labels(packages)
    cols = decision_row(decision, 0, packages)
    entries: list[str | None] = []
    labels: list[str] = []
    for p in packages:
        entries.append(cols[p.id].get(why_col(p.id)))
        labels.append(p.id)
        from policyengine.batch.score import clause_ids

        for cid in clause_ids(p):
            entries.append(cols[p.id].get(r_col(p.id, cid)))
            labels.append(labels_by[(p.id, cid)])
    return reasons.render(entries, labels)


def write_decision(store: Store, decision: Decision, packages: Sequence[Package], *, command: str | None = None,
                   user: str | None = None) -> int:
    """One decision as a complete run of one row (row 1)."""
    run = store.begin_run(packages, command=command or "evaluate", user=user,
                          backend=decision.audit.backend)
    facts = canonical_json(decision.facts)
    uscc, name = decision.facts.get("uscc"), decision.facts.get("name")
    values = (1, uscc, name, decision.application_year, facts, decision.facts_hash.removeprefix("sha256:"),
              canonical_json(R.outcome_of(decision)), decision.total, reasons_text(decision, packages))
    digest = hashlib.sha256(R.line(values, R.DIGEST_FORM)).digest()[:16]
    chain = chain_start(run)
    chain.update(digest)
    sealed = seal(chain, [[1, 1]])
    versions = {p.package: p.version for p in decision.packages if p.version is not None}

    def work(conn: Connection) -> None:
        insert(conn, "decisions", S.DECISION_COLUMNS, [(run, *values, digest)])
        conn.execute(S.runs.update().where(S.runs.c.id == run).values(
            status="complete", ended_at=_now(), chain=sealed, rows_in=1, decided=1, rejected=0,
            proration="[]", row_ranges="[[1, 1]]", version_choice=json.dumps(versions), digest_form=R.DIGEST_FORM))
    store._retry(work)
    return run
