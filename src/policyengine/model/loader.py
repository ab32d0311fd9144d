"""Loading rule packages: a package folder (holding version folders) or one version folder → `Package`."""

from __future__ import annotations

import itertools
from pathlib import Path

from policyengine.errors import RuleError
from policyengine.model.builder import RULE_SUFFIXES, VersionBuilder
from policyengine.model.policy import Package

__all__ = ["RULE_SUFFIXES", "load_package", "split_ref"]


def _is_version_folder(folder: Path) -> bool:
    return any(p.suffix in RULE_SUFFIXES for p in folder.iterdir() if p.is_file())


def split_ref(ref: str | Path) -> tuple[Path, str | None]:
    """`rules/huangzuan16@3.0` → (Path('rules/huangzuan16'), '3.0')."""
    text = str(ref)
    if "@" in text:
        path, _, version = text.rpartition("@")
        return Path(path), version
    return Path(text), None


def _bundled_folder(folder: Path) -> Path | None:
    """The bundled package folder a bare name (`huangzuan16`) means, if there is one."""
    from policyengine.model.bundled import bundled_package_dirs  # bundled imports this module

    if folder.is_absolute() or len(folder.parts) != 1:
        return None
    try:
        found = [p for p in bundled_package_dirs() if p.name == folder.name]
    except (FileNotFoundError, OSError):
        return None
    return found[0] if found else None


def _bundled_names() -> str:
    from policyengine.model.bundled import bundled_package_dirs

    try:
        return ", ".join(p.name for p in bundled_package_dirs())
    except (FileNotFoundError, OSError):
        return ""


def load_package(path: str | Path) -> Package:
    """Load a package folder (holding version folders) or a single version folder.

    `DIR@VERSION` loads just that version. A bare name that is no folder here (`huangzuan16`,
    `huangzuan16@3.0`) loads the bundled package of that name, from any working directory; a folder that
    exists always wins. Raises `RuleError`/`RuleErrors` naming file, line and key.
    """
    folder, only = split_ref(path)
    if not folder.is_dir():
        bundled = _bundled_folder(folder)
        if bundled is None:
            names = _bundled_names()
            hint = f" (bundled packages, loaded by name: {names})" if names else ""
            raise RuleError(f"no such package folder{hint}", file=folder)
        folder = bundled
    if _is_version_folder(folder):
        versions = [VersionBuilder(folder).build()]
    else:
        subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        if only is not None:
            if not (folder / only).is_dir():
                known = ", ".join(p.name for p in subdirs)
                raise RuleError(f"no version {only!r} in this package (versions: {known})", file=folder)
            subdirs = [folder / only]
        versions = [VersionBuilder(d).build() for d in subdirs if _is_version_folder(d)]
        if not versions:
            raise RuleError("no version folders with rule files in this package", file=folder)
    if only is not None and versions[0].version != only:
        raise RuleError(f"this folder holds version {versions[0].version!r}, not {only!r}", file=folder)
    ids = {v.package_id for v in versions}
    if len(ids) > 1:
        raise RuleError(f"versions disagree on the package id: {sorted(ids)}", file=folder)
    versions.sort(key=lambda v: v.meta.effective.from_year)
    for a, b in itertools.pairwise(versions):
        if a.meta.effective.to_year is None or a.meta.effective.to_year >= b.meta.effective.from_year:
            raise RuleError(f"versions {a.version} ({a.years_text()}) and {b.version} ({b.years_text()}) "
                            "overlap: an application year must pick one version", file=folder)
    return Package(versions[0].package_id, tuple(versions), folder)
