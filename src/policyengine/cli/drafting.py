"""The drafter's commands: `test`, `check`, `lint`, `diff`, `explain`.

The work is done in `policyengine.drafting`; these commands parse arguments, print, and set the exit status.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from policyengine.cli.common import applicant_facts, load_packages, package_option
from policyengine.drafting.budget import Budget
from policyengine.errors import FactError, PolicyEngineError

if TYPE_CHECKING:
    from policyengine.drafting.load import Loaded
    from policyengine.model.policy import PolicyVersion


@click.command("test")
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_DIR[@VERSION]...")
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
@click.option("-k", "select", default=None, metavar="TEXT", help="Only the cases whose name contains TEXT.")
def test_command(packages: tuple[str, ...], verbose: bool, select: str | None) -> None:
    """Run the test cases written in the packages (every version, or DIR@VERSION for one); exit 1 if any fails.

    A failing case shows, per clause, what the drafter expected and what the rules gave, with the conditions,
    values and amount computation that produced it. Every case is also held to the version's applicant
    invariants (a case that breaks one fails), and a case whose application year the version does not govern is
    warned about. The application years of every version of the package are checked, DIR@VERSION included
    (overlap: error, exit 1; gap: warning).
    """
    from policyengine.drafting.load import load_versions
    from policyengine.drafting.testrun import failure_lines, run_version, warning_lines

    outcomes = []
    package_errors = 0
    seen: set[str] = set()
    for ref in packages:
        loaded = load_versions(ref)
        package_errors += _echo_package(loaded, seen)
        for version in loaded.versions:
            ran = run_version(version, select)
            outcomes += ran
            marks = "".join("." if o.passed else "F" for o in ran)
            click.echo(f"{version.key} ({version.source}) {marks}" if ran else
                       f"{version.key} ({version.source}): no test cases" + (f" matching {select!r}" if select
                                                                              else ""))
            if verbose:
                for o in ran:
                    click.echo(f"{'PASSED' if o.passed else 'FAILED'} {o.title}")
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        click.echo("")
        for line in failure_lines(o):
            click.echo(line)
    warned = warning_lines(outcomes)
    for line in ["", *warned] if warned else []:
        click.echo(line)
    click.echo("")
    warnings = sum(bool(o.warnings) for o in outcomes)
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed"
               + (f", {warnings} with warnings" if warnings else "")
               + _package_summary(package_errors))
    if failed or package_errors:
        sys.exit(1)


@click.command("check")
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_DIR[@VERSION]...")
@click.option("--max-examples", type=click.IntRange(min=1), default=Budget().applicants, show_default=True,
              help="Random applicants hypothesis tries per search (pairs: half; populations: a quarter).")
@click.option("--seed", type=int, default=0, show_default=True, help="The search's seed: the same seed, the same run.")
def check_command(packages: tuple[str, ...], max_examples: int, seed: int) -> None:
    """Search the invariants the packages declare for counterexamples (every version, or DIR@VERSION for one).

    Each clause's corners are tried first, then hypothesis draws applicants from the fact schema, favouring the
    package's own thresholds and their neighbours. A violation is printed with its smallest counterexample as
    an applicant row (Chinese headers) and the trace; exit 1 if any invariant is violated, or if the application
    years of the package's versions overlap (checked on DIR@VERSION too).
    """
    from policyengine.drafting.check import check_version, report_lines
    from policyengine.drafting.load import load_versions

    budget = Budget.scaled(max_examples, seed)
    bad = package_errors = 0
    seen: set[str] = set()
    for ref in packages:
        loaded = load_versions(ref)
        package_errors += _echo_package(loaded, seen)
        for version in loaded.versions:
            report = check_version(version, budget)
            for line in report_lines(report):
                click.echo(line)
            bad += len(report.findings)
    click.echo((f"{bad} violation{'s' if bad != 1 else ''} found" if bad else "no violations found")
               + _package_summary(package_errors))
    if bad or package_errors:
        sys.exit(1)


def _echo_package(loaded: Loaded, seen: set[str]) -> int:
    """Print the package-level findings (windows of every version) not printed yet; the errors among them."""
    found = loaded.unseen(seen)
    for f in found:
        click.echo(loaded.line(f))
    return sum(f.severity == "error" for f in found)


def _package_summary(errors: int) -> str:
    return f"; {errors} package error{'s' if errors != 1 else ''} (above)" if errors else ""


@click.command("lint")
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_DIR[@VERSION]...")
def lint_command(packages: tuple[str, ...]) -> None:
    """Load and check rule packages: load errors (file:line, exit 2), then unknown and unused facts, clauses
    that can never be eligible, overlapping or gapped versions, groups whose members never meet.

    DIR@VERSION lints that version and checks the application years of every version of the package; an
    overlap names the fix (give 3.0 "to: 2022"), and a version it names is not reported ok.

    Findings are printed as file:line: severity: message; only errors make the exit status non-zero (1).
    """
    from policyengine.drafting.lint_rules import lint_version
    from policyengine.drafting.load import load_versions

    counts = {"error": 0, "warning": 0, "info": 0}
    seen: set[str] = set()
    for ref in packages:
        loaded = load_versions(ref)
        for v in loaded.versions:
            found = lint_version(v)
            errors = sum(f.severity == "error" for f in found)
            named = len(loaded.naming(v))
            state = ", ".join([*([f"{errors} error{'s' if errors != 1 else ''}"] if errors else []),
                               *([f"{named} package error{'s' if named != 1 else ''} (below)"] if named else [])])
            click.echo(f"{v.key}: {state or 'ok'} ({len(v.clauses)} clauses, {len(v.facts)} facts, {len(v.tests)} "
                       f"test cases, {len(v.invariants)} invariants; application years {v.years_text()})")
            for f in found:
                click.echo(f"  {f.render()}")
                counts[f.severity] += 1
        for f in loaded.unseen(seen):
            click.echo(loaded.line(f))
            counts[f.severity] += 1
    click.echo(", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in counts.items()))
    if counts["error"]:
        sys.exit(1)


def _one_version(ref: str, what: str) -> PolicyVersion:
    from policyengine.model.loader import load_package

    versions = load_package(ref).versions
    if len(versions) != 1:
        names = ", ".join(v.version for v in versions)
        raise PolicyEngineError(f"{what} {ref} holds versions {names}: name one, as DIR@VERSION")
    return versions[0]


@click.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--population", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Applicants (CSV or .xlsx) to measure the impact on; both versions apply to every row.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML report (charts inline, no network).")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the same numbers as JSON.")
@click.option("--encoding", default=None, help="CSV encoding (default: detect UTF-8, UTF-8 with BOM, GBK/GB18030).")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the largest changes per applicant to list.")
@click.option("--prove", "prove", is_flag=True,
              help="Semantic diff (z3, no population needed): each clause and the total proved the same for every "
                   "applicant, or the smallest applicant row whose decision differs; exit 1 when one differs.")
def diff_command(old: str, new: str, population: Path | None, report_file: Path | None, json_file: Path | None,
                 encoding: str | None, top: int, prove: bool) -> None:
    """Compare two versions: OLD and NEW are DIR@VERSION or two version folders.

    Prints the clauses added, removed and changed, each changed parameter old → new; with --population, what
    each version pays that population (total, per clause, winners and losers, the largest changes per
    applicant and their cause, the effect of the annual fund). With --prove, a semantic diff over every
    applicant (validity windows and settlement included); exit status as diff(1): 0 the same, 1 different (or
    not proved the same within the solver's time), 2 a package does not load.
    """
    from policyengine.atomic import atomic_text
    from policyengine.batch.write import write_json
    from policyengine.drafting.diff import structural_diff, structural_lines
    from policyengine.drafting.impact import impact_lines
    from policyengine.drafting.impact import report as impact_report
    from policyengine.drafting.population import read_sheet
    from policyengine.drafting.report_html import render as render_html

    old_version, new_version = _one_version(old, "OLD"), _one_version(new, "NEW")
    structural = structural_diff(old_version, new_version)
    sheet = read_sheet(population, encoding) if population is not None else None
    data = impact_report(structural, sheet, top=top)
    for line in [*structural_lines(structural), *impact_lines(data)]:
        click.echo(line)
    semantic = None
    if prove:
        from policyengine.prove.semdiff import report_lines, semantic_diff, to_json

        semantic = semantic_diff(old_version, new_version)
        for line in report_lines(semantic):
            click.echo(line)
        data["semantic"] = to_json(semantic)
        labels = {name: spec.label for v in (old_version, new_version) for name, spec in v.facts.items()}
        for item in data["semantic"]:  # the witness in the drafter's words (Chinese labels) for the HTML report
            witness = item.get("witness")
            if isinstance(witness, dict):
                item["witness_labels"] = {name: labels.get(name, name) for name in witness}
    if json_file is not None:
        write_json(data, json_file)
        click.echo(f"wrote {json_file}")
    if report_file is not None:
        with atomic_text(report_file) as fh:
            fh.write(render_html(data))
        click.echo(f"wrote {report_file}")
    if semantic is not None and semantic.differences:
        sys.exit(1)


@click.command("explain")
@click.argument("facts_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--row", type=click.IntRange(min=2), default=None,
              help="The spreadsheet row to explain (the header is row 1); FILE is then a CSV or .xlsx.")
@package_option()
@click.option("--version", "version", default=None, help="Force this version instead of the application year's.")
@click.option("--encoding", default=None, help="CSV encoding (default: detect).")
@click.option("--labels", type=click.Choice(["zh", "id"]), default="zh", show_default=True,
              help="zh: entirely in Chinese (是/否/未填写, 万元, %, settlement as sentences); id: the drafter's "
                   "trace (expressions, fact values and settlement notes as the rules write them).")
def explain_command(facts_file: Path, row: int | None, packages: tuple[str, ...], version: str | None,
                    encoding: str | None, labels: Literal["zh", "id"]) -> None:
    """Explain one applicant: every clause's outcome with its text, the deciding conditions and their values,
    and the amount computed with numbers. FILE is a spreadsheet with --row N, or a JSON/YAML facts file."""
    from policyengine.drafting.explain import explain_lines

    pkgs = load_packages(packages)
    raw, where = applicant_facts(facts_file, row, encoding, pkgs)
    try:
        shown = f"{facts_file.name} 第{row}行" if labels == "zh" and row is not None else where
        lines = explain_lines(pkgs, raw, version, shown, labels)
    except FactError as exc:
        raise PolicyEngineError(f"{where}: cannot be read: {exc}") from None
    for text in lines:
        click.echo(text)
