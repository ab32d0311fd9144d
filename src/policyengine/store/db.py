"""`Store`: one open decision store (SQLite or PostgreSQL, through SQLAlchemy Core)."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.exc import OperationalError

from policyengine.errors import PolicyEngineError
from policyengine.store import schema as S
from policyengine.store.url import parse, redact

if TYPE_CHECKING:
    from policyengine.batch.score import Scored
    from policyengine.decide.decision import Decision
    from policyengine.model.policy import Package, PolicyVersion
    from policyengine.store.rows import Layout
    from policyengine.store.verify import Report

T = TypeVar("T")
CHUNK_ROWS = 50_000
"""Decisions per transaction: a run's rows are stored in whole chunks or not at all."""


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Run:
    """One recorded run."""

    id: int
    started_at: str
    ended_at: str | None
    user: str | None
    command: str | None
    input_name: str | None
    input_sha256: str | None
    rows_in: int | None
    decided: int | None
    rejected: int | None
    status: str
    backend: str | None
    packages: list[dict[str, Any]]
    version_choice: Any
    proration: list[list[Any]]
    chain: str | None
    error: str | None
    digest_form: int = 1
    """What its rows' digests are made of (`policyengine.store.rows.DIGESTED`)."""


@dataclass(frozen=True)
class StoredDecision:
    """One stored decision: what was decided, without the trace (`Store.explain` re-derives it)."""

    run: int
    row: int
    uscc: str | None
    name: str | None
    year: int | None
    facts: dict[str, str | None]
    facts_hash: str
    outcome: dict[str, Any]
    total: int
    reasons: str | None


@dataclass(frozen=True)
class DecisionPage:
    """A page of stored decisions (`Store.decision_page`): how many match, and the page's rows."""

    total: int
    items: list[StoredDecision]


def _run(r: Any) -> Run:
    m = r._mapping
    return Run(id=m["id"], started_at=m["started_at"], ended_at=m["ended_at"], user=m["user"],
               command=m["command"], input_name=m["input_name"], input_sha256=m["input_sha256"],
               rows_in=m["rows_in"], decided=m["decided"], rejected=m["rejected"], status=m["status"],
               backend=m["backend"], packages=json.loads(m["packages"]),
               version_choice=json.loads(m["version_choice"]) if m["version_choice"] else None,
               proration=json.loads(m["proration"]) if m["proration"] else [], chain=m["chain"], error=m["error"],
               digest_form=m["digest_form"] or 1)


def _decision(r: Any, names: Sequence[str] | None, layout: Layout | None = None) -> StoredDecision:
    """A stored row as a `StoredDecision`; `names`, `layout`: its run's fact names and outcome layout (for facts
    and outcomes kept by position)."""
    from policyengine.store.rows import read_facts_text, read_outcome_text

    m = r._mapping
    try:
        facts = read_facts_text(m["facts"], names)
    except ValueError as exc:
        raise PolicyEngineError(f"run {m['run_id']} row {m['row']}: the stored facts cannot be read: {exc}") from None
    try:
        outcome = read_outcome_text(m["outcome"], layout)
    except ValueError as exc:
        raise PolicyEngineError(f"run {m['run_id']} row {m['row']}: the stored outcome cannot be read: {exc}") \
            from None
    return StoredDecision(run=m["run_id"], row=m["row"], uscc=m["uscc"], name=m["name"], year=m["year"],
                          facts=facts, facts_hash=m["facts_hash"], outcome=outcome,
                          total=m["total"], reasons=m["reasons"])


class Store:
    """A decision store. Open it with `policyengine.store.open(url)`."""

    def __init__(self, url: str | Path, *, exclusive: bool = False) -> None:
        self.url = parse(url)
        self.exclusive = exclusive
        """Only one thread of this process uses the store, for one run at a time (the command line): a SQLite
        batch's rows go straight into the file through the ADBC driver (`policyengine.store.staging`)."""
        self.shown = redact(self.url)
        self.dialect = self.url.get_backend_name()
        self._forms: dict[int, tuple[list[str] | None, Layout | None]] = {}
        self._snapshots: set[str] = set()
        """Content hashes this process has seen stored (a snapshot is never removed): not queried again."""
        self._local = threading.local()
        """`conn`: the transaction `_together` holds on this thread; `after`: what runs once it commits."""
        self._one_writer = threading.Lock()
        """SQLite has one writer at a time: this process's threads queue here for `_together`, woken in turn,
        rather than in SQLite's busy handler, which polls with sleeps of up to 100 ms."""
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                folder = Path(self.url.database).parent
                if not folder.is_dir():
                    raise PolicyEngineError(f"--store {self.shown}: the folder {folder} does not exist")
            self.engine: Engine = create_engine(self.url, connect_args={"timeout": 60})
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=False)
        try:
            self._retry(S.migrate, opening=True)
        except OperationalError as exc:
            raise PolicyEngineError(f"--store {self.shown}: cannot open: {_first_line(exc)}") from None

    def __repr__(self) -> str:
        return f"Store({self.shown!r})"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -----------------------------------------------------------------------------------------

    @contextmanager
    def _write(self, attach: Path | None = None) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE, so a busy store is waited for at the start); inside
        `_together`, the transaction it holds. `attach`: a SQLite file attached as `stage` around it."""
        held: Connection | None = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        with self.engine.connect() as conn:
            raw: Any = conn.connection.driver_connection   # (no transaction is open on it: ATTACH needs none)
            if attach is not None:
                try:
                    raw.execute("ATTACH DATABASE ? AS stage", (str(attach),))
                except sqlite3.Error as exc:
                    raise PolicyEngineError(f"store {self.shown}: cannot read the staged decisions in "
                                            f"{attach}: {_first_line(exc)}") from None
            try:
                conn = conn.execution_options(immediate=True)
                with conn.begin():
                    yield conn
            finally:
                if attach is not None:
                    raw.execute("DETACH DATABASE stage")

    def _retry(self, work: Callable[[Connection], T], *, opening: bool = False, attach: Path | None = None) -> T:
        """`work` in a write transaction, retried while another writer holds the SQLite file (also while the
        file is being created or migrated by another process: `opening`, whose last error is re-raised)."""
        if getattr(self._local, "conn", None) is not None:   # `_together` retries the whole
            if attach is not None:
                raise AssertionError("a staged chunk is copied in a transaction of its own")
            with self._write() as conn:
                return work(conn)
        delay = 0.05
        for attempt in range(200):
            try:
                with self._write(attach) as conn:
                    return work(conn)
            except OperationalError as exc:
                if self.dialect != "sqlite" or ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 199:
                    if opening:
                        raise
                    raise PolicyEngineError(f"store {self.shown}: {_first_line(exc)}") from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    def _together(self, work: Callable[[], T]) -> T:
        """`work`'s writes (every write transaction it opens on this thread) in one transaction, retried as a
        whole while another writer holds the SQLite file."""
        def whole(conn: Connection) -> T:
            self._local.conn, self._local.after = conn, []
            try:
                return work()
            finally:
                self._local.conn = None
        if self.dialect == "sqlite":
            with self._one_writer:
                result = self._retry(whole)
        else:
            result = self._retry(whole)
        for then in self._local.after:   # committed
            then()
        self._local.after = []
        return result

    def _committed(self, then: Callable[[], None]) -> None:
        """Run `then` once the current write has committed (now, outside `_together`)."""
        if getattr(self._local, "conn", None) is not None:
            self._local.after.append(then)
        else:
            then()

    # -- writing ------------------------------------------------------------------------------------------------

    def snapshot(self, versions: Sequence[PolicyVersion]) -> None:
        """Store the source of each version once per content hash (hashes this process has seen stored are
        not looked up again)."""
        from policyengine.store.snapshot import capture

        wanted = [v for v in versions if v.content_hash not in self._snapshots]
        if not wanted:
            return

        def work(conn: Connection) -> set[str]:
            have = set(conn.execute(select(S.snapshots.c.content_hash).where(
                S.snapshots.c.content_hash.in_([v.content_hash for v in wanted]))).scalars())
            for v in wanted:
                if v.content_hash not in have:
                    conn.execute(S.snapshots.insert().values(content_hash=v.content_hash, package=v.package_id,
                                                             version=v.version, files=capture(v), stored_at=now()))
                    have.add(v.content_hash)
            return have
        stored = self._retry(work)
        self._committed(lambda: self._snapshots.update(stored))

    def begin_run(self, packages: Sequence[Package], *, command: str | None = None, user: str | None = None,
                  input_name: str | None = None, input_sha256: str | None = None, backend: str | None = None,
                  version_choice: Any = None) -> int:
        """Record a run as `running` (with a snapshot of every version of every package); returns its id."""
        from policyengine.decide.evaluate import library_versions

        self.snapshot([v for p in packages for v in p.versions])
        pkgs = [{"package": p.id, "versions": {v.version: v.content_hash for v in p.versions}} for p in packages]
        values = dict(started_at=now(), user=user if user is not None else _os_user(), command=command,
                      input_name=input_name, input_sha256=input_sha256, status="running", backend=backend,
                      packages=json.dumps(pkgs, ensure_ascii=False),
                      version_choice=json.dumps(version_choice) if version_choice is not None else None,
                      library=json.dumps(library_versions()))
        return int(self._retry(lambda c: c.execute(_INSERT_RUN, values).inserted_primary_key[0]))  # type: ignore[index]

    def write_scored(self, run: int, scored: Scored, progress: Callable[[int], None] | None = None, *,
                     complete: bool = True) -> str:
        """Store a scored batch's decisions and rejects under `run`, in chunks, and (`complete`) mark it
        complete; returns the run's chain."""
        from policyengine.store.write import write_scored

        return write_scored(self, run, scored, progress, complete=complete)

    def finish_run(self, run: int, *, status: str, chain: str | None = None, rows_in: int | None = None,
                   decided: int | None = None, rejected: int | None = None, proration: Any = None,
                   error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "ended_at": now()}
        for k, v in (("chain", chain), ("rows_in", rows_in), ("decided", decided), ("rejected", rejected),
                     ("error", error)):
            if v is not None:
                values[k] = v
        if proration is not None:
            values["proration"] = json.dumps(proration)
        self._retry(lambda c: c.execute(S.runs.update().where(S.runs.c.id == run).values(**values)))

    def record_run(self, scored: Scored, *, command: str | None = None, user: str | None = None,
                   input_name: str | None = None, input_sha256: str | None = None) -> int:
        """Record a whole scored batch as one complete run; returns its id."""
        run = self.begin_run(scored.packages, command=command, user=user, input_name=input_name,
                             input_sha256=input_sha256, backend=scored.backend, version_choice=scored.version)
        try:
            self.write_scored(run, scored)
        except BaseException as exc:
            self.finish_run(run, status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
            raise
        return run

    def record_decision(self, decision: Decision, packages: Sequence[Package], *, command: str | None = None,
                        user: str | None = None) -> int:
        """Record one `evaluate()` decision as a run of one row (row 1), the run and its row in one transaction;
        returns the run id."""
        from policyengine.store.write import write_decision

        return self._together(lambda: write_decision(self, decision, packages, command=command, user=user))

    # -- reading ------------------------------------------------------------------------------------------------

    def runs(self) -> list[Run]:
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(select(S.runs).order_by(S.runs.c.id))]

    def run(self, run: int) -> Run:
        with self.engine.connect() as conn:
            r = conn.execute(select(S.runs).where(S.runs.c.id == run)).first()
        if r is None:
            raise PolicyEngineError(f"store {self.shown}: no run {run}")
        return _run(r)

    def decisions(self, run: int | None = None, uscc: str | None = None, year: int | None = None,
                  ) -> list[StoredDecision]:
        q = select(S.decisions)
        if run is not None:
            q = q.where(S.decisions.c.run_id == run)
        if uscc is not None:
            q = q.where(S.decisions.c.uscc == uscc)
        if year is not None:
            q = q.where(S.decisions.c.year == year)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(S.decisions.c.run_id, S.decisions.c.row)).all()
        return [_decision(r, *self.forms(r._mapping["run_id"])) for r in rows]

    def forms(self, run: int) -> tuple[list[str] | None, Layout | None]:
        """How run `run`'s rows keep their facts and outcomes: the fact names in the order of its positional
        facts, and each package's clause ids in the order of its positional outcomes (None: JSON objects)."""
        if run not in self._forms:
            with self.engine.connect() as conn:
                row = conn.execute(select(S.runs.c.fact_names, S.runs.c.outcome_layout, S.runs.c.status)
                                   .where(S.runs.c.id == run)).first()
            if row is None:
                return None, None
            names = json.loads(row[0]) if row[0] is not None else None
            layout = [(str(p), [str(c) for c in cids]) for p, cids in json.loads(row[1])] \
                if row[1] is not None else None
            if names is not None or row[2] != "running":   # a run's forms are recorded before its rows
                self._forms[run] = (names, layout)
            return names, layout
        return self._forms[run]

    def latest_runs(self, limit: int) -> list[Run]:
        """The newest `limit` runs, newest first."""
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(select(S.runs).order_by(S.runs.c.id.desc()).limit(limit))]

    def decision(self, run: int, row: int) -> StoredDecision | None:
        """The decision stored under `run` and `row`, or None."""
        d = S.decisions
        with self.engine.connect() as conn:
            r = conn.execute(select(d).where(d.c.run_id == run, d.c.row == row)).first()
        return None if r is None else _decision(r, *self.forms(run))

    def decision_page(self, *, run: int | None = None, uscc: str | None = None, year: int | None = None,
                      limit: int = 100, offset: int = 0) -> DecisionPage:
        """How many stored decisions match (`run`, `uscc`, `year`; None: any), and `limit` of them from `offset`:
        newest run first, each run's rows in order."""
        d = S.decisions
        where = [c == v for c, v in ((d.c.run_id, run), (d.c.uscc, uscc), (d.c.year, year)) if v is not None]
        query = select(d).where(*where).order_by(d.c.run_id.desc(), d.c.row).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(d).where(*where)).scalar_one()
            rows = conn.execute(query).all()
        return DecisionPage(int(total), [_decision(r, *self.forms(r._mapping["run_id"])) for r in rows])

    def fact_names(self, run: int) -> list[str] | None:
        """The facts run `run` read, in the order its rows keep them (None: its rows keep JSON objects)."""
        return self.forms(run)[0]

    def iter_decisions(self, run: int, batch: int = 10_000) -> Iterator[Any]:
        """Every stored row of `run` (all columns, digest included), in row order."""
        last = None
        while True:
            q = select(S.decisions).where(S.decisions.c.run_id == run)
            if last is not None:
                q = q.where(S.decisions.c.row > last)
            with self.engine.connect() as conn:
                rows = conn.execute(q.order_by(S.decisions.c.row).limit(batch)).all()
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1]._mapping["row"]

    def rejects(self, run: int) -> list[tuple[int, str | None, str | None, str | None]]:
        q = select(S.rejects.c.row, S.rejects.c.column_name, S.rejects.c.value, S.rejects.c.reason) \
            .where(S.rejects.c.run_id == run).order_by(S.rejects.c.seq)
        with self.engine.connect() as conn:
            return [(r[0], r[1], r[2], r[3]) for r in conn.execute(q)]

    def packages(self, run: Run) -> list[Package]:
        """The run's packages, rebuilt from the stored snapshots (never from a rules folder)."""
        from policyengine.store.snapshot import package_of, rebuild

        hashes = [h for p in run.packages for h in p["versions"].values()]
        with self.engine.connect() as conn:
            blobs = {r[0]: bytes(r[1]) for r in conn.execute(
                select(S.snapshots.c.content_hash, S.snapshots.c.files).where(S.snapshots.c.content_hash.in_(hashes)))}
        out = []
        for p in run.packages:
            versions = []
            for version, h in p["versions"].items():
                if h not in blobs:
                    raise PolicyEngineError(f"run {run.id}: no snapshot of {p['package']}@{version} ({h})")
                versions.append(rebuild(h, blobs[h]))
            out.append(package_of(versions))
        return out

    def explain(self, stored: StoredDecision) -> Decision:
        """The full decision (with its trace) re-derived from the stored facts and the run's rule snapshots;
        raises `PolicyEngineError` when it does not give the stored outcome."""
        from policyengine.store.verify import replay_row

        decision, problems = replay_row(self, self.run(stored.run), stored)
        if problems:
            raise PolicyEngineError("; ".join(problems))
        return decision

    def verify(self, run: int | None = None) -> list[Report]:
        """Check every run (or one): replay each stored decision against its snapshot and check the chain."""
        from policyengine.store.verify import verify_run

        targets = [self.run(run)] if run is not None else self.runs()
        return [verify_run(self, r) for r in targets]


_INSERT_RUN = S.runs.insert()
"""Built once: the values go as parameters (building `.values(**values)` each time costs more than the insert)."""


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None   # SQLAlchemy's "begin" event below starts transactions
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA busy_timeout = 60000")
    # a new file's pages (no effect on an existing one): 16 KiB pages hold the decisions' rows with less room
    # left over (about 10% smaller) and fewer B-tree pages to insert into; 64 MiB of cache for the bulk inserts
    cur.execute("PRAGMA page_size = 16384")
    cur.execute("PRAGMA cache_size = -65536")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")


def open(url: str | Path, *, exclusive: bool = False) -> Store:
    """Open (creating or migrating) the decision store at `url`: a file path or sqlite:///FILE, or a
    postgresql:// URL. `exclusive`: nothing else in this process uses it while a batch is written (the command
    line), so a SQLite batch is written by the ADBC driver straight into the file (quicker than staging it)."""
    return Store(url, exclusive=exclusive)
