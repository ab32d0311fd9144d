"""`policyengine score`: a whole spreadsheet of applicants in, one row of decisions per applicant out."""

from __future__ import annotations

import json
from pathlib import Path

import click

from policyengine.cli.common import load_packages, package_option
from policyengine.errors import PolicyEngineError


def _version_choice(values: tuple[str, ...]) -> str | dict[str, str] | None:
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    choice: dict[str, str] = {}
    for v in values:
        pkg, sep, name = v.partition("=")
        if not sep or not pkg or not name:
            raise PolicyEngineError(f"--version {v!r}: write VERSION, or PACKAGE=VERSION once per package")
        choice[pkg] = name
    return choice


def _command_line() -> str:
    """This command line as the store records it: any password in a URL hidden."""
    import shlex
    import sys

    from policyengine.store.url import redact

    return shlex.join(["policyengine", *(redact(a) for a in sys.argv[1:])])


@click.command("score")
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@package_option()
@click.option("--version", "versions", multiple=True, metavar="V|PACKAGE=V",
              help="Force a version (for every package, or PACKAGE=V per package) instead of each row's "
                   "application year.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file: .csv (UTF-8 with BOM) or .xlsx (the clerk's workbook: 结果, 未通过, 汇总, 条款), by "
                   "extension; any other extension is an error.")
@click.option("--rejects", "rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Rejected rows (row, column, value, reason); default: <out stem>.rejects.csv beside --out.")
@click.option("--audit", "audit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one compact audit record (JSON Lines: facts, hashes, outcome) per accepted row, each "
                   "line on its own; `policyengine replay FILE` checks them and re-derives the trace.")
@click.option("--store", "store", default=None, metavar="URL",
              help="Record the run and every decision in a decision store: a file (SQLite) or postgresql://…")
@click.option("--summary", "summary_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the run summary as JSON.")
@click.option("--backend", type=click.Choice(["columnar", "interpreter", "rete"]), default="columnar",
              show_default=True, help="columnar: vectorised; interpreter/rete: evaluate() row by row.")
@click.option("--encoding", default=None, help="CSV encoding (default: detect UTF-8, UTF-8 with BOM, GBK/GB18030).")
@click.option("--labels", type=click.Choice(["zh", "id"]), default=None,
              help="Wording of the output: zh (Chinese headers, 符合/不符合/待补充/不重复享受, reasons as sentences) "
                   "or "
                   "id (the column contract: <pkg>.<clause>.status …). Default: zh for .xlsx, id for .csv.")
@click.option("--advise", "advise", is_flag=True,
              help="Add a column (advise; 最近可达条款 in Chinese) naming per row the nearest clause reachable by "
                   "changing facts the enterprise controls, and the change (z3, each change confirmed by the "
                   "interpreter; 1 s per clause at most; tens of milliseconds a row: for files of moderate size).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary table.")
def score_command(input_file: Path, packages: tuple[str, ...], versions: tuple[str, ...], out: Path,
                  rejects: Path | None, audit: Path | None, store: str | None, summary_file: Path | None,
                  backend: str,
                  encoding: str | None, labels: str | None, advise: bool, quiet: bool) -> None:
    """Score a spreadsheet of applicants (CSV or .xlsx) under one or more rule packages."""
    from policyengine.batch import Job, run
    from policyengine.batch.run import check_outputs
    from policyengine.batch.summary import table_text

    check_outputs(input_file, out, rejects, audit, summary_file)   # before any work
    job = Job(input=input_file, out=out, packages=load_packages(packages), rejects=rejects, audit=audit,
              summary=summary_file, version=_version_choice(versions), backend=backend, encoding=encoding,
              progress=not quiet, store=store, command=_command_line(), labels=labels, advise=advise)
    _, data = run(job)
    if not quiet:
        click.echo(table_text(data))
    elif summary_file is None:
        click.echo(json.dumps(data["rows"]))
