"""Exporting a stored run's decisions as a table: .csv (UTF-8 with BOM), .xlsx or .parquet, by extension."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from policyengine.errors import PolicyEngineError
from policyengine.store.facts_text import canonical_json
from policyengine.store.rows import LETTER_STATUS, read_facts_text, read_outcome_text

if TYPE_CHECKING:
    from policyengine.store.db import Store

SUFFIXES = (".csv", ".xlsx", ".parquet")


def table(store: Store, run: int) -> pl.DataFrame:
    """One row per stored decision: row, uscc, name, year, per package version and per clause status, amount and
    amount before settlement, totals, total, reasons, facts hash and facts (JSON)."""
    info = store.run(run)
    clause_cols: list[tuple[str, str]] = []
    records: list[dict[str, Any]] = []
    names, layout = store.forms(run)
    for r in store.iter_decisions(run):
        m = r._mapping
        outcome = read_outcome_text(m["outcome"], layout)
        rec: dict[str, Any] = {"row": m["row"], "uscc": m["uscc"], "name": m["name"], "year": m["year"]}
        for pid, out in outcome.items():
            rec[f"{pid}.version"] = out.get("v")
            for cid, (status, amount, computed) in out.get("c", {}).items():
                if (pid, cid) not in clause_cols:
                    clause_cols.append((pid, cid))
                rec[f"{pid}.{cid}.status"] = LETTER_STATUS.get(status, status)
                rec[f"{pid}.{cid}.amount"] = amount
                rec[f"{pid}.{cid}.computed"] = computed
            rec[f"{pid}.total"] = out.get("t")
        facts = canonical_json(read_facts_text(m["facts"], names))
        rec.update(total=m["total"], reasons=m["reasons"], facts_hash=m["facts_hash"], facts=facts)
        records.append(rec)
    pids = [p["package"] for p in info.packages]
    columns = ["row", "uscc", "name", "year", *(f"{p}.version" for p in pids)]
    for pid, cid in clause_cols:
        columns += [f"{pid}.{cid}.status", f"{pid}.{cid}.amount", f"{pid}.{cid}.computed"]
    columns += [*(f"{p}.total" for p in pids), "total", "reasons", "facts_hash", "facts"]
    schema = {c: (pl.Int64 if c in ("row", "year", "total") or c.endswith((".amount", ".computed", ".total"))
                  else pl.String) for c in columns}
    return pl.DataFrame([{c: rec.get(c) for c in columns} for rec in records], schema=schema, orient="row")


def export(store: Store, run: int, out: Path) -> int:
    """Write run `run`'s decisions to `out`; returns the number of rows."""
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise PolicyEngineError(f"--out {out}: write .csv, .xlsx or .parquet")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise PolicyEngineError(f"--out {out}: the folder {out.parent} does not exist")
    frame = table(store, run)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if suffix == ".csv":
            frame.write_csv(tmp, include_bom=True)
        elif suffix == ".parquet":
            frame.write_parquet(tmp)
        else:
            frame.write_excel(tmp, worksheet=f"run {run}")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return frame.height
