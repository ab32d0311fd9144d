"""Routes: spreadsheet jobs (`POST /v1/jobs`, `GET /v1/jobs`, `GET /v1/jobs/{id}`, `GET /v1/jobs/{id}/result`).

A caller sees only their own jobs (another user's job id is 404, as an unknown one). The result of a job is
404 `not_found` when there is no such job, 409 `job_not_done` while it is queued or running, 409 `job_failed` when it
failed (with its reason), the file once it is done.

The upload (multipart, field `file`) is read as it arrives and written to the job's folder; the size limit
(`ServiceConfig.upload_limit`) is enforced while it streams: a `Content-Length` over the limit is refused before
any byte is read, and a body that grows past it is cut off there (413 `too_large`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import AsyncGenerator
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from policyengine.decide.versions import VersionChoice, forced
from policyengine.errors import PolicyEngineError
from policyengine.model.policy import Package
from policyengine.service.auth import JobRunner, Principal
from policyengine.service.decisions import chosen_packages, not_found_job
from policyengine.service.errors import ServiceError, too_large
from policyengine.service.jobs import Job, manager
from policyengine.service.state import ServiceState, state_of

router = APIRouter(tags=["jobs"])

SLACK = 64 * 1024
"""Bytes a multipart body may carry beyond the file itself (boundaries, part headers, the small fields)."""
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8"}
SAVED_SUFFIXES = (".csv", ".xlsx", ".xls", ".xlsm", ".ods")
"""An upload is saved with its own suffix when it is one of these (the reader goes by it: .xlsx is a workbook,
the others are refused by name), else as .csv (text is read as CSV, or refused for what it holds)."""

_UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "the applicants: CSV or .xlsx"},
            "packages": {"type": "string", "description": "comma-separated package ids (default: all)"},
            "version": {"type": "string",
                        "description": "a version for every package, or a JSON object {package: version} "
                                       "(default: each row's application year chooses)"},
        }}}},
}


def _too_large(limit: int) -> ServiceError:
    return too_large("the upload", "上传的文件", limit)


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body as it arrives, stopped with 413 once it passes `limit` bytes."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit - SLACK)
        yield chunk


def _file_name(upload: UploadFile) -> str:
    name = PurePosixPath((upload.filename or "").replace("\\", "/")).name.strip()
    return name[:200] or "upload.csv"


def _save(upload: UploadFile, target: Path) -> str:
    """Copy the parsed upload into the job's folder; returns its SHA-256."""
    digest = hashlib.sha256()
    upload.file.seek(0)
    with target.open("wb") as out:
        for block in iter(lambda: upload.file.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _packages(state: ServiceState, text: str | None) -> list[Package]:
    """The packages the form's comma-separated ids name (all served when it names none)."""
    if not text or not text.strip():
        return list(state.packages)
    return chosen_packages(state, [t.strip() for t in text.split(",")], None)


def _version(text: str | None, packages: list[Package]) -> VersionChoice:
    if text is None or not text.strip():
        return None
    text = text.strip()
    choice: VersionChoice = text
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ServiceError(422, "bad_version", "version: a version name or a JSON object {package: version}",
                               "版本格式不正确：应为版本名，或 {政策包: 版本} 形式的 JSON")
        choice = data
    try:
        for p in packages:
            forced(p, choice)
    except PolicyEngineError as exc:
        raise ServiceError(422, "unknown_version", f"version: {exc}", f"没有这个政策版本：{exc}") from None
    return choice


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


@router.post("/v1/jobs", status_code=202, openapi_extra={"requestBody": _UPLOAD_BODY},
             summary="Upload a spreadsheet (CSV or .xlsx) to be scored in the background")
async def create_job(request: Request, principal: JobRunner) -> JSONResponse:
    state = state_of(request)
    limit = state.config.upload_limit + SLACK
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(state.config.upload_limit)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ServiceError(415, "not_multipart", "upload the spreadsheet as multipart/form-data, field 'file'",
                           "请以 multipart/form-data 上传表格（字段名 file）")
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=1, max_fields=8)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ServiceError(400, "bad_upload", f"the upload cannot be read: {exc.message}",
                           "无法读取上传内容（multipart 格式不正确）") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ServiceError(422, "no_file", "no file in the upload (multipart field 'file')",
                               "上传内容中没有文件（字段名 file）")
        if upload.size is not None and upload.size > state.config.upload_limit:
            raise _too_large(state.config.upload_limit)
        packages = _packages(state, _field(form, "packages"))
        version = _version(_field(form, "version"), packages)
        jobs = manager(state)
        name = _file_name(upload)
        suffix = PurePosixPath(name).suffix.lower()
        job_id, folder = jobs.new_folder()
        target = folder / ("upload" + (suffix if suffix in SAVED_SUFFIXES else ".csv"))
        try:
            sha256 = await run_in_threadpool(_save, upload, target)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    finally:
        await form.close()
    job = jobs.submit(job_id, folder, target, sha256, user=principal.user, file_name=name, packages=packages,
                      version=version)
    return JSONResponse(job.to_json(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.get("/v1/jobs", summary="The caller's jobs, newest first")
def list_jobs(request: Request, principal: JobRunner) -> list[dict[str, Any]]:
    return [j.to_json() for j in manager(state_of(request)).list(principal.user)]


def _job(request: Request, job_id: str, principal: Principal) -> Job:
    job = manager(state_of(request)).get(job_id, principal.user)
    if job is None:
        raise not_found_job(job_id)
    return job


@router.get("/v1/jobs/{job_id}", summary="A job's state and progress (rows done / total), its summary when done")
def get_job(request: Request, job_id: str, principal: JobRunner) -> dict[str, Any]:
    return _job(request, job_id, principal).to_json()


@router.get("/v1/jobs/{job_id}/result", response_class=FileResponse,
            summary="The clerk's workbook (xlsx) or the CSV of a finished job",
            responses={200: {"content": {MEDIA["xlsx"]: {}, "text/csv": {}}},
                       404: {"description": "no such job"},
                       409: {"description": "the job is not done (job_not_done) or failed (job_failed)"}})
def job_result(request: Request, job_id: str, principal: JobRunner,
               format: Literal["xlsx", "csv"] = "xlsx") -> FileResponse:
    job = _job(request, job_id, principal)
    if job.state == "failed":
        raise ServiceError(409, "job_failed", f"job {job_id} failed: {job.error}",
                           f"任务 {job_id} 未完成测算：{job.error_zh}")
    if job.state != "done":
        raise ServiceError(409, "job_not_done", f"job {job_id} is {job.state}; poll GET /v1/jobs/{job_id}",
                           f"任务 {job_id} 尚未完成，请稍候")
    path = job.result(format)
    return FileResponse(path, media_type=MEDIA[format], filename=f"{PurePosixPath(job.file_name).stem}-测算结果."
                        f"{format}", headers={"Cache-Control": "no-store"})

