"""A chunk of a batch's decisions staged for a SQLite store: written from its polars frame into a private
SQLite file by the ADBC SQLite driver (Arrow in, rows out, all in C: no Python object per row, and the
interpreter's lock released), then copied into the store by one `INSERT … SELECT` in the chunk's transaction
(`store.write`, with the file attached by `Store._retry(attach=...)`).

A staged file holds one chunk at a time and is used by one library at a time: the ADBC driver (its own build
of SQLite) fills and closes it before the store's connection attaches it, so two builds of SQLite never hold
the same file open at once. It is written with no journal and no syncing: a chunk lost with its process is
written again by nobody (the run is then `failed` or `running`), and the store itself is written only by the
copy, in its own transaction. Once copied, a file is given back (`Staging`) and refilled by a later chunk:
its pages are rewritten where they are, which costs far less than new files' (fresh pages for every chunk).

A run's staged files live in a private folder of the system's temporary folder (`folder`), named and locked
as `policyengine.atomic` names its temporary files (`.policyengine-stage.<pid>.<token>.tmp`), and removed when
the run ends; the folders of runs that were killed (SIGKILL, a power cut) are removed by the next run that
stages, once their lock and their process are proven gone.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import tempfile
from collections.abc import Iterator
from pathlib import Path

import adbc_driver_manager
import adbc_driver_sqlite
import polars as pl
from adbc_driver_manager import AdbcConnection, AdbcStatement

from policyengine.atomic import remove_stale, scratch_folder
from policyengine.errors import PolicyEngineError

TABLE = "staged"

FOLDER = "policyengine-stage"
"""The name the staging folders of runs are made beside (in the system's temporary folder)."""


def _ingest(frame: pl.DataFrame, path: Path, mode: str) -> None:
    database = adbc_driver_sqlite.connect(str(path))
    try:
        connection = AdbcConnection(database)
        try:
            statement = AdbcStatement(connection)
            try:
                for pragma in ("PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF"):
                    statement.set_sql_query(pragma)
                    statement.execute_update()
                statement.set_options(**{"adbc.ingest.target_table": TABLE, "adbc.ingest.mode": mode})
                statement.bind_stream(frame)
                statement.execute_update()
            finally:
                statement.close()
        finally:
            connection.close()
    finally:
        database.close()


class Direct:
    """A SQLite store's file written by the ADBC driver itself, a chunk a transaction (`append`), for a store
    nothing else in this process holds open meanwhile (`Store.exclusive`; its pool is emptied first): the two
    builds of SQLite still never hold the file open at once. Other processes may write the file too: SQLite's
    file locks are shared by every build, and a busy file is waited for (60 s)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._database = adbc_driver_sqlite.connect(str(path))
            self._connection = AdbcConnection(self._database)
            statement = AdbcStatement(self._connection)
            try:
                for pragma in ("PRAGMA busy_timeout = 60000", "PRAGMA synchronous = NORMAL",
                               "PRAGMA cache_size = -65536"):
                    statement.set_sql_query(pragma)
                    statement.execute_update()
            finally:
                statement.close()
            self._connection.set_autocommit(False)
        except adbc_driver_manager.Error as exc:
            raise _failed(f"cannot write the store {path}", exc) from None

    def append(self, frame: pl.DataFrame, table: str) -> None:
        """`frame`'s rows added to `table` (its columns by name) in one transaction: all of them, or none."""
        statement = AdbcStatement(self._connection)
        try:
            statement.set_options(**{"adbc.ingest.target_table": table, "adbc.ingest.mode": "adbc.ingest.mode.append"})
            statement.bind_stream(frame)
            statement.execute_update()
            self._connection.commit()
        except adbc_driver_manager.Error as exc:
            with contextlib.suppress(adbc_driver_manager.Error):
                self._connection.rollback()
            raise _failed(f"cannot write the store {self.path}", exc) from None
        finally:
            statement.close()

    def close(self) -> None:
        with contextlib.suppress(adbc_driver_manager.Error):
            self._connection.close()
            self._database.close()


def _failed(what: str, exc: Exception) -> PolicyEngineError:
    return PolicyEngineError(f"{what}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")


class Staging:
    """The staged files of one run's chunks, in `folder`: `take` one (a free one, else a new one), `stage` a
    chunk into it, copy it, `give_back` it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._free: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._made = itertools.count()

    def take(self) -> Path:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return self.folder / f"chunk-{next(self._made)}.db"

    def give_back(self, path: Path) -> None:
        self._free.put(path)


def stage(frame: pl.DataFrame, path: Path) -> Path:
    """`frame`'s rows as the table `TABLE` of the SQLite file at `path` (made, or its table replaced; the
    columns' types INTEGER, TEXT, BLOB as polars' Int64, String, Binary)."""
    mode = "adbc.ingest.mode.replace" if path.exists() else "adbc.ingest.mode.create"
    try:
        _ingest(frame, path, mode)
    except adbc_driver_manager.Error as exc:   # a full disk, a folder that cannot be written
        raise _failed(f"cannot stage decisions for the store in {path.parent}", exc) from None
    return path


@contextlib.contextmanager
def folder() -> Iterator[Staging]:
    """A run's staged files, in a private folder of the system's temporary folder removed when the block ends;
    the folders that runs killed before left there are removed first."""
    target = Path(tempfile.gettempdir()) / FOLDER
    remove_stale(target)
    with scratch_folder(target) as path:
        yield Staging(path)
