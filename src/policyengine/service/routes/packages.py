"""`GET /v1/packages`, `GET /v1/packages/{id}`: the packages served, their versions and effective years, every
clause (id, article, title, text, verified) and the facts it reads, as the lowered program says."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request

from policyengine.model.policy import Package, PolicyVersion
from policyengine.service.auth import Reader
from policyengine.service.errors import ServiceError
from policyengine.service.models import ERRORS, ClauseInfo, FactInfo, PackageInfo, VersionInfo
from policyengine.service.state import state_of

router = APIRouter(prefix="/v1", tags=["packages"], responses=ERRORS)


def _version_info(version: PolicyVersion) -> VersionInfo:
    from policyengine.ir.lower import program

    prog = program(version)

    def fact(name: str) -> FactInfo:
        spec = prog.facts[name]
        return FactInfo(id=name, label=spec.label, type=spec.type, unit=spec.unit, values=spec.values,
                        required=spec.required)

    clauses = [ClauseInfo(id=plan.id, article=plan.article, title=plan.title, text=plan.clause.text,
                          verified=plan.clause.verified, facts=[fact(f) for f in plan.reads])
               for plan in prog.clauses]
    meta = version.meta
    return VersionInfo.model_validate({
        "version": meta.version, "title": meta.title, "document_number": meta.document_number,
        "from": meta.effective.from_year, "to": meta.effective.to_year, "verified": meta.verified,
        "applicant_cap": version.applicant_cap, "annual_fund": version.annual_fund,
        "content_hash": version.content_hash, "clauses": clauses})


@functools.lru_cache(maxsize=64)
def package_info(package: Package) -> PackageInfo:
    """The package as the API shows it (built once per package: packages are loaded once and never change)."""
    return PackageInfo(id=package.id, title=package.versions[-1].meta.title,
                       versions=[_version_info(v) for v in package.versions])


@router.get("/packages", response_model=list[PackageInfo], response_model_by_alias=True)
def list_packages(request: Request, _principal: Reader) -> list[PackageInfo]:
    """Every package served, with its versions, clauses and the facts each clause reads."""
    return [package_info(p) for p in state_of(request).packages]


@router.get("/packages/{package_id}", response_model=PackageInfo, response_model_by_alias=True,
            responses={404: {"model": ERRORS[401]["model"], "description": "No such package"}})
def get_package(package_id: str, request: Request, _principal: Reader
                ) -> PackageInfo:
    """One package: its versions (effective years), clauses (id, article, title, text, verified) and the facts
    each clause reads (id, label, type)."""
    state = state_of(request)
    package = state.package(package_id)
    if package is None:
        known = ", ".join(p.id for p in state.packages)
        raise ServiceError(404, "not_found", f"no package {package_id!r} (served: {known})",
                           f"未找到政策包 {package_id}（可用：{known}）")
    return package_info(package)
