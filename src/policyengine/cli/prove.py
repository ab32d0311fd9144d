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
    proration rule. Exit 1 if any invariant is violated.
    """
    from policyengine.model.loader import load_package
    from policyengine.prove.invariants import prove_version, report_lines

    bad = unknown = 0
    for ref in packages:
        for version in load_package(ref).versions:
            report = prove_version(version, timeout_s)
            for line in report_lines(report):
                click.echo(line)
            bad += len(report.violated)
            unknown += sum(p.status == "unknown" for p in report.proofs)
    summary = f"{bad} violated" if bad else "no violations"
    click.echo(summary + (f", {unknown} unknown" if unknown else ""))
    if bad:
        sys.exit(1)
