"""Loading rule packages: a package folder (holding version folders) or one version folder → `Package`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from policyengine.errors import RuleError
from policyengine.model.builder import RULE_SUFFIXES, VersionBuilder
from policyengine.model.policy import Package, PolicyVersion

__all__ = ["RULE_SUFFIXES", "WindowProblem", "load_package", "split_ref", "window_problems"]


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


@dataclass(frozen=True)
class WindowProblem:
    """Two versions of one package, next to each other by first year, whose application years overlap or
    leave a gap between them."""

    kind: Literal["overlap", "gap"]
    earlier: PolicyVersion
    later: PolicyVersion

    @property
    def message(self) -> str:
        a, b = self.earlier, self.later
        start = b.meta.effective.from_year
        if self.kind == "overlap":
            return (f"versions {a.version} ({a.years_text()}) and {b.version} ({b.years_text()}) both govern "
                    f"application year {start}: an application year must pick one version; {self.fix}")
        end = a.meta.effective.to_year
        assert end is not None  # a gap needs an end
        years = f"year {end + 1}" if end + 2 == start else f"years {end + 1}–{start - 1}"
        return f"no version governs application {years} (version {a.version} ends {end}, {b.version} starts {start})"

    @property
    def fix(self) -> str:
        """The edit that removes the overlap, in the words of the rule file (`give 3.0 "to: 2022"`)."""
        a, b = self.earlier, self.later
        start, first = b.meta.effective.from_year, a.meta.effective.from_year
        if start > first:
            return (f'to end {a.version} where {b.version} begins, give {a.version} "to: {start - 1}" '
                    f"(effective: {{from: {first}, to: {start - 1}}})")
        end = a.meta.effective.to_year
        later = f'"from: {end + 1}"' if end is not None else 'a later "from:"'
        return f"both begin in {start}: give {b.version} {later}, or remove one of them"


def window_problems(versions: Sequence[PolicyVersion]) -> list[WindowProblem]:
    """Versions (of one package) whose application years overlap, or leave years no version governs."""
    out = []
    ordered = sorted(versions, key=lambda v: (v.meta.effective.from_year, v.version))
    for a, b in itertools.pairwise(ordered):
        end, start = a.meta.effective.to_year, b.meta.effective.from_year
        if end is None or end >= start:
            out.append(WindowProblem("overlap", a, b))
        elif end + 1 < start:
            out.append(WindowProblem("gap", a, b))
    return out


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
    for problem in window_problems(versions):
        if problem.kind == "overlap":
            raise RuleError(f"the versions' application years overlap: {problem.message}", file=folder)
    return Package(versions[0].package_id, tuple(versions), folder)
