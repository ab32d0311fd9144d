"""The store's tables (SQLAlchemy Core) and its versioned migrations.

`policyengine_store` holds one row: the schema version. Opening a store applies, in one transaction each, every
migration above that version (an empty database starts at 0), under a lock (SQLite: `BEGIN IMMEDIATE`;
PostgreSQL: an advisory lock) so that two processes opening a new store at once do not both create it. A store
written by a later version of policyengine (a higher schema version) is refused, never guessed at. Migrations
only add: a store written by this version stays readable by later ones.

Version 1: runs, snapshots, decisions, rejects. Version 2: `runs.library` (the library versions that made the
run's decisions) and an index on decisions by USCC (for `audit show --uscc`). Version 3: `runs.fact_names`
(the facts a batch run read, in order: its rows keep their facts as a positional array, see
`policyengine.store.rows`) and, on SQLite, `decisions` an ordinary rowid table (a `WITHOUT ROWID` table of rows
this large wastes most of its pages); its rows are copied over as they are, so older runs still verify.
Version 4: `runs.outcome_layout` (each package's clause ids, in order: a batch run's rows keep their outcome as
positional arrays, see `policyengine.store.rows.read_outcome_text`); rows recorded before keep their JSON
objects and read as before. Version 5: `runs.digest_form` (what a run's row digests are made of: the facts hash
stands for the facts text from now on, see `policyengine.store.rows.DIGESTED`); older runs (null) verify as
they were recorded.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from policyengine.errors import PolicyEngineError

SCHEMA_VERSION = 5

metadata = MetaData()

store_info = Table("policyengine_store", metadata, Column("version", Integer, nullable=False))

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", String(40), nullable=False),
    Column("ended_at", String(40)),
    Column("user", String(200)),
    Column("command", Text),
    Column("input_name", Text),
    Column("input_sha256", String(64)),
    Column("rows_in", BigInteger),
    Column("decided", BigInteger),
    Column("rejected", BigInteger),
    Column("status", String(16), nullable=False),
    Column("backend", String(40)),
    Column("packages", Text, nullable=False),       # JSON: [{"package", "versions": {version: content hash}}]
    Column("version_choice", Text),                # JSON: the forced version (--version), or null
    Column("proration", Text),                     # JSON: [[package, version, year, fund, demand], ...]
    Column("chain", String(64)),                   # SHA-256 over the row digests, then the rejects
    Column("error", Text),
    Column("row_ranges", Text),                    # JSON: [[first, last], ...] of the decided rows
    Column("library", Text),                       # v2: JSON of library versions
    Column("fact_names", Text),                    # v3: JSON list: the order of the positional facts
    Column("outcome_layout", Text),                # v4: JSON [[package, [clause ids]], ...] of positional outcomes
    Column("digest_form", Integer),                # v5: what the rows' digests are made of (null: 1)
)

snapshots = Table(
    "snapshots", metadata,
    Column("content_hash", String(80), primary_key=True),
    Column("package", String(200), nullable=False),
    Column("version", String(200), nullable=False),
    Column("files", LargeBinary, nullable=False),  # zlib(JSON {"root": version folder, "files": {path: text}})
    Column("stored_at", String(40), nullable=False),
)

decisions = Table(
    "decisions", metadata,
    Column("run_id", Integer, primary_key=True),
    Column("row", BigInteger, primary_key=True),
    Column("uscc", String(40)),
    Column("name", Text),
    Column("year", Integer),
    Column("facts", Text, nullable=False),
    Column("facts_hash", String(64), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("reasons", Text),
    Column("digest", LargeBinary(16), nullable=False),
)
Index("ix_decisions_uscc", decisions.c.uscc)

rejects = Table(
    "rejects", metadata,
    Column("run_id", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("row", BigInteger, nullable=False),
    Column("column_name", Text),
    Column("value", Text),
    Column("reason", Text),
    sqlite_with_rowid=False,
)

DECISION_COLUMNS = ("run_id", "row", "uscc", "name", "year", "facts", "facts_hash", "outcome", "total", "reasons",
                    "digest")
REJECT_COLUMNS = ("run_id", "seq", "row", "column_name", "value", "reason")


def _v1(conn: Connection) -> None:
    big = "BIGINT"
    serial = "SERIAL PRIMARY KEY" if conn.dialect.name == "postgresql" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    blob = "BYTEA" if conn.dialect.name == "postgresql" else "BLOB"
    no_rowid = " WITHOUT ROWID" if conn.dialect.name == "sqlite" else ""
    for ddl in (
        f"""CREATE TABLE runs (id {serial}, started_at VARCHAR(40) NOT NULL, ended_at VARCHAR(40),
            "user" VARCHAR(200), command TEXT, input_name TEXT, input_sha256 VARCHAR(64), rows_in {big},
            decided {big}, rejected {big}, status VARCHAR(16) NOT NULL, backend VARCHAR(40), packages TEXT NOT NULL,
            version_choice TEXT, proration TEXT, chain VARCHAR(64), error TEXT, row_ranges TEXT)""",
        f"""CREATE TABLE snapshots (content_hash VARCHAR(80) PRIMARY KEY, package VARCHAR(200) NOT NULL,
            version VARCHAR(200) NOT NULL, files {blob} NOT NULL, stored_at VARCHAR(40) NOT NULL)""",
        f"""CREATE TABLE decisions (run_id INTEGER NOT NULL, "row" {big} NOT NULL, uscc VARCHAR(40), name TEXT,
            year INTEGER, facts TEXT NOT NULL, facts_hash VARCHAR(64) NOT NULL, outcome TEXT NOT NULL,
            total {big} NOT NULL, reasons TEXT, digest {blob} NOT NULL, PRIMARY KEY (run_id, "row")){no_rowid}""",
        f"""CREATE TABLE rejects (run_id INTEGER NOT NULL, seq INTEGER NOT NULL, "row" {big} NOT NULL,
            column_name TEXT, value TEXT, reason TEXT, PRIMARY KEY (run_id, seq)){no_rowid}""",
    ):
        conn.exec_driver_sql(ddl)


def _v2(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN library TEXT")
    conn.exec_driver_sql("CREATE INDEX ix_decisions_uscc ON decisions (uscc)")


def _v3(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN fact_names TEXT")
    if conn.dialect.name != "sqlite":
        return
    for ddl in (
        """CREATE TABLE decisions_v3 (run_id INTEGER NOT NULL, "row" BIGINT NOT NULL, uscc VARCHAR(40), name TEXT,
            year INTEGER, facts TEXT NOT NULL, facts_hash VARCHAR(64) NOT NULL, outcome TEXT NOT NULL,
            total BIGINT NOT NULL, reasons TEXT, digest BLOB NOT NULL, PRIMARY KEY (run_id, "row"))""",
        "INSERT INTO decisions_v3 SELECT * FROM decisions ORDER BY run_id, \"row\"",
        "DROP TABLE decisions",
        "ALTER TABLE decisions_v3 RENAME TO decisions",
        "CREATE INDEX ix_decisions_uscc ON decisions (uscc)",
    ):
        conn.exec_driver_sql(ddl)


def _v4(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN outcome_layout TEXT")


def _v5(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN digest_form INTEGER")


MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1, 2: _v2, 3: _v3, 4: _v4, 5: _v5}


def current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, "policyengine_store"):
        return 0
    value = conn.execute(text("SELECT version FROM policyengine_store")).scalar()
    return int(value or 0)


def migrate(conn: Connection) -> int:
    """Bring the schema to `SCHEMA_VERSION` inside the caller's (locked) transaction; returns the version found."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7301190011)")
    found = current_version(conn)
    if found > SCHEMA_VERSION:
        raise PolicyEngineError(f"this store has schema version {found}, newer than this policyengine "
                                f"understands ({SCHEMA_VERSION}): upgrade policyengine to read it")
    if found == 0:
        conn.exec_driver_sql("CREATE TABLE policyengine_store (version INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO policyengine_store (version) VALUES (0)")
    for v in range(found + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[v](conn)
        conn.execute(text("UPDATE policyengine_store SET version = :v"), {"v": v})
    return found
