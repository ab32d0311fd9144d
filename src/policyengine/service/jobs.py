"""Spreadsheet jobs: an uploaded CSV or .xlsx scored in the background, as `policyengine score` scores a file.

`POST /v1/jobs` saves the upload in the job's folder (under the service's work folder) and queues it; one
worker thread (`WORKERS`) runs the jobs in turn, so that a large spreadsheet does not take both cores from the
`/v1/evaluate` callers. A job reads the table (`batch.read.read_table`), records a run in the decision store
under the token's user (`Store.begin_run`), scores with the columnar engine (`batch.score.score_table`, whose
progress callback advances `rows_done`), writes the clerk's workbook (.xlsx, Chinese) and the CSV (the column
contract) with `batch.run.write_scored`, stores the decisions (`Store.write_scored`, which completes the run)
and keeps the run summary (`batch.summary.summary`).

A file that cannot be scored (not a spreadsheet, a missing required column, an unreadable encoding) makes the
job `failed` with the reason in English and Chinese; the run, if begun, is recorded as failed. Jobs live in
memory: the newest `KEEP` are kept (older finished ones and their folders are removed).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine.atomic import OutputSet
from policyengine.batch.read import read_table
from policyengine.batch.reasons_zh import short_title
from policyengine.batch.run import write_scored
from policyengine.batch.score import clause_ids, score_table
from policyengine.batch.summary import summary
from policyengine.decide.versions import VersionChoice
from policyengine.errors import PolicyEngineError
from policyengine.model.policy import Package

if TYPE_CHECKING:
    from policyengine.service.state import ServiceState

log = logging.getLogger("policyengine.service")

WORKERS = 1
"""Jobs scored at once. Scoring is columnar (polars uses every core), so one at a time leaves the machine's
other work its share; a second job waits in the queue."""
KEEP = 200
"""Jobs remembered; beyond this the oldest finished job and its files are removed."""
COMMAND = "POST /v1/jobs"
"""The command a job's run is recorded with in the store."""
RESULT_FILES = {"xlsx": "result.xlsx", "csv": "result.csv"}
"""The outputs in a job's folder, by `format`."""
_made = threading.Lock()
"""Held while the job manager is made (two first requests at once make one)."""

_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"required column missing: (.*?); the header row has"), "表格缺少必填列：{0}"),
    (re.compile(r"not valid \S+ text|unknown encoding"),
     "文件编码无法识别：请将 CSV 另存为 UTF-8 或 GBK（GB18030）编码，或上传 .xlsx 工作簿"),
    (re.compile(r"not a text file|not a readable \.xlsx"), "这不是可读取的表格文件：请上传 .xlsx 工作簿或 CSV 文件"),
    (re.compile(r"only \.xlsx and \.csv"), "只能读取 .xlsx 或 .csv 文件：请将表格另存为 .xlsx 或 CSV"),
    (re.compile(r"empty"), "表格为空，或第一行为空：第一行须为表头"),
    (re.compile(r"both give"), "表格中有两列对应同一项数据，请只保留一列"),
    (re.compile(r"header row"), "无法读取表头行"),
]
"""Chinese for the reader's errors a clerk can meet (its messages are English, naming file, row and column)."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def error_zh(message: str) -> str:
    """The Chinese line shown to a clerk for an error a job met (the English detail follows it)."""
    for pattern, zh in _ZH:
        m = pattern.search(message)
        if m is not None:
            return zh.format(*m.groups())
    return "无法完成测算"


@dataclass
class Job:
    """One upload and what became of it. Fields change only under the manager's lock."""

    id: str
    user: str
    file_name: str
    folder: Path
    upload: Path
    upload_sha256: str
    packages: list[Package]
    version: VersionChoice
    created_at: str = field(default_factory=now)
    state: str = "queued"
    stage: str = "queued"
    """queued, reading, scoring, writing, recording, done, failed."""
    rows_total: int | None = None
    rows_done: int = 0
    rows_recorded: int = 0
    started_at: str | None = None
    ended_at: str | None = None
    run_id: int | None = None
    error: str | None = None
    error_zh: str | None = None
    summary: dict[str, Any] | None = None

    def result(self, fmt: str) -> Path:
        return self.folder / RESULT_FILES[fmt]

    def progress(self) -> float:
        """0 to 1: scoring is the first half, storing the decisions the second (as `score --store`'s bar)."""
        if self.state == "done":
            return 1.0
        if not self.rows_total:
            return 0.0
        return min(1.0, (self.rows_done + self.rows_recorded) / (2 * self.rows_total))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "stage": self.stage, "file_name": self.file_name,
                "user": self.user, "created_at": self.created_at, "started_at": self.started_at,
                "ended_at": self.ended_at, "packages": [p.id for p in self.packages],
                "version": self.version, "rows_done": self.rows_done, "rows_total": self.rows_total,
                "rows_recorded": self.rows_recorded, "progress": round(self.progress(), 4),
                "run_id": self.run_id, "error": self.error, "error_zh": self.error_zh,
                "summary": self.summary, "titles": titles(self.packages) if self.summary is not None else None,
                "results": {f: f"/v1/jobs/{self.id}/result?format={f}" for f in RESULT_FILES}
                if self.state == "done" else None}


def titles(packages: Sequence[Package]) -> dict[str, Any]:
    """The Chinese names the page shows beside the summary's ids: each package's short title and each clause's
    `第N条 标题` (as the workbook heads its columns)."""
    out: dict[str, Any] = {}
    for p in packages:
        clauses = {}
        for cid in clause_ids(p):
            c = next(c for v in reversed(p.versions) for c in v.clauses if c.id == cid)
            clauses[cid] = f"第{c.article}条 {c.title}"
        out[p.id] = {"title": short_title(p), "clauses": clauses}
    return out


class JobManager:
    """The service's jobs: queued, run by a small thread pool, kept in memory."""

    def __init__(self, state: ServiceState, workers: int = WORKERS) -> None:
        self._state = state
        assert state.work_dir is not None
        self._root = state.work_dir / "jobs"
        self._root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policyengine-job")

    # -- the routes' side ---------------------------------------------------------------------------------------

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its (empty) folder, for the upload to be saved into."""
        job_id = secrets.token_hex(8)
        folder = self._root / job_id
        folder.mkdir()
        return job_id, folder

    def submit(self, job_id: str, folder: Path, upload: Path, sha256: str, *, user: str, file_name: str,
               packages: Sequence[Package], version: VersionChoice) -> Job:
        """Queue the job whose upload is saved at `upload` (in `folder`; `sha256`: its digest)."""
        job = Job(job_id, user, file_name, folder, upload, sha256, list(packages), version)
        with self._lock:
            self._jobs[job_id] = job
            self._forget_old()
            snapshot = Job(**vars(job))
        self._pool.submit(self._run, job)
        return snapshot

    def get(self, job_id: str, user: str) -> Job | None:
        """The job, if it exists and is `user`'s (a copy, consistent at one moment)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return Job(**vars(job)) if job is not None and job.user == user else None

    def list(self, user: str) -> list[Job]:
        """`user`'s jobs, newest first."""
        with self._lock:
            return [Job(**vars(j)) for j in reversed(self._jobs.values()) if j.user == user]

    def close(self) -> None:
        """Stop taking jobs; queued jobs are dropped, a running one is waited for."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- the worker's side --------------------------------------------------------------------------------------

    def _set(self, job: Job, **changes: Any) -> None:
        with self._lock:
            for k, v in changes.items():
                setattr(job, k, v)

    def _add(self, job: Job, name: str, n: int) -> None:
        with self._lock:
            setattr(job, name, getattr(job, name) + n)

    def _forget_old(self) -> None:
        while len(self._jobs) > KEEP:
            oldest = next((j for j in self._jobs.values() if j.state in ("done", "failed")), None)
            if oldest is None:
                return
            del self._jobs[oldest.id]
            shutil.rmtree(oldest.folder, ignore_errors=True)

    def _run(self, job: Job) -> None:
        store = self._state.store
        self._set(job, state="running", stage="reading", started_at=now())
        run_id: int | None = None
        try:
            table = read_table(job.upload)
            self._set(job, rows_total=table.rows_in, stage="scoring")
            run_id = store.begin_run(job.packages, user=job.user, command=COMMAND, input_name=job.file_name,
                                     input_sha256=job.upload_sha256, backend="columnar",
                                     version_choice=job.version)
            self._set(job, run_id=run_id)
            scored = score_table(table, job.packages, version=job.version,
                                 progress=lambda n: self._add(job, "rows_done", n), keep_cells=True)
            self._set(job, rows_done=table.rows_in, stage="writing")
            with OutputSet() as outputs:
                write_scored(scored, job.result("xlsx"), job.folder / "rejects.csv", outputs, "zh",
                             source=job.file_name)
                write_scored(scored, job.result("csv"), job.folder / "rejects.id.csv", outputs, "id",
                             source=job.file_name)
                outputs.commit()
            self._set(job, stage="recording")
            store.write_scored(run_id, scored, lambda n: self._add(job, "rows_recorded", n))
            run_id = None   # complete
            data = summary(scored, source=job.file_name, output=None, rejects=None, audit=None)
            self._set(job, state="done", stage="done", summary=data, ended_at=now())
        except Exception as exc:   # every failure is the job's, reported on it; the worker lives on
            if not isinstance(exc, PolicyEngineError):
                log.exception("job %s failed", job.id)
            message = self._message(job, exc)
            zh = error_zh(message) if isinstance(exc, PolicyEngineError) else "服务内部错误，测算未完成"
            if run_id is not None:
                with contextlib.suppress(PolicyEngineError):   # the job's own error is the one to report
                    store.finish_run(run_id, status="failed", error=message[:500])
            self._set(job, state="failed", stage="failed", error=message, error_zh=f"{zh}（{job.file_name}）",
                      ended_at=now())
        finally:
            job.upload.unlink(missing_ok=True)

    @staticmethod
    def _message(job: Job, exc: Exception) -> str:
        """The error's one line, naming the uploaded file by its name rather than its place on the server."""
        text = str(exc) if isinstance(exc, PolicyEngineError) else f"internal error ({type(exc).__name__})"
        return text.replace(str(job.upload), job.file_name).replace(str(job.folder), "")


def manager(state: ServiceState) -> JobManager:
    """The service's job manager, made on first use (and closed with the service)."""
    with _made:
        found = state.extensions.get("jobs")
        if found is None:
            found = state.extensions["jobs"] = JobManager(state)
        assert isinstance(found, JobManager)
        return found

