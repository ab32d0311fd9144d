"""`policyengine schema`: the rule-file format. (`lint` and `test` live with the drafter's commands, in `drafting`.)"""

from __future__ import annotations

import json

import click


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the rule-file format (for editors)."""
    from policyengine.model.rulefile import rule_format_json_schema

    click.echo(json.dumps(rule_format_json_schema(), ensure_ascii=False, indent=2))
