"""`policyengine advise`: what it would take: for each clause an applicant is not eligible for, the cheapest
change to the facts it can change that makes the clause eligible (z3), confirmed by the reference interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import click

from policyengine.cli.common import applicant_facts, load_packages, package_option
from policyengine.errors import FactError, PolicyEngineError


@click.command("advise")
@click.argument("facts_file", metavar="FACTS_FILE|SHEET", type=click.Path(exists=True, dir_okay=False,
                                                                         path_type=Path))
@click.option("--row", type=click.IntRange(min=2), default=None,
              help="The spreadsheet row to advise (the header is row 1); the file is then a CSV or .xlsx.")
@click.option("--clause", "clause", default=None, metavar="ID", help="Only this clause (e.g. a05).")
@package_option()
@click.option("--encoding", default=None, help="CSV encoding (default: detect).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds the solver may spend on one clause before the answer is `unknown`.")
@click.option("--json", "as_json", is_flag=True, help="Print the advice as JSON.")
def advise_command(facts_file: Path, row: int | None, clause: str | None, packages: tuple[str, ...],
                   encoding: str | None, timeout_s: float, as_json: bool) -> None:
    """What it would take: for each clause the applicant is not eligible for (under the version in force for its
    application year), the cheapest change to the facts it can change (`changeable` in the fact schema) that
    makes it eligible, and what it would then pay; or 无法通过企业可改变的事实达到 (not reachable) with the
    blocking condition; or the unknown facts to supply first. Every change is confirmed by the reference
    interpreter before it is shown. FACTS_FILE is a JSON/YAML facts file, or a spreadsheet with --row N."""
    from policyengine.advice import advise
    from policyengine.advice.text import report_lines, to_json

    pkgs = load_packages(packages)
    raw, where = applicant_facts(facts_file, row, encoding, pkgs)
    try:
        report = advise(pkgs, raw, clause, timeout_s=timeout_s)
    except FactError as exc:
        raise PolicyEngineError(f"{where}: cannot be read: {exc}") from None
    if as_json:
        click.echo(json.dumps(to_json(report), ensure_ascii=False, indent=2))
        return
    for text in report_lines(pkgs, report, where):
        click.echo(text)
