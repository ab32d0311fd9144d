"""`evaluate()`: one applicant, one or more packages → an audited `Decision`; and `replay()`."""

from __future__ import annotations

import functools
import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import metadata
from typing import Any

from policyengine.decide import versions
from policyengine.decide.decision import AuditInfo, Decision, EngineFiring, PackageResult
from policyengine.decide.settlement import prorate_decision, recorded_proration, settle
from policyengine.decide.versions import VersionChoice
from policyengine.engines.base import Backend, audit_of, get_backend
from policyengine.errors import FactError, PolicyEngineError
from policyengine.facts.applicant import FactIndex, Facts, read_facts
from policyengine.facts.values import UNKNOWN
from policyengine.model.policy import Package, PolicyVersion

Packages = Package | PolicyVersion | Sequence[Package | PolicyVersion]


@functools.lru_cache(maxsize=64)
def _single_version_package(version: PolicyVersion) -> Package:
    """The same Package for the same version on every call, so the fact-index cache below is hit."""
    return Package(version.package_id, (version,), version.source)


def _as_packages(packages: Packages) -> list[Package]:
    if type(packages) is list or type(packages) is tuple:
        try:   # the same packages, call after call: checked once
            return list(_checked_packages(tuple(packages)))
        except TypeError:   # an item that is not hashable (and not a package): the error below
            pass
    return _check_packages(packages)


@functools.lru_cache(maxsize=64)
def _checked_packages(items: tuple[Package | PolicyVersion, ...]) -> tuple[Package, ...]:
    return tuple(_check_packages(list(items)))


def _check_packages(packages: Packages) -> list[Package]:
    if isinstance(packages, str):
        raise PolicyEngineError(f"expected a Package, not the text {packages!r}: "
                                f"pass load_package({packages!r})")
    items = [packages] if isinstance(packages, Package | PolicyVersion) else list(packages)
    if not items:
        raise PolicyEngineError("no package given: pass a Package from load_package (for example "
                                "load_package(\"huangzuan16\")), or a list of them")
    out = []
    for p in items:
        if isinstance(p, PolicyVersion):
            out.append(_single_version_package(p))
        elif isinstance(p, Package):
            out.append(p)
        else:
            raise PolicyEngineError(f"expected a Package (from load_package), got {type(p).__name__}")
    ids = [p.id for p in out]
    if len(set(ids)) != len(ids):
        raise PolicyEngineError(f"a package is given twice: {ids}")
    return out


def fact_index(packages: Sequence[Package]) -> FactIndex:
    """One index over the facts of every version of every package."""
    return _fact_index(tuple(packages))


@functools.lru_cache(maxsize=64)
def _fact_index(packages: tuple[Package, ...]) -> FactIndex:
    return FactIndex(spec for p in packages for v in p.versions for spec in v.facts.values())


def applicant_index(packages: Sequence[Package]) -> FactIndex:
    """`fact_index`, and also the other facts of the catalogues the packages name, which `evaluate()` accepts
    and ignores (a service may send every catalogue fact it has, whatever packages it asks about)."""
    return _applicant_index(tuple(packages))


@functools.lru_cache(maxsize=64)
def _applicant_index(packages: tuple[Package, ...]) -> FactIndex:
    return FactIndex((spec for p in packages for v in p.versions for spec in v.facts.values()),
                     (spec for p in packages for v in p.versions for spec in v.catalogue.values()))


@functools.lru_cache(maxsize=1)
def _library_versions() -> tuple[tuple[str, str], ...]:
    out = {"python": platform.python_version()}
    for dist in ("policyengine-subsidy", "pydantic", "lark", "durable-rules"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return tuple(out.items())


def library_versions() -> dict[str, str]:
    """The versions of Python and of the libraries that make a decision (read once per process)."""
    return dict(_library_versions())


def evaluate_version(version: PolicyVersion, facts: Facts, year: int | None, backend: Backend
                     ) -> tuple[PackageResult, list[EngineFiring]]:
    """One package version for one applicant: clause outcomes, then settlement."""
    results, firings = backend.evaluate(version, facts)
    settled, steps = settle(version, results)
    return PackageResult.trusted(
        package=version.package_id, version=version.version, document_number=version.meta.document_number,
        content_hash=version.content_hash, status="evaluated", reason="", application_year=year,
        annual_fund=version.annual_fund, clauses=settled, total=sum(r.amount for r in settled), steps=steps,
    ), firings


@functools.lru_cache(maxsize=256)
def _in_force(package: Package, year: int | None) -> PolicyVersion | str:
    """`versions.choose(package, year, None)`, once per package and year."""
    return versions.choose(package, year, None)


def _year_of(facts: Facts) -> int | None:
    v = facts.values.get("application_year", UNKNOWN)
    return int(v) if isinstance(v, Fraction) else None


def evaluate(packages: Packages, facts: Mapping[str, object] | Facts, *, version: VersionChoice = None,
             backend: str | Backend | None = None, store: Any = None) -> Decision:
    """Decide one applicant under `packages`.

    `facts` maps fact names or Chinese labels to cell text (`"12.5万"`, `"是"`) or typed values; an absent fact
    means what a blank cell means, except a required one (`uscc`, `application_year`), which must be given. A
    fact of the shared catalogue that no package given reads is accepted, ignored and listed in
    `Decision.unused_facts`. The version of each package is the one in force for the applicant's application
    year, unless `version` names one (a version name, or a mapping package id → version name).
    Raises `FactErrors` (a `FactError`) listing every fact that cannot be read or names no fact.
    With `store` (a `policyengine.store.Store`) the decision is also recorded there, as a run of one row.
    """
    pkgs = _as_packages(packages)
    engine = get_backend(backend)
    typed = facts if isinstance(facts, Facts) else read_facts(applicant_index(pkgs), facts, complete=True)
    year = _year_of(typed)
    results: list[PackageResult] = []
    firings: list[EngineFiring] = []
    sources: dict[str, str] = {}
    for package in pkgs:
        chosen = _in_force(package, year) if version is None else versions.choose(package, year, version)
        if isinstance(chosen, str):
            results.append(PackageResult.trusted(
                package=package.id, version=None, document_number=None, content_hash=None,
                status="undetermined" if year is None else "not_in_force", reason=chosen, application_year=year,
                annual_fund=None, clauses=[], total=0, steps=[]))
            continue
        result, fired = evaluate_version(chosen, typed, year, engine)
        results.append(result)
        firings.extend(fired)
        sources[chosen.key] = str(chosen.source)
    name, firings, fallback = audit_of(engine, firings)
    decision = Decision.of_facts(
        typed, application_year=year, packages=results, total=sum(p.total for p in results),
        audit=AuditInfo.trusted(backend=name, library=library_versions(), sources=sources, firings=firings,
                                fallback=fallback))
    if store is not None:
        store.record_decision(decision, pkgs)
    return decision


@dataclass
class ReplayResult:
    """Whether re-evaluating an audit record gives the same decision, and if not, exactly what differs."""

    ok: bool
    differences: list[str] = field(default_factory=list)
    decision: Decision | None = None


def _diff(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new), key=str):
            _diff(old.get(k), new.get(k), f"{path}.{k}" if path else str(k), out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            label = a.get("clause") or a.get("package") if isinstance(a, dict) else None
            _diff(a, b, f"{path}[{label or i}]", out)
    elif old != new:
        out.append(f"{path}: recorded {json.dumps(old, ensure_ascii=False)}, now {json.dumps(new, ensure_ascii=False)}")


def replay(record: str | Mapping[str, Any] | Decision, packages: Packages | None = None) -> ReplayResult:
    """Re-evaluate an audit record and confirm it gives the same decision.

    Without `packages`, each package is loaded from the folder the record names, or else from the bundled
    rules. A package whose content hash differs from the record's is reported, not silently used.
    """
    import contextlib
    from pathlib import Path

    from policyengine.batch.audit import is_compact, replay_compact
    from policyengine.model.bundled import bundled_rules_dir
    from policyengine.model.loader import load_package

    if is_compact(record):  # a batch's compact record (`score --audit`): facts and outcome, no trace
        result: ReplayResult = replay_compact(record, None if packages is None else _as_packages(packages))  # type: ignore[arg-type]
        return result
    if isinstance(record, Decision):
        old = record
    else:
        try:
            old = Decision.model_validate_json(record) if isinstance(record, str) else Decision.model_validate(record)
        except ValueError as exc:
            raise PolicyEngineError(f"not an audit record: {str(exc).splitlines()[0]}") from None
    differences: list[str] = []
    if packages is None:
        loaded = []
        for p in old.packages:
            key = f"{p.package}@{p.version}"
            src = old.audit.sources.get(key)
            try:
                # the record's facts were read against every version of the package (2.0 columns in a 3.0
                # decision): load the package folder holding the recorded version folder, where there is one
                found = None
                if src and Path(src).name == p.version:
                    with contextlib.suppress(PolicyEngineError, OSError):
                        found = load_package(Path(src).parent)
                if found is None or found.id != p.package:
                    found = load_package(src if src else bundled_rules_dir() / p.package)
                loaded.append(found)
            except (PolicyEngineError, FileNotFoundError) as exc:
                return ReplayResult(False, [f"{key}: cannot load the package: {exc}"])
        pkgs = _as_packages(loaded)
    else:
        pkgs = _as_packages(packages)
    by_id = {p.id: p for p in pkgs}
    versions: dict[str, str] = {}
    for p in old.packages:
        if p.version is None:
            continue
        package = by_id.get(p.package)
        if package is None:
            return ReplayResult(False, [f"{p.package}: package not given"])
        try:
            current = package.version(p.version)
        except KeyError as exc:
            return ReplayResult(False, [str(exc.args[0])])
        if current.content_hash != p.content_hash:
            differences.append(f"{p.package}@{p.version}: rules changed since the record "
                               f"(content hash {p.content_hash} → {current.content_hash})")
        versions[p.package] = p.version
    try:
        backend_name = old.audit.backend
        get_backend(backend_name)
    except PolicyEngineError:
        backend_name = "interpreter"
    try:
        # the recorded facts as they are: a record made before required facts had to be given still replays
        recorded = read_facts(applicant_index(pkgs), old.facts)
        new = evaluate(pkgs, recorded, version=versions or None, backend=backend_name)
    except FactError as exc:
        return ReplayResult(False, [f"the recorded facts cannot be read: {exc}"])
    prorated = recorded_proration(old)
    if prorated:  # a batch record: its fund was over-subscribed by the population, as its steps record
        new = prorate_decision(new, prorated)
    _diff(old.outcome(), new.outcome(), "", differences)
    return ReplayResult(not differences, differences, new)
