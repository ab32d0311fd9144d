"""`policyengine schema`, `lint` and `test`: commands about rule packages themselves."""

from __future__ import annotations

import json
import sys

import click

from ..loader import load_package
from ..rulefile import rule_format_json_schema
from ..testcases import run_cases


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the rule-file format (for editors)."""
    click.echo(json.dumps(rule_format_json_schema(), ensure_ascii=False, indent=2))


@click.command("lint")
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_DIR[@VERSION]...")
def lint_command(packages: tuple[str, ...]) -> None:
    """Load and validate rule packages; every problem is one line with file:line and key."""
    for ref in packages:
        pkg = load_package(ref)
        for v in pkg.versions:
            click.echo(f"{v.key}: ok ({len(v.clauses)} clauses, {len(v.facts)} facts, {len(v.tests)} test cases, "
                       f"{len(v.invariants)} invariants; application years {v.years_text()})")


@click.command("test")
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_DIR[@VERSION]...")
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
def test_command(packages: tuple[str, ...], verbose: bool) -> None:
    """Run the test cases written in the packages; exit 1 if any fails."""
    passed = failed = 0
    for ref in packages:
        for version in load_package(ref).versions:
            for result in run_cases(version):
                if result.passed:
                    passed += 1
                    if verbose:
                        click.echo(f"PASSED {version.key} :: {result.case.name}")
                    continue
                failed += 1
                click.echo(f"FAILED {version.key} :: {result.case.name}")
                for line in result.failures:
                    click.echo(f"    {line}")
    click.echo(f"{passed} passed, {failed} failed")
    if failed:
        sys.exit(1)
