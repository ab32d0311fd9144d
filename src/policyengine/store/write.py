"""Writing runs: a scored batch in bulk (executemany on SQLite, COPY on PostgreSQL), in chunk transactions,
with the run's chain; and single `evaluate()` decisions."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from policyengine.store import rows as R
from policyengine.store import schema as S

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


def ranges_of(numbers: Sequence[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for n in numbers:
        if out and out[-1][1] + 1 == n:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


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


def _insert_decisions(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    insert(conn, "decisions", S.DECISION_COLUMNS, rows)


def write_scored(store: Store, run: int, scored: Scored, progress: Callable[[int], None] | None = None) -> str:
    """Store the decisions and rejects of `scored` under `run` and mark it complete; returns its chain."""
    from policyengine.store.db import CHUNK_ROWS

    table = R.frame(scored, positional=True)
    names = json.dumps(R.fact_names(scored), ensure_ascii=False)
    # the names come first, in their own transaction: rows stored before an interruption stay readable
    store._retry(lambda conn: conn.execute(S.runs.update().where(S.runs.c.id == run).values(fact_names=names)))
    chain = chain_start(run)
    for start in range(0, table.height, CHUNK_ROWS):
        part = table.slice(start, CHUNK_ROWS)
        digests = R.digests(part)
        for d in digests:
            chain.update(d)
        batch = list(zip([run] * part.height, *(part.get_column(c).to_list() for c in R.COLUMNS), digests,
                         strict=True))
        store._retry(functools.partial(_insert_decisions, rows=batch))
        if progress is not None:
            progress(part.height)
    rejects = [(run, i, r.row, r.column, r.value, r.reason) for i, r in enumerate(scored.rejects)]
    for r in rejects:
        chain.update(hashlib.sha256(R.reject_line(*r[2:])).digest()[:16])
    ranges = ranges_of(table.get_column("row").to_list())
    sealed = seal(chain, ranges)
    proration = [[b.package, b.version, b.application_year, b.fund, b.demand]
                 for b in scored.budgets if b.prorated and b.fund is not None]

    def finish(conn: Connection) -> None:
        insert(conn, "rejects", S.REJECT_COLUMNS, rejects)
        conn.execute(S.runs.update().where(S.runs.c.id == run).values(
            status="complete", ended_at=_now(), chain=sealed, rows_in=scored.rows_in, decided=table.height,
            rejected=scored.rows_rejected, proration=json.dumps(proration), row_ranges=json.dumps(ranges)))
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
    facts = R.canonical_json(decision.facts)
    uscc, name = decision.facts.get("uscc"), decision.facts.get("name")
    values = (1, uscc, name, decision.application_year, facts, decision.facts_hash.removeprefix("sha256:"),
              R.canonical_json(R.outcome_of(decision)), decision.total, reasons_text(decision, packages))
    digest = hashlib.sha256(R.line(values)).digest()[:16]
    chain = chain_start(run)
    chain.update(digest)
    sealed = seal(chain, [[1, 1]])
    versions = {p.package: p.version for p in decision.packages if p.version is not None}

    def work(conn: Connection) -> None:
        insert(conn, "decisions", S.DECISION_COLUMNS, [(run, *values, digest)])
        conn.execute(S.runs.update().where(S.runs.c.id == run).values(
            status="complete", ended_at=_now(), chain=sealed, rows_in=1, decided=1, rejected=0,
            proration="[]", row_ranges="[[1, 1]]", version_choice=json.dumps(versions)))
    store._retry(work)
    return run
