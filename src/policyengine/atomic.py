"""Writing output files atomically: temporary files beside the targets, moved onto them only on success.

No reader ever sees a half-written file, and a failed or interrupted run leaves the previous files (or none)
in place. The files get the permissions an ordinary `open()` would give them (0666 less the umask).

Temporary names say whose they are: `.<target name>.<pid>.<token>.part` for a file being written, and
`.<target name>.<pid>.<token>.tmp` for a private folder given to a library for its own temporary files
(xlsxwriter's), both beside the target. The process holds an advisory lock (`flock`) on each while it
lives. `remove_stale(target)` removes such leftovers of `target` (after a SIGKILL, a power cut) when it can
prove that their run has ended: the lock is free, or the file system has no locks, and no process with that
pid is alive (or the pid is this process's own and the token is not one of its live files).

`OutputSet` is the files of one run: every one is written under its temporary name, and `commit()` moves
them all into place in one final step, in the order given, with SIGINT and SIGTERM held back meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from policyengine.errors import PolicyEngineError
from policyengine.interrupts import deferred

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no locks, and no pid is ever proven gone there
    fcntl = None  # type: ignore[assignment]


class OutputError(PolicyEngineError):
    """An output file cannot be written."""


_TEMP = re.compile(r"\.(?P<pid>[0-9]{1,10})\.(?P<token>[0-9a-f]{16})\.(?P<kind>part|tmp)")
_LIVE: set[str] = set()  # tokens of this process's temporary files that still exist


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _folder(target: Path) -> Path:
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{target}: the folder {folder} does not exist")
    return folder


def _temp_path(target: Path, token: str, kind: str = "part") -> Path:
    """`.<target name>.<pid>.<token>.<kind>` beside `target`."""
    return target.with_name(f".{target.name}.{os.getpid()}.{token}.{kind}")


class _Claim:
    """A temporary file or folder this process made, locked for as long as it exists."""

    def __init__(self, target: Path, kind: str) -> None:
        _folder(target)
        self.token = secrets.token_hex(8)
        self.path = _temp_path(target, self.token, kind)
        _LIVE.add(self.token)   # before the file exists, so that this process's remove_stale never takes it
        try:
            if kind == "part":
                self._fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            else:
                os.mkdir(self.path, 0o700)
                self._fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            _LIVE.discard(self.token)
            raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None
        except BaseException:
            _LIVE.discard(self.token)
            raise
        with contextlib.suppress(OSError):   # no locks on this file system: the pid alone will tell
            _try_lock(self._fd)

    def remove(self) -> None:
        """Remove the file or folder (if still there) and let go of it."""
        try:
            if self.path.is_dir() and not self.path.is_symlink():
                shutil.rmtree(self.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
        finally:
            self.release()

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            _LIVE.discard(self.token)


def _try_lock(fd: int) -> None:
    """Take the lock on `fd` or raise: `BlockingIOError` if another holds it, `OSError` if there are no locks."""
    if fcntl is None:  # pragma: no cover
        raise OSError("no file locks here")
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True      # someone else's process, or a number this system cannot check: keep its files
    return True


def _owner_gone(path: Path, pid: int, token: str) -> bool:
    """Whether the run that made `path` has certainly ended (see the module's docstring)."""
    mine = pid == os.getpid()
    if (mine and token in _LIVE) or (not mine and _pid_alive(pid)):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        _try_lock(fd)
    except BlockingIOError:
        return False          # held: its run is alive (on this machine or another)
    except OSError:
        return True           # no locks here; the pid said the run has ended
    finally:
        os.close(fd)
    return True


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporary files and folders of `target` left by runs that have ended; return them."""
    folder = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}"
    removed: list[Path] = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        m = _TEMP.fullmatch(name[len(prefix):])
        if m is None:
            continue
        path = folder / name
        if not _owner_gone(path, int(m["pid"]), m["token"]):
            continue
        try:
            if m["kind"] == "tmp" and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif m["kind"] == "part" and path.is_file():
                path.unlink()
            else:
                continue
        except OSError:
            continue
        removed.append(path)
    return removed


def _move_into_place(tmp: Path, target: Path) -> None:
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, moved onto it only when the block finishes without an exception."""
    claim = _Claim(target, "part")
    try:
        yield claim.path
        with deferred():
            _move_into_place(claim.path, target)
            claim.release()
    finally:
        claim.remove()


@contextlib.contextmanager
def atomic_text(target: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file opened for writing at a temporary path, moved onto `target` when the block succeeds."""
    with atomic_path(target) as tmp, tmp.open("w", encoding=encoding, newline="") as fh:
        yield fh


@contextlib.contextmanager
def scratch_folder(target: Path) -> Iterator[Path]:
    """A private folder beside `target` for a library's own temporary files, removed when the block ends."""
    claim = _Claim(target, "tmp")
    try:
        yield claim.path
    finally:
        claim.remove()


class OutputSet:
    """The files of one run, written under temporary names and moved onto their targets together.

    `path(target)` gives the temporary path to write `target` to; `commit()` moves every file into place
    in the order the paths were asked for (SIGINT and SIGTERM held back until it is done); leaving the
    `with` block without committing removes them all, and the targets are untouched.
    """

    def __init__(self) -> None:
        self._claims: dict[Path, _Claim] = {}

    def path(self, target: Path) -> Path:
        """The temporary path of `target` in this set (made on the first call)."""
        if target not in self._claims:
            self._claims[target] = _Claim(target, "part")
        return self._claims[target].path

    def commit(self) -> None:
        with deferred():
            for target, claim in self._claims.items():
                try:
                    _move_into_place(claim.path, target)
                except OSError as exc:
                    raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None
                claim.release()

    def discard(self) -> None:
        with deferred():
            for claim in self._claims.values():
                claim.remove()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def same_files(named: Sequence[tuple[str, Path]]) -> tuple[tuple[str, Path], tuple[str, Path]] | None:
    """The first two of `named` (option, path) that name one file, through any spelling: `./a.csv`, `a.csv`,
    a symlink, or (for files that exist) another name of the same file; None when all differ."""
    seen: list[tuple[str, Path, Path]] = []
    for option, path in named:
        resolved = path.expanduser().resolve()
        for other, other_path, other_resolved in seen:
            if resolved == other_resolved or _same_existing(resolved, other_resolved):
                return (other, other_path), (option, path)
        seen.append((option, path, resolved))
    return None


def _same_existing(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
