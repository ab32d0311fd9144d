"""Verifying a run: its status, its chain and row set, and every stored decision replayed against the run's
rule snapshots (never the rules folder)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from policyengine.errors import PolicyEngineError
from policyengine.store import rows as R
from policyengine.store.facts_text import canonical_json
from policyengine.store.write import chain_start, seal

if TYPE_CHECKING:
    from policyengine.decide.decision import Decision
    from policyengine.model.policy import Package
    from policyengine.store.db import Run, Store, StoredDecision

MAX_LISTED = 200
"""Problems listed per run (the count is always given)."""


@dataclass
class Report:
    run: int
    status: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    more: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, text: str) -> None:
        if len(self.problems) < MAX_LISTED:
            self.problems.append(text)
        else:
            self.more += 1


def replay_row(store: Store, run: Run, stored: StoredDecision, packages: list[Package] | None = None
               ) -> tuple[Decision, list[str]]:
    """Re-evaluate one stored decision from its facts and the run's snapshots; the differences, row named."""
    from policyengine.decide.evaluate import evaluate
    from policyengine.decide.settlement import prorate_decision, recorded_over

    pkgs = packages if packages is not None else store.packages(run)
    try:
        decision = evaluate(pkgs, stored.facts, version=run.version_choice, backend="interpreter")
    except PolicyEngineError as exc:
        raise PolicyEngineError(f"run {run.id} row {stored.row}: the stored facts cannot be read: {exc}") from None
    over = recorded_over(run.proration)
    if over:
        decision = prorate_decision(decision, over, copy=False)   # (this decision is ours alone)
    problems = compare(stored, decision)
    if decision.facts_hash != "sha256:" + stored.facts_hash:
        problems.insert(0, f"row {stored.row}: the facts read back to hash {decision.facts_hash}, not the stored one")
    return decision, problems


def compare(stored: StoredDecision, decision: Decision) -> list[str]:
    out: list[str] = []
    where = f"row {stored.row}"
    now = R.outcome_of(decision)
    for pid in sorted(set(stored.outcome) | set(now)):
        old, new = stored.outcome.get(pid), now.get(pid)
        if old is None or new is None:
            out.append(f"{where}: {pid}: stored {'absent' if old is None else 'present'}, replayed "
                       f"{'absent' if new is None else 'present'}")
            continue
        if old.get("v") != new["v"]:
            out.append(f"{where}: {pid} version: stored {old.get('v')}, replayed {new['v']}")
            continue
        for cid in sorted(set(old.get("c", {})) | set(new["c"])):
            a, b = old.get("c", {}).get(cid), new["c"].get(cid)
            if a != b:
                out.append(f"{where}: {pid} {cid}: stored {_show(a)}, replayed {_show(b)}")
        if old.get("t") != new["t"]:
            out.append(f"{where}: {pid} total: stored {old.get('t')}, replayed {new['t']}")
    if stored.total != decision.total:
        out.append(f"{where}: total: stored {stored.total}, replayed {decision.total}")
    return out


def _show(c: Any) -> str:
    if c is None:
        return "nothing"
    status = R.LETTER_STATUS.get(c[0], c[0]) if isinstance(c, list) and c else c
    return f"{status} {c[1]} (computed {c[2]})" if isinstance(c, list) and len(c) == 3 else json.dumps(c)


def verify_run(store: Store, run: Run) -> Report:
    """Everything wrong with `run`, each problem naming its row (and clause)."""
    from policyengine.store.db import _decision

    report = Report(run.id, run.status)
    if run.status != "complete":
        report.add(f"run {run.id} is {run.status}, "
                   + (f"ended {run.ended_at}" if run.ended_at else f"started {run.started_at} and never ended")
                   + " (interrupted or failed: its rows are not sealed by a chain"
                   + (f"; {run.error}" if run.error else "") + ")")
    try:
        packages = store.packages(run)
    except PolicyEngineError as exc:
        report.add(str(exc))
        packages = None
    chain = chain_start(run.id)
    seen: list[int] = []
    names, layout = store.forms(run.id)
    for r in store.iter_decisions(run.id):
        m = r._mapping
        report.rows += 1
        seen.append(m["row"])
        values = tuple(m[c] for c in R.COLUMNS)
        digest = hashlib.sha256(R.line(values, run.digest_form)).digest()[:16]
        chain.update(digest)
        if bytes(m["digest"]) != digest:
            report.add(f"row {m['row']}: changed since the run (its digest does not match its values)")
        try:
            stored = _decision(r, names, layout)
        except PolicyEngineError as exc:
            report.add(str(exc))
            continue
        if hashlib.sha256(canonical_json(stored.facts).encode("utf-8")).hexdigest() != m["facts_hash"]:
            report.add(f"row {stored.row}: the facts do not match the facts hash")
        if packages is not None:
            try:
                _, problems = replay_row(store, run, stored, packages)
            except PolicyEngineError as exc:
                problems = [str(exc)]
            for p in problems:
                report.add(p)
    if run.status != "complete":
        return report
    for row, column, value, reason in store.rejects(run.id):
        chain.update(hashlib.sha256(R.reject_line(row, column or "", value or "", reason or "")).digest()[:16])
    recorded = _ranges(store, run.id)
    expected = {n for a, b in recorded for n in range(a, b + 1)}
    got = set(seen)
    for n in sorted(expected - got):
        report.add(f"row {n}: deleted (recorded by the run, missing from the store)")
    for n in sorted(got - expected):
        report.add(f"row {n}: added (in the store, never recorded by the run)")
    if seal(chain, recorded) != run.chain:
        report.add(f"run {run.id}: the chain does not match the stored rows (recorded {run.chain})")
    if run.decided is not None and run.decided != len(seen):
        report.add(f"run {run.id}: {len(seen)} decisions stored, the run recorded {run.decided}")
    return report


def _ranges(store: Store, run: int) -> list[list[int]]:
    from sqlalchemy import select

    from policyengine.store import schema as S

    with store.engine.connect() as conn:
        text = conn.execute(select(S.runs.c.row_ranges).where(S.runs.c.id == run)).scalar()
    return json.loads(text) if text else []
