"""Writing output files atomically: a temporary file beside the target, moved onto it only on success.

No reader ever sees a half-written file, and a failed run leaves the previous file (or none) in place. The
file gets the permissions an ordinary `open()` would give it (0666 less the umask), not mkstemp's 0600.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from policyengine.errors import PolicyEngineError


class OutputError(PolicyEngineError):
    """An output file cannot be written."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, moved onto it only when the block finishes without an exception."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{target}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    os.close(fd)
    path = Path(tmp)
    try:
        yield path
        os.chmod(path, 0o666 & ~_umask())
        os.replace(path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise


@contextlib.contextmanager
def atomic_text(target: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file opened for writing at a temporary path, moved onto `target` when the block succeeds."""
    with atomic_path(target) as tmp, tmp.open("w", encoding=encoding, newline="") as fh:
        yield fh
