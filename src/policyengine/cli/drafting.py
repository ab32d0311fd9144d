"""The drafter's commands: `test`, `check`, `lint`, `diff`, `explain`.

The work is done in `policyengine.drafting`; these commands parse arguments, print, and set the exit status.
"""

from __future__ import annotations

import sys

import click

from ..drafting.check import Budget, check_version, report_lines
from ..drafting.lint_rules import lint_version, lint_windows
from ..drafting.testrun import failure_lines, run_version
from ..errors import RuleError, RuleErrors
from ..loader import RULE_SUFFIXES, load_package, split_ref
from ..policy import PolicyVersion


@click.command("test")
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_DIR[@VERSION]...")
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
@click.option("-k", "select", default=None, metavar="TEXT", help="Only the cases whose name contains TEXT.")
def test_command(packages: tuple[str, ...], verbose: bool, select: str | None) -> None:
    """Run the test cases written in the packages (every version, or DIR@VERSION for one); exit 1 if any fails.

    A failing case shows, per clause, what the drafter expected and what the rules gave, with the conditions,
    values and amount computation that produced it.
    """
    outcomes = []
    for ref in packages:
        for version in load_package(ref).versions:
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
    click.echo("")
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
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
    an applicant row (Chinese headers) and the trace; exit 1 if any invariant is violated.
    """
    budget = Budget.scaled(max_examples, seed)
    bad = 0
    for ref in packages:
        for version in load_package(ref).versions:
            report = check_version(version, budget)
            for line in report_lines(report):
                click.echo(line)
            bad += len(report.findings)
    click.echo(f"{bad} violation{'s' if bad != 1 else ''} found" if bad else "no violations found")
    if bad:
        sys.exit(1)


def _versions_for_lint(ref: str) -> list[PolicyVersion]:
    """The versions `ref` names, each version folder loaded on its own (so that lint, not the loader, reports
    overlapping windows, with file and line); load errors of every version are raised together."""
    folder, only = split_ref(ref)
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
                     and any(f.suffix in RULE_SUFFIXES for f in p.iterdir() if f.is_file())) \
        if folder.is_dir() and only is None else []
    if not subdirs or any(f.suffix in RULE_SUFFIXES for f in folder.iterdir() if f.is_file()):
        return list(load_package(ref).versions)
    versions: list[PolicyVersion] = []
    errors: list[RuleError] = []
    for d in subdirs:
        try:
            versions += load_package(d).versions
        except RuleErrors as exc:
            errors += exc.errors
        except RuleError as exc:
            errors.append(exc)
    if errors:
        raise RuleErrors(errors)
    return versions


@click.command("lint")
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_DIR[@VERSION]...")
def lint_command(packages: tuple[str, ...]) -> None:
    """Load and check rule packages: load errors (file:line, exit 2), then unknown and unused facts, clauses
    that can never be eligible, overlapping or gapped versions, groups whose members never meet.

    Findings are printed as file:line: severity: message; only errors make the exit status non-zero (1).
    """
    counts = {"error": 0, "warning": 0, "info": 0}
    for ref in packages:
        versions = _versions_for_lint(ref)
        for v in versions:
            found = lint_version(v)
            errors = sum(f.severity == "error" for f in found)
            state = "ok" if not errors else f"{errors} error{'s' if errors != 1 else ''}"
            click.echo(f"{v.key}: {state} ({len(v.clauses)} clauses, {len(v.facts)} facts, {len(v.tests)} test "
                       f"cases, {len(v.invariants)} invariants; application years {v.years_text()})")
            for f in found:
                click.echo(f"  {f.render()}")
                counts[f.severity] += 1
        if len(versions) > 1:
            for f in lint_windows(versions):
                click.echo(f"{versions[0].package_id}: {f.render()}")
                counts[f.severity] += 1
    click.echo(", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in counts.items()))
    if counts["error"]:
        sys.exit(1)
