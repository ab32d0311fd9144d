"""Rule snapshots: the source of one package version, stored once per content hash, and rebuilt from it.

A snapshot is the text of every rule file of the version folder plus the fact catalogue(s) it reads
(`facts_catalog:`), with their paths relative to the folder holding them all. Rebuilding writes them into a
temporary folder and builds the version exactly as `load_package` does; the rebuilt version's content hash must
be the snapshot's, or the snapshot is refused.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import zlib
from pathlib import Path

import yaml

from policyengine.errors import PolicyEngineError
from policyengine.model.builder import RULE_SUFFIXES
from policyengine.model.loader import load_package
from policyengine.model.policy import Package, PolicyVersion

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where it is built in (the pure-Python one takes a noticeable part of a run)."""


def _catalogues(folder: Path) -> list[Path]:
    out = []
    for f in sorted(folder.iterdir()):
        if f.suffix in RULE_SUFFIXES and f.is_file():
            data = yaml.load(f.read_text(encoding="utf-8"), Loader=_SAFE)
            if isinstance(data, dict) and isinstance(data.get("facts_catalog"), str):
                out.append((folder / data["facts_catalog"]).resolve())
    return out


def capture(version: PolicyVersion) -> bytes:
    """The snapshot of `version` (loaded from its folder), compressed."""
    folder = Path(version.source).resolve()
    files = [f for f in sorted(folder.iterdir()) if f.suffix in RULE_SUFFIXES and f.is_file()]
    paths = files + _catalogues(folder)
    root = Path(os.path.commonpath([str(p.parent) for p in paths]))
    data = {"root": folder.relative_to(root).as_posix() if folder != root else ".",
            "files": {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in paths}}
    return zlib.compress(json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8"), 9)


@functools.lru_cache(maxsize=64)
def rebuild(content_hash: str, blob: bytes) -> PolicyVersion:
    """The version a snapshot holds; refuses a snapshot that does not rebuild to `content_hash`."""
    try:
        data = json.loads(zlib.decompress(blob).decode("utf-8"))
        files: dict[str, str] = data["files"]
        root_rel: str = data["root"]
    except (zlib.error, ValueError, KeyError, TypeError) as exc:
        raise PolicyEngineError(f"snapshot {content_hash}: unreadable ({exc})") from None
    with tempfile.TemporaryDirectory(prefix="policyengine-snapshot-") as tmp:
        base = Path(tmp) / "s"
        for rel, body in files.items():
            target = (base / rel).resolve()
            if not target.is_relative_to(base.resolve()):
                raise PolicyEngineError(f"snapshot {content_hash}: a path leaves its folder: {rel}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        version = load_package(base / root_rel).versions[0]
    if version.content_hash != content_hash:
        raise PolicyEngineError(f"snapshot {content_hash}: rebuilds to {version.content_hash}, not its own hash")
    return version


def package_of(versions: list[PolicyVersion]) -> Package:
    """The versions of one package as a `Package` (ordered by the years they are in force)."""
    ordered = tuple(sorted(versions, key=lambda v: v.meta.effective.from_year))
    return Package(ordered[0].package_id, ordered, ordered[0].source)
