"""`policyengine audit runs|show|verify|export`: reading a decision store (see docs/audit.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from policyengine.errors import PolicyEngineError

F = TypeVar("F", bound=Callable[..., Any])
STATUS_ZH = {"complete": "完成", "running": "运行中", "failed": "失败"}


def _store_option() -> Callable[[F], F]:
    return click.option("--store", "store", required=True, metavar="URL",
                        help="The decision store: a file (SQLite) or postgresql://USER@HOST/DB.")


@click.group("audit")
def audit_group() -> None:
    """The decision store: list runs, explain a stored decision, verify, export."""


@audit_group.command("runs")
@_store_option()
def runs_command(store: str) -> None:
    """List the recorded runs."""
    from policyengine.store import open as open_store

    with open_store(store) as s:
        click.echo("id  status      started                        ended                          user      "
                   "in / decided / rejected  input")
        for r in s.runs():
            counts = f"{r.rows_in if r.rows_in is not None else '-'} / {r.decided if r.decided is not None else '-'}" \
                     f" / {r.rejected if r.rejected is not None else '-'}"
            click.echo(f"{r.id:<3} {r.status + ' ' + STATUS_ZH.get(r.status, ''):<11} {r.started_at:<30} "
                       f"{r.ended_at or '-':<30} {r.user or '-':<9} {counts:<24} {r.input_name or r.command or ''}")


@audit_group.command("show")
@_store_option()
@click.option("--uscc", required=True, help="The applicant's 统一社会信用代码.")
@click.option("--run", "run", type=int, default=None, help="The run (default: the latest run holding the USCC).")
@click.option("--year", "year", type=int, default=None, help="Only decisions of this application year.")
def show_command(store: str, uscc: str, run: int | None, year: int | None) -> None:
    """Explain a stored decision in full, from the store alone (its facts and the run's rule snapshots)."""
    from policyengine.drafting.explain import explain_lines
    from policyengine.store import open as open_store

    with open_store(store) as s:
        found = s.decisions(run=run, uscc=uscc, year=year)
        if not found:
            raise PolicyEngineError(f"no stored decision for {uscc}" + (f" in run {run}" if run else "")
                                    + (f" for {year}" if year else ""))
        stored = found[-1]
        info = s.run(stored.run)
        packages = s.packages(info)
        for text in explain_lines(packages, stored.facts, info.version_choice,
                                  f"run {info.id} row {stored.row} ({info.started_at})"):
            click.echo(text)
        if info.proration:
            click.echo("")
            for pid, ver, yr, fund, demand in info.proration:
                click.echo(f"按比例 prorated: {pid}@{ver} {yr} 年度资金 fund {fund} 元, 申报总额 demand {demand} 元: "
                           f"× {fund}/{demand}")
            click.echo(f"发放总计 paid total (stored): {stored.total} 元")
        from policyengine.store.verify import replay_row

        _, problems = replay_row(s, info, stored, packages)
        click.echo("")
        if problems:
            click.echo("复核 replay: 与存储结果不一致 differs from the stored outcome:")
            for p in problems:
                click.echo(f"  {p}")
            sys.exit(1)
        click.echo(f"复核 replay: 与存储结果一致 matches the stored outcome (facts {stored.facts_hash[:16]}…)")
        if len(found) > 1:
            click.echo(f"（另有 {len(found) - 1} 条记录 more stored decisions for {uscc}: "
                       + ", ".join(f"run {d.run} row {d.row}" for d in found[:-1]) + "）")


@audit_group.command("verify")
@_store_option()
@click.option("--run", "run", type=int, default=None, help="Only this run (default: every run).")
def verify_command(store: str, run: int | None) -> None:
    """Replay every stored decision against its rule snapshot and check each run's chain; exit 1 on any problem."""
    from policyengine.store import open as open_store

    bad = 0
    with open_store(store) as s:
        for report in s.verify(run):
            if report.ok:
                click.echo(f"run {report.run}: ok — {report.rows} decisions replayed, chain intact")
                continue
            bad += 1
            click.echo(f"run {report.run}: {len(report.problems) + report.more} problem(s) "
                       f"({report.status}, {report.rows} decisions stored)")
            for p in report.problems:
                click.echo(f"  {p}")
            if report.more:
                click.echo(f"  … and {report.more} more")
    if bad:
        sys.exit(1)


@audit_group.command("export")
@_store_option()
@click.option("--run", "run", type=int, required=True, help="The run to export.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write: .csv, .xlsx or .parquet.")
def export_command(store: str, run: int, out: Path) -> None:
    """Export a run's stored decisions as a table."""
    from policyengine.store import open as open_store
    from policyengine.store.export import export

    with open_store(store) as s:
        n = export(s, run, out)
    click.echo(f"{n} decisions of run {run} written to {out}")
