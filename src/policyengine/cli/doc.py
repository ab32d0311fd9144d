"""`policyengine doc`: a package's clause table as Markdown, generated from its rule files."""

from __future__ import annotations

from pathlib import Path

import click


def _write_atomically(path: Path, text: str) -> None:
    from policyengine.atomic import atomic_text

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_text(path) as fh:
        fh.write(text)


@click.command("doc")
@click.argument("package_dir", metavar="PACKAGE_DIR")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the page to this file (UTF-8) instead of printing it.")
def doc_command(package_dir: str, output: Path | None) -> None:
    """Print PACKAGE_DIR's clauses as a Markdown page: metadata, provenance, clause table, settlement."""
    from policyengine.drafting.clausetable import clause_table_markdown
    from policyengine.model.loader import load_package

    text = clause_table_markdown(load_package(package_dir))
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_atomically(output, text)
        click.echo(f"wrote {output}", err=True)
