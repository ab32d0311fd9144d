"""The run summary: rows in/out/rejected, status counts and totals per clause and package, budget use."""

from __future__ import annotations

from typing import Any

from policyengine.batch.score import Scored, status_counts


def summary(scored: Scored, *, source: str, output: str | None, rejects: str | None,
            audit: str | None) -> dict[str, Any]:
    """Plain data (written as JSON with --summary). Rows in = rows out + rows rejected, always."""
    counts = status_counts(scored.output, scored.packages)
    packages = []
    for p in scored.packages:
        packages.append({
            "package": p.id,
            "clauses": counts[p.id]["clauses"],
            "total": counts[p.id]["total"],
            "budget": [{"version": b.version, "application_year": b.application_year, "fund": b.fund,
                        "demand": b.demand, "prorated": b.prorated,
                        "factor": f"{b.factor.numerator}/{b.factor.denominator}" if b.prorated else "1",
                        "paid": b.paid}
                       for b in scored.budgets if b.package == p.id],
        })
    return {
        "input": source,
        "encoding": scored.table.encoding,
        "output": output,
        "rejects": rejects,
        "audit": audit,
        "backend": scored.backend,
        "rows": {"in": scored.rows_in, "out": scored.rows_out, "rejected": scored.rows_rejected},
        "rows_decided_by_interpreter": scored.interpreted_rows if scored.backend == "columnar" else None,
        "versions_not_compiled": scored.not_compiled,
        "columns_missing": scored.header_map.missing,
        "columns_passed_through": [scored.table.headers[i] for i in scored.header_map.passthrough],
        "packages": packages,
        "total": counts["total"],
    }


def _money(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def table_text(data: dict[str, Any]) -> str:
    """A short human-readable table of the summary."""
    rows = data["rows"]
    lines = [f"rows in {rows['in']:,} = out {rows['out']:,} + rejected {rows['rejected']:,}"
             f"   (backend {data['backend']}"
             + (f", {data['rows_decided_by_interpreter']:,} rows by the interpreter"
                if data.get("rows_decided_by_interpreter") else "") + ")"]
    if data["columns_missing"]:
        lines.append("columns not in the file (read as blank): " + ", ".join(data["columns_missing"]))
    for key, why in data["versions_not_compiled"].items():
        lines.append(f"{key}: decided by the interpreter ({why})")
    for p in data["packages"]:
        lines.append("")
        lines.append(f"{p['package']:<12} {'eligible':>9} {'inelig.':>9} {'undeterm.':>9} {'excluded':>9} "
                     f"{'amount':>15}")
        for cid, c in p["clauses"].items():
            lines.append(f"  {cid:<10} {c['eligible']:>9,} {c['ineligible']:>9,} {c['undetermined']:>9,} "
                         f"{c['excluded']:>9,} {c['amount']:>15,}")
        lines.append(f"  {'total':<10} {'':>39} {p['total']:>15,}")
        for b in p["budget"]:
            note = f"prorated × {b['factor']}" if b["prorated"] else "within the fund"
            lines.append(f"  fund {b['version']} / {b['application_year']}: fund {_money(b['fund'])}, "
                         f"demand {_money(b['demand'])}, paid {_money(b['paid'])} ({note})")
    lines.append("")
    lines.append(f"total paid {data['total']:,}")
    return "\n".join(lines)
