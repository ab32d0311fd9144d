"""`policyengine replay FILE.jsonl`: replay every audit record of a file (see docs/cli-score.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from policyengine.cli.common import load_packages
from policyengine.errors import PolicyEngineError


@click.command("replay")
@click.argument("records", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--package", "packages", multiple=True, metavar="DIR",
              help="Replay under this rule package (repeatable); default: for each record the rules folder it "
                   "names, else the bundled package.")
def replay_command(records: Path, packages: tuple[str, ...]) -> None:
    """Replay every audit record of RECORDS (JSON Lines: `score --audit`'s compact records, or full decision
    records, `Decision.audit_record()`, one a line): re-evaluate its facts under its rules and check that the
    outcome is the recorded one. Each difference (a clause's status or amount, a total, the facts hash, rules
    changed since) is printed with its line; exit 1 if any record differs."""
    from policyengine.batch.audit import is_compact, named_packages
    from policyengine.decide.evaluate import ReplayResult, replay

    given = load_packages(packages) if packages else None
    loaded: dict[str, Any] = {}
    count = bad = 0
    try:
        with records.open(encoding="utf-8") as fh:
            for number, text in enumerate(fh, 1):
                if not text.strip():
                    continue
                count += 1
                where = f"{records.name} line {number}"
                try:
                    pkgs = given
                    if pkgs is None and is_compact(text):   # the rules of a run's records, loaded once
                        key, load = named_packages(json.loads(text))
                        if key not in loaded:
                            loaded[key] = load()
                        pkgs, problems = loaded[key]
                        if problems:
                            raise PolicyEngineError("; ".join(problems))
                    result: ReplayResult = replay(text, pkgs)
                except (PolicyEngineError, ValueError, KeyError, TypeError, AttributeError) as exc:
                    result = ReplayResult(False, [str(exc).splitlines()[0] if str(exc) else type(exc).__name__])
                if not result.ok:
                    bad += 1
                    for d in result.differences:
                        click.echo(f"{where}: {d}")
    except UnicodeDecodeError as exc:
        raise PolicyEngineError(f"{records}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if bad:
        click.echo(f"{count} 条记录中 {bad} 条复核不一致 {bad} of {count} records differ from their replay")
        sys.exit(1)
    click.echo(f"{count} 条记录复核一致 {count} records replayed, each gives its recorded outcome")
