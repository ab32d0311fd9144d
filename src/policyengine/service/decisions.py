"""What the decision routes share (and the jobs may use): decision ids, a decision as JSON, the 422 of bad facts,
stored decisions and runs as the API shows them.

A decision id is `RUN-ROW`: the store keys its rows by run and row (`POST /v1/evaluate` records a run of one row,
row 1; a batch's rows are numbered as in the spreadsheet the list makes, the first applicant row 2).
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from policyengine.errors import FactError, FactErrors, brief
from policyengine.service.errors import ServiceError
from policyengine.service.models import DecisionItem, RunItem

if TYPE_CHECKING:
    from policyengine.decide.decision import Decision
    from policyengine.store.db import Run, Store, StoredDecision

_ID = re.compile(r"^([1-9][0-9]{0,17})-([0-9]{1,18})$")


def decision_id(run: int, row: int) -> str:
    return f"{run}-{row}"


def parse_decision_id(text: str) -> tuple[int, int]:
    """`(run, row)` of a decision id `RUN-ROW`; a 404 `ServiceError` for anything else."""
    m = _ID.match(text)
    if m is None:
        raise not_found_decision(text)
    return int(m.group(1)), int(m.group(2))


def not_found_decision(text: str) -> ServiceError:
    return ServiceError(404, "not_found", f"no decision {text!r} (decision ids are RUN-ROW, e.g. 1-1)",
                        f"未找到决定 {text}（决定编号形如 运行号-行号，例如 1-1）")


def not_found_run(run: int | str) -> ServiceError:
    return ServiceError(404, "not_found", f"no run {run}", f"未找到运行记录 {run}")


def decision_json(decision: Decision) -> str:
    """The decision's JSON: its audit record (`Decision.model_dump_json()`), as the library writes it."""
    return decision.model_dump_json()


def json_value(value: object) -> Any:
    """`value` as it can go into JSON: a value the request sent comes back as sent (a long text or a big
    structure cut short, as the library's messages cut it)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)   # NaN, Infinity (which Python's JSON reader accepts): JSON has no such number
    if value is None or isinstance(value, bool | int | float):
        return value if not isinstance(value, int) or value.bit_length() <= 64 else brief(value)
    if isinstance(value, str):
        return value if len(value) <= 200 else brief(value, 200)
    return brief(value)


def fact_problems(exc: FactError) -> ServiceError:
    """The 422 of an applicant whose facts cannot be read: every bad fact, with its id, label, value and what
    is wrong with it."""
    errors = exc.errors if isinstance(exc, FactErrors) else [exc]
    problems = [{"fact": e.fact, "label": e.label, "value": json_value(e.value), "message": e.message}
                for e in errors]
    n = len(problems)
    return ServiceError(422, "bad_facts", f"{n} fact(s) cannot be read: " + "; ".join(str(e) for e in errors),
                        f"有 {n} 项数据无法读取：" + "；".join(
                            f"{e.label or e.fact}（{e.message}）" for e in errors), problems)


# -- the store, as the API shows it ---------------------------------------------------------------------------


def run_item(run: Run) -> RunItem:
    return RunItem(id=run.id, started_at=run.started_at, ended_at=run.ended_at, user=run.user,
                   command=run.command, input_name=run.input_name, rows_in=run.rows_in, decided=run.decided,
                   rejected=run.rejected, status=run.status, backend=run.backend, packages=run.packages,
                   error=run.error)


def _item(m: Any) -> DecisionItem:
    return DecisionItem(id=decision_id(m["run_id"], m["row"]), run=m["run_id"], row=m["row"], uscc=m["uscc"],
                        name=m["name"], year=m["year"], total=m["total"], outcome=json.loads(m["outcome"]),
                        reasons=m["reasons"])


def list_decisions(store: Store, *, uscc: str | None = None, run: int | None = None, limit: int = 100,
                   offset: int = 0) -> tuple[int, list[DecisionItem]]:
    """How many stored decisions match, and `limit` of them from `offset`, newest run first, rows in order."""
    from policyengine.store import schema as S

    d = S.decisions
    where = []
    if uscc is not None:
        where.append(d.c.uscc == uscc)
    if run is not None:
        where.append(d.c.run_id == run)
    cols = (d.c.run_id, d.c.row, d.c.uscc, d.c.name, d.c.year, d.c.total, d.c.outcome, d.c.reasons)
    query = select(*cols).where(*where).order_by(d.c.run_id.desc(), d.c.row).limit(limit).offset(offset)
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(d).where(*where)).scalar_one()
        items = [_item(r._mapping) for r in conn.execute(query)]
    return int(total), items


def stored_item(store: Store, run: int, row: int, text: str) -> DecisionItem:
    from policyengine.store import schema as S

    d = S.decisions
    cols = (d.c.run_id, d.c.row, d.c.uscc, d.c.name, d.c.year, d.c.total, d.c.outcome, d.c.reasons)
    with store.engine.connect() as conn:
        r = conn.execute(select(*cols).where(d.c.run_id == run, d.c.row == row)).first()
    if r is None:
        raise not_found_decision(text)
    return _item(r._mapping)


def recent_runs(store: Store, limit: int) -> list[Run]:
    """The newest `limit` runs, newest first."""
    from policyengine.store import schema as S
    from policyengine.store.db import _run

    with store.engine.connect() as conn:
        return [_run(r) for r in conn.execute(select(S.runs).order_by(S.runs.c.id.desc()).limit(limit))]


def stored_decision(store: Store, run: int, row: int, text: str) -> StoredDecision:
    """One stored decision with its facts (for an explanation); a 404 `ServiceError` when there is none."""
    from policyengine.store import schema as S
    from policyengine.store.db import _decision

    d = S.decisions
    with store.engine.connect() as conn:
        r = conn.execute(select(d).where(d.c.run_id == run, d.c.row == row)).first()
    if r is None:
        raise not_found_decision(text)
    return _decision(r, store.fact_names(run))
