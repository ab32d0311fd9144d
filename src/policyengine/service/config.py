"""`ServiceConfig`: what `policyengine serve` was given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policyengine.model.policy import Package

UPLOAD_LIMIT = 50 * 1024 * 1024
"""The largest spreadsheet `POST /v1/jobs` accepts, in bytes, unless `serve --max-upload` says otherwise."""
BATCH_LIMIT = 10_000
"""The most applicants one `POST /v1/evaluate/batch` request may carry."""
EVALUATE_BODY_LIMIT = 1024 * 1024
"""The largest request body `POST /v1/evaluate` reads, in bytes (one applicant's facts take a few KB)."""
BATCH_BODY_LIMIT = 32 * 1024 * 1024
"""The largest request body `POST /v1/evaluate/batch` reads, in bytes (10,000 applicants take about 11 MB)."""


@dataclass
class ServiceConfig:
    """The service's settings. `packages`: loaded and compiled once at start. `store`: a decision-store URL
    (None: a store in a temporary folder, kept only while the service runs). `tokens`: the token file."""

    packages: Sequence[Package]
    tokens: Path
    store: str | None = None
    backend: str = "interpreter"
    """The evaluator of `POST /v1/evaluate`: interpreter, or rete (durable_rules; its engine calls are
    serialised by one lock per process, `engines.rete.driver.ENGINE_LOCK`)."""
    record: bool = True
    """Whether `POST /v1/evaluate` records each decision in the store (`serve --no-record`: not, and its
    `decision_id` is null; batches and jobs are always recorded)."""
    upload_limit: int = UPLOAD_LIMIT
    batch_limit: int = BATCH_LIMIT
    evaluate_body_limit: int = EVALUATE_BODY_LIMIT
    batch_body_limit: int = BATCH_BODY_LIMIT
    work_dir: Path | None = None
    """Where uploaded spreadsheets and job results are kept (None: a temporary folder)."""
    extra: dict[str, str] = field(default_factory=dict)
