"""What every command shares: the group, one-line errors, package arguments."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from policyengine import __version__
from policyengine.errors import PolicyEngineError, RuleErrors
from policyengine.interrupts import SIGINT_STATUS, SIGTERM_STATUS, Terminated, on_sigterm

if TYPE_CHECKING:
    from policyengine.model.policy import Package

F = TypeVar("F", bound=Callable[..., Any])


POLARS_ALLOCATOR = "dirty_decay_ms:30000,muzzy_decay_ms:30000"
"""polars' allocator (jemalloc) keeps freed pages 30 s before giving them back, instead of the 0.5 s (1 s) polars
sets for itself when it loads: a command's big, short-lived text blocks (the store's and the audit file's) then
reuse pages already mapped rather than fault in new ones (`score --store` at a million rows: about 0.8 s less
kernel time, 5% less wall time on two cores; plain `score` unchanged)."""


def _tune_allocator() -> None:
    """Set `POLARS_ALLOCATOR` for this process, unless polars is already loaded (the setting is read once, when
    it loads) or the environment already says otherwise."""
    if "polars" not in sys.modules:
        os.environ.setdefault("_RJEM_MALLOC_CONF", POLARS_ALLOCATOR)


class _Group(click.Group):
    """Turns the library's errors into one clear line on stderr and exit status 2 (never a traceback); Ctrl-C
    (SIGINT) and SIGTERM into one line and exit status 130 and 143, after every `finally` has cleaned up."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole first paragraph, wrapped (click would cut it at the line's width)."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            text = cmd.short_help or (cmd.help or "").split("\n\n")[0]
            rows.append((name, " ".join(text.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        _tune_allocator()
        try:
            with on_sigterm():
                return super().invoke(ctx)
        except RuleErrors as exc:
            for e in exc.errors:
                click.echo(f"error: {e.render()}", err=True)
            sys.exit(2)
        except (PolicyEngineError, FileNotFoundError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(SIGINT_STATUS)
        except Terminated:
            click.echo("terminated", err=True)
            sys.exit(SIGTERM_STATUS)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(__version__, prog_name="policyengine")
def main() -> None:
    """policyengine: subsidy policies as rule files, evaluated into audited payout decisions."""


def load_packages(refs: Sequence[str]) -> list[Package]:
    """Packages named by `DIR` or `DIR@VERSION`; every bundled package when none are named."""
    from policyengine.model.bundled import load_bundled
    from policyengine.model.loader import load_package

    if not refs:
        return load_bundled()
    return [load_package(r) for r in refs]


def package_option() -> Callable[[F], F]:
    return click.option("--package", "packages", multiple=True, metavar="DIR[@VERSION]",
                        help="Rule package folder (repeatable); default: every bundled package.")


def applicant_facts(facts_file: Path, row: int | None, encoding: str | None, packages: Sequence[Package],
                    ) -> tuple[dict[str, Any], str]:
    """One applicant's raw facts, from a JSON/YAML facts file or (with `row`) a spreadsheet row, and the words
    that name where they came from (`FILE`, `NAME row N`)."""
    from policyengine.batch.read import map_headers
    from policyengine.decide.evaluate import fact_index
    from policyengine.drafting.population import read_sheet
    from policyengine.facts.factsfile import read_facts_file

    if row is None:
        if facts_file.suffix.lower() in (".csv", ".xlsx"):
            raise PolicyEngineError(f"{facts_file}: a spreadsheet needs --row N (the header is row 1)")
        return dict(read_facts_file(facts_file)), str(facts_file)
    sheet = read_sheet(facts_file, encoding)
    try:
        line = sheet.row(row)
    except LookupError as exc:
        raise PolicyEngineError(str(exc.args[0])) from None
    columns = map_headers(sheet.headers, fact_index(packages), [], []).facts
    return {name: line.values[i] for name, i in columns.items()}, f"{facts_file.name} row {row}"
