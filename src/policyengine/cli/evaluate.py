"""`policyengine evaluate`: one applicant from a JSON or YAML facts file."""

from __future__ import annotations

from pathlib import Path

import click

from policyengine.cli.common import load_packages, package_option
from policyengine.facts.factsfile import read_facts_file

__all__ = ["evaluate_command", "read_facts_file"]


@click.command("evaluate")
@click.argument("facts_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@package_option()
@click.option("--version", "version", default=None, help="Force this version instead of the application year's.")
@click.option("--backend", type=click.Choice(["interpreter", "rete"]), default=None,
              help="Evaluator (default: rete where durable_rules is available, else the interpreter).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision (its audit record) as JSON.")
def evaluate_command(facts_file: Path, packages: tuple[str, ...], version: str | None, backend: str | None,
                     as_json: bool) -> None:
    """Decide one applicant from a JSON/YAML file of facts (names or Chinese labels)."""
    from policyengine.decide.evaluate import evaluate

    decision = evaluate(load_packages(packages), read_facts_file(facts_file), version=version, backend=backend)
    if as_json:
        click.echo(decision.model_dump_json(indent=2))
        return
    for p in decision.packages:
        click.echo(f"{p.package}@{p.version or '-'}: {p.status}" + (f" — {p.reason}" if p.reason else ""))
        for c in p.clauses:
            detail = c.formula if c.status == "eligible" else c.reason
            click.echo(f"  {c.clause} {c.title:<16} {c.status:<12} {c.amount:>9}  {detail or ''}")
            for s in c.settlement:
                click.echo(f"  {'':<3} {'':<16} {'':<12} {'':>9}  {s}")
        click.echo(f"  total {p.total}")
    click.echo(f"total {decision.total}")
