"""One scoring job from files to files: read, score, write the outputs atomically, summarise."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policyengine.atomic import OutputError, OutputSet, remove_stale, same_files
from policyengine.batch import audit as audit_records
from policyengine.batch.read import read_table
from policyengine.batch.score import Prepare, Scored, score_table
from policyengine.batch.summary import summary
from policyengine.batch.workbook import default_labels, labelled_output, write_workbook
from policyengine.batch.write import check_extension, write_json, write_rejects, write_table
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
    store: str | None = None
    """A decision store URL (`policyengine.store`): the run and its decisions are recorded there too."""
    command: str | None = None
    """The command line, as the store records it (with any password already hidden)."""
    labels: str | None = None
    """The output's wording: `id` (the column contract) or `zh` (Chinese headers, status words and sentences);
    None: `zh` for .xlsx, `id` for .csv."""
    advise: bool = False
    """Add the `advise` column: per row the nearest clause reachable by changing facts the enterprise controls
    (`policyengine.advice`)."""


def default_rejects_path(out: Path) -> Path:
    """Where rejects go when --rejects is not given: beside the output, `<out stem>.rejects.csv`."""
    return out.with_name(out.stem + ".rejects.csv")


def _outputs(out: Path, rejects: Path | None, audit: Path | None, summary: Path | None) -> list[tuple[str, Path]]:
    """The run's outputs, named by their options, in the order they are moved into place (the summary last)."""
    named = [("--out", out), ("--rejects", rejects) if rejects else ("the rejects file", default_rejects_path(out))]
    if audit is not None:
        named.append(("--audit", audit))
    if summary is not None:
        named.append(("--summary", summary))
    return named


def check_outputs(source: Path, out: Path, rejects: Path | None = None, audit: Path | None = None,
                  summary: Path | None = None) -> None:
    """Refuse, before any work, outputs (or the input and an output) that name one file, by any spelling, and
    outputs that cannot be written where they are named (a missing folder, a folder in the file's place)."""
    named = _outputs(out, rejects, audit, summary)
    for option, path in named[:2]:
        check_extension(path, option)
    clash = same_files([("INPUT", source), *named])
    if clash is not None:
        (first, a), (second, b) = clash
        where = str(a) if str(a) == str(b) else f"{a}, {b}"
        raise OutputError(f"{first} and {second} name the same file ({where}); give each output its own file")
    for option, path in named:
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise OutputError(f"{option} {path}: the folder {folder} does not exist")
        if path.is_dir():
            raise OutputError(f"{option} {path}: is a folder, not a file")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_manifest(files: dict[str, Path]) -> dict[str, Any]:
    """The summary's `run`: the SHA-256 of each other output as written by this run, and an id made of them."""
    sha = {role: _sha256(path) for role, path in files.items()}
    run_id = hashlib.sha256(json.dumps(sha, sort_keys=True).encode("ascii")).hexdigest()[:16]
    return {"id": run_id, "sha256": sha}


def write_scored(scored: Scored, out: Path, rejects: Path, outputs: OutputSet, labels: str, *, source: str,
                 audit: Path | None = None) -> None:
    """The decisions (CSV or the clerk's workbook, by `out`'s extension, in `labels` wording) and the rejects
    file, as files of `outputs` (moved into place when it is committed)."""
    if out.suffix.lower() == ".xlsx":
        sheet_data = summary(scored, source=source, output=str(out), rejects=str(rejects),
                             audit=str(audit) if audit else None)
        write_workbook(scored, sheet_data, out, labels, outputs)
    else:
        write_table(labelled_output(scored, labels), out, outputs)
    write_rejects(scored.rejects, rejects, outputs)


def run(job: Job) -> tuple[Scored, dict[str, Any]]:
    """Score `job.input` and write every output; returns the scoring and its summary.

    The outputs (out, rejects, audit, summary) are written under temporary names and moved into place together
    at the end, the summary last, which records the SHA-256 of the others (`run`): a set that an interruption
    (even SIGKILL) cut in half shows as a mismatch. An exception or interruption before that leaves the
    previous outputs as they were and no temporary file behind; a later run removes the temporary files that
    a killed run left."""
    check_outputs(job.input, job.out, job.rejects, job.audit, job.summary)
    named = _outputs(job.out, job.rejects, job.audit, job.summary)
    for _, target in named:
        remove_stale(target)
    rejects = named[1][1]
    store = None
    if job.store is not None:
        from policyengine.store import open as open_store

        # a bad URL or an unreachable database fails before any work; this run is the store's only user here
        store = open_store(job.store, exclusive=True)
    stored_run: int | None = None
    bar = _bar(job.progress)
    try:
        table = read_table(job.input, job.encoding)
        if store is not None:
            stored_run = store.begin_run(job.packages, command=job.command, input_name=str(job.input),
                                         input_sha256=_sha256(job.input), backend=job.backend,
                                         version_choice=job.version)
        if bar is not None:
            bar.reset(total=table.rows_in * ((2 if store is not None else 1) + job.advise))
        tick = bar.update if bar is not None else None
        labels = job.labels or default_labels(job.out)
        with OutputSet() as outputs:
            # the raw cells are kept where a later step reads them: Chinese sentences, advice (the audit records'
            # and the store's facts text is prepared while the rows are decided, `prepare`)
            scored = score_table(table, job.packages, version=job.version, backend=job.backend, progress=tick,
                                 keep_cells=labels == "zh" or job.advise,
                                 prepare=_prepare(job.audit is not None, store is not None))
            if bar is not None:  # every input row is decided or rejected by now
                bar.update(max(0, table.rows_in - bar.n))
            if job.advise:
                from policyengine.advice.batch import with_advice

                with_advice(scored, labels, tick)
            files = {"output": outputs.path(job.out), "rejects": outputs.path(rejects)}
            if job.audit is not None:
                files["audit"] = outputs.path(job.audit)
            write_scored(scored, job.out, rejects, outputs, labels, source=str(job.input), audit=job.audit)
            if job.audit is not None:
                audit_records.write(scored, job.audit, outputs)
            if store is not None and stored_run is not None:   # complete once the files are in place too
                store.write_scored(stored_run, scored, tick, complete=False)
            data = summary(scored, source=str(job.input), output=str(job.out), rejects=str(rejects),
                           audit=str(job.audit) if job.audit else None)
            if job.summary is not None:
                data["run"] = run_manifest(files)
                write_json(data, job.summary, outputs)
            outputs.commit()
            if store is not None and stored_run is not None:
                store.finish_run(stored_run, status="complete")
                stored_run = None
            if bar is not None:
                bar.update(max(0, bar.total - bar.n))   # ends at 100%
    except BaseException as exc:
        if store is not None and stored_run is not None:   # recorded as failed; its stored rows stay as they are
            store.finish_run(stored_run, status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        if bar is not None:
            bar.close()
        if store is not None:
            store.close()
    return scored, data


def _prepare(audit: bool, store: bool) -> Prepare | None:
    """The facts text to build while the rows are decided: the audit file's, the store's, both or none."""
    return "both" if audit and store else "object" if audit else "positional" if store else None


def _bar(wanted: bool) -> Any:
    if not wanted or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=0, file=sys.stderr, unit="row", unit_scale=True, dynamic_ncols=True, leave=False)
