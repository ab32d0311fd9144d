"""Audit records for a batch: for each accepted row, exactly the record `evaluate()` gives for that row.

How proration appears: when a row's fund (package, version, application year) was over-subscribed by the
batch, its record is the one `policyengine.decide.settlement.prorate` makes of the decision — each paid clause gains a
`proration` settlement step noting the fund and the batch's demand (`annual fund F over-subscribed (D): × F/D,
rounded down`), amounts and totals are the prorated ones. `replay()` reads the fund and demand back from those
steps and re-applies them, so a prorated record replays clean. Records of rows within their fund are plain
`evaluate()` records.

Each record is also checked against the scored row (statuses and amounts): a disagreement between the
columnar backend and `evaluate()` is an internal error, never a decision.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policyengine.batch.score import Scored, clause_ids, row_facts
from policyengine.decide.decision import Decision
from policyengine.decide.evaluate import evaluate
from policyengine.decide.settlement import FundKey, prorate_decision
from policyengine.errors import InternalConsistencyError

Progress = Any


def _over(scored: Scored) -> dict[FundKey, tuple[int, int]]:
    return {(b.package, b.version, b.application_year): (b.fund, b.demand)
            for b in scored.budgets if b.prorated and b.fund is not None}


def _check(decision: Decision, row: Mapping[str, Any], scored: Scored, number: int) -> None:
    for p in scored.packages:
        res = decision.package(p.id)
        got = {c.clause: (c.status, c.amount) for c in res.clauses}
        for cid in clause_ids(p):
            want = (row[f"{p.id}.{cid}.status"], row[f"{p.id}.{cid}.amount"])
            have = got.get(cid, (None, 0))
            if want != have:
                raise InternalConsistencyError(
                    f"row {number}: {p.id} {cid} is {want[0]} {want[1]} in the batch but {have[0]} {have[1]} "
                    f"by evaluate(); this is a bug in policyengine, please report it with this row")


def records(scored: Scored, backend: str = "interpreter", progress: Progress | None = None) -> Iterator[str]:
    """One audit record (JSON) per accepted row, in row order: `evaluate(..., backend=backend)`'s record.

    The columnar backend's records are the reference interpreter's (the audit record is the interpreter's
    trace, as DESIGN.md has it); `--backend rete` records are the Rete backend's."""
    over = _over(scored)
    outputs = scored.output.iter_rows(named=True)
    for (number, cells), out_row in zip(row_facts(scored.accepted, scored.header_map), outputs, strict=True):
        decision = evaluate(scored.packages, cells, version=scored.version, backend=backend)
        if over:
            decision = prorate_decision(decision, over)
        _check(decision, out_row, scored, number)
        if progress is not None:
            progress(1)
        yield decision.model_dump_json()
