"""`policyengine prove`: the declared invariants proved for every applicant with an SMT solver (z3)."""

from __future__ import annotations

import sys

import click


@click.command("prove")
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_DIR[@VERSION]...")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=20.0, show_default=True,
              help="Seconds the solver may spend on one invariant before the answer is `unknown`.")
def prove_command(packages: tuple[str, ...], timeout_s: float) -> None:
    """Prove the invariants the packages declare for every applicant (every version, or DIR@VERSION for one).

    Each invariant is `proved` (for all facts in the fact schema's domain), `violated` (with the smallest
    counterexample the solver finds, as an applicant row with Chinese headers, replayed through the reference
    interpreter, and its trace) or `unknown` (no answer within --timeout). Batch invariants are proved from the
    proration rule. The application years of every version of the package are checked (overlap: error). Exit 1
    if any invariant is violated or the years overlap.
    """
    from policyengine.drafting.load import load_versions
    from policyengine.prove.invariants import prove_version, report_lines

    bad = unknown = package_errors = 0
    seen: set[str] = set()
    for ref in packages:
        loaded = load_versions(ref)
        for f in loaded.unseen(seen):  # the application years of every version of the package, once
            click.echo(loaded.line(f))
            package_errors += f.severity == "error"
        for version in loaded.versions:
            report = prove_version(version, timeout_s)
            for line in report_lines(report):
                click.echo(line)
            bad += len(report.violated)
            unknown += sum(p.status == "unknown" for p in report.proofs)
    summary = f"{bad} violated" if bad else "no violations"
    click.echo(summary + (f", {unknown} unknown" if unknown else "")
               + (f"; {package_errors} package error{'s' if package_errors != 1 else ''} (above)"
                  if package_errors else ""))
    if bad or package_errors:
        sys.exit(1)
