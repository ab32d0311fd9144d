"""One scoring job from files to files: read, score, write the outputs atomically, summarise."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policyengine.batch import audit as audit_records
from policyengine.batch.read import read_table
from policyengine.batch.score import Scored, score_table
from policyengine.batch.summary import summary
from policyengine.batch.write import write_json, write_lines, write_rejects, write_table
from policyengine.decide.versions import VersionChoice
from policyengine.model.policy import Package


@dataclass
class Job:
    """What `policyengine score` was asked to do."""

    input: Path
    out: Path
    packages: Sequence[Package]
    rejects: Path | None = None
    audit: Path | None = None
    summary: Path | None = None
    version: VersionChoice = None
    backend: str = "columnar"
    encoding: str | None = None
    progress: bool = False


def default_rejects_path(out: Path) -> Path:
    """Where rejects go when --rejects is not given: beside the output, `<out stem>.rejects.csv`."""
    return out.with_name(out.stem + ".rejects.csv")


def run(job: Job) -> tuple[Scored, dict[str, Any]]:
    """Score `job.input` and write every output; returns the scoring and its summary."""
    bar = _bar(job.progress)
    table = read_table(job.input, job.encoding)
    if bar is not None:
        bar.reset(total=table.rows_in * (2 if job.audit else 1))
    tick = bar.update if bar is not None else None
    try:
        scored = score_table(table, job.packages, version=job.version, backend=job.backend, progress=tick,
                             keep_cells=job.audit is not None)
        rejects = job.rejects or default_rejects_path(job.out)
        write_table(scored.output, job.out)
        write_rejects(scored.rejects, rejects)
        if job.audit is not None:
            backend = "interpreter" if job.backend == "columnar" else job.backend
            write_lines(audit_records.records(scored, backend, tick), job.audit)
    finally:
        if bar is not None:
            bar.close()
    data = summary(scored, source=str(job.input), output=str(job.out), rejects=str(rejects),
                   audit=str(job.audit) if job.audit else None)
    if job.summary is not None:
        write_json(data, job.summary)
    return scored, data


def _bar(wanted: bool) -> Any:
    if not wanted or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=0, file=sys.stderr, unit="row", unit_scale=True, dynamic_ncols=True, leave=False)
