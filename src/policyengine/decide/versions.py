"""Which version of a package decides an applicant: the one asked for, else the one in force for the
application year. The one place this rule is written; the batch renders the same choice on columns from
`windows` and `no_version_reason`."""

from __future__ import annotations

from collections.abc import Mapping

from policyengine.errors import PolicyEngineError
from policyengine.model.policy import Package, PolicyVersion

VersionChoice = str | Mapping[str, str] | None
"""A version name for every package, a mapping package id → version name, or None (by application year)."""

UNKNOWN_YEAR = "申报年度 (application_year) is unknown, so no version can be chosen"


def forced(package: Package, choice: VersionChoice) -> PolicyVersion | None:
    """The version `choice` names for `package`, or None when it names none; an unknown name is an error."""
    wanted = choice.get(package.id) if isinstance(choice, Mapping) else choice
    if wanted is None:
        return None
    try:
        return package.version(wanted)
    except KeyError as exc:
        raise PolicyEngineError(str(exc.args[0])) from None


def no_version_reason(package: Package, year: int | str) -> str:
    """Why no version applies in `year` (the batch passes the year as a column's text)."""
    return f"no version of {package.id} covers application year {year} (versions: {package.describe_versions()})"


def windows(package: Package) -> list[tuple[PolicyVersion, int, int | None]]:
    """Each version with the first and last application year it governs (None: open-ended), in order; the
    first that covers a year is the one in force."""
    return [(v, v.meta.effective.from_year, v.meta.effective.to_year) for v in package.versions]


def choose(package: Package, year: int | None, choice: VersionChoice) -> PolicyVersion | str:
    """The version to apply, or the reason none applies."""
    wanted = forced(package, choice)
    if wanted is not None:
        return wanted
    if year is None:
        return UNKNOWN_YEAR
    for version, first, last in windows(package):
        if first <= year and (last is None or year <= last):
            return version
    return no_version_reason(package, year)
