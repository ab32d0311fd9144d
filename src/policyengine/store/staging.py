"""A chunk of a batch's decisions staged for a SQLite store: written from its polars frame into a private
SQLite file by the ADBC SQLite driver (Arrow in, rows out, all in C: no Python object per row, and the
interpreter's lock released), then copied into the store by one `INSERT … SELECT` (`Store.copy_staged`).

The staged file belongs to one chunk and is used by one library at a time: the ADBC driver (its own build of
SQLite) creates, fills and closes it before the store's connection attaches it, so two builds of SQLite never
hold the same file open at once. It is written with no journal and no syncing: a chunk lost with its process
is written again by nobody (the run is then `failed` or `running`), and the store itself is written only by
the copy, in its own transaction.
"""

from __future__ import annotations

from pathlib import Path

import adbc_driver_sqlite
import polars as pl
from adbc_driver_manager import AdbcConnection, AdbcStatement

TABLE = "staged"


def stage(frame: pl.DataFrame, path: Path) -> Path:
    """`frame`'s rows as the table `TABLE` of a new SQLite file at `path` (its columns' types: INTEGER, TEXT,
    BLOB as polars' Int64, String, Binary)."""
    database = adbc_driver_sqlite.connect(str(path))
    try:
        connection = AdbcConnection(database)
        try:
            statement = AdbcStatement(connection)
            try:
                for pragma in ("PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF"):
                    statement.set_sql_query(pragma)
                    statement.execute_update()
                statement.set_options(**{"adbc.ingest.target_table": TABLE,
                                         "adbc.ingest.mode": "adbc.ingest.mode.create"})
                statement.bind_stream(frame)
                statement.execute_update()
            finally:
                statement.close()
        finally:
            connection.close()
    finally:
        database.close()
    return path


def discard(path: Path) -> None:
    """Remove a staged file (once copied, or when its chunk is abandoned)."""
    for leftover in (path, path.with_name(path.name + "-journal")):
        leftover.unlink(missing_ok=True)
