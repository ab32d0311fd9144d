"""What the drafter's commands (`lint`, `test`, `check`, `prove`) load: the versions asked for, and what is
wrong with the package as a whole.

`DIR` and `DIR@VERSION` both read every version folder of the package, each on its own, so that the
application years of all its versions are checked (overlapping: error; a gap: warning) however narrowly the
drafter asks. The windows are reported as findings, with file and line, instead of stopping the command: the
drafter editing 4.0 still sees its test results while being told to give 3.0 an end year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from policyengine.drafting import locate
from policyengine.drafting.lint_rules import LintFinding, lint_windows
from policyengine.errors import RuleError, RuleErrors
from policyengine.model.loader import RULE_SUFFIXES, load_package, split_ref
from policyengine.model.policy import PolicyVersion


@dataclass
class Loaded:
    """The versions a reference names, and the package-level findings (about every version of its package)."""

    ref: str
    versions: list[PolicyVersion]
    package_id: str
    findings: list[LintFinding] = field(default_factory=list)

    @property
    def errors(self) -> list[LintFinding]:
        return [f for f in self.findings if f.severity == "error"]

    def lines(self) -> list[str]:
        """The package-level findings as `lint` prints them: `pkg: file:line: severity: message [code]`."""
        return [self.line(f) for f in self.findings]

    def line(self, finding: LintFinding) -> str:
        return f"{self.package_id}: {finding.render()}"

    def unseen(self, seen: set[str]) -> list[LintFinding]:
        """The findings not yet in `seen` (two references to one package report its windows once); adds them."""
        out = [f for f in self.findings if self.line(f) not in seen]
        seen.update(self.line(f) for f in out)
        return out

    def naming(self, version: PolicyVersion) -> list[LintFinding]:
        """The package-level errors that name `version`."""
        return [f for f in self.errors if version.version in f.versions]


def _has_rules(folder: Path) -> bool:
    return any(p.suffix in RULE_SUFFIXES for p in folder.iterdir() if p.is_file())


def _version_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")) and _has_rules(p))


def load_versions(ref: str) -> Loaded:
    """The versions `ref` (`DIR`, `DIR@VERSION`, a version folder or a bundled name) names, with the windows of
    its whole package checked. Load errors of the versions asked for are raised (`RuleErrors`, all together);
    a sibling of `DIR@VERSION` that does not load is a warning (its years could not be checked)."""
    folder, only = split_ref(ref)
    if not folder.is_dir():  # a bundled name: the loader knows where it lives
        package = load_package(folder)
        folder = package.source
    if _has_rules(folder) or not _version_folders(folder):
        versions = list(load_package(ref).versions)
        return Loaded(ref, versions, versions[0].package_id)
    subdirs = _version_folders(folder)
    if only is not None and only not in {d.name for d in subdirs}:
        load_package(ref)  # raises: no such version, naming the versions there are
    loaded: list[PolicyVersion] = []
    errors: list[RuleError] = []
    broken: list[str] = []
    for d in subdirs:
        try:
            loaded += load_package(d).versions
        except (RuleError, RuleErrors) as exc:
            if only is None or d.name == only:
                errors += exc.errors if isinstance(exc, RuleErrors) else [exc]
            else:
                broken.append(d.name)
    if errors:
        raise RuleErrors(errors)
    asked = [v for v in loaded if only is None or v.version == only]
    if only is not None and not asked:  # the folder's name and its version: differ
        load_package(ref)
    out = Loaded(ref, asked, asked[0].package_id, lint_windows(loaded) if len(loaded) > 1 else [])
    for name in broken:
        out.findings.append(LintFinding(
            "warning", "version-not-loaded", f"version {name} does not load (policyengine lint {folder}/{name} "
            "says why), so its application years were not checked against the others",
            locate.key(asked[0], "package", "effective"), (name,)))
    return out
