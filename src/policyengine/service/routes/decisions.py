"""The decision store, read: `GET /v1/decisions` (by USCC or run), one decision, its explanation in Chinese
(re-derived from the stored facts and the run's rule snapshots); `GET /v1/runs`, one run, and its verification
(`GET /v1/runs/{id}/verify`: every decision replayed, the chain checked)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from policyengine.errors import PolicyEngineError
from policyengine.service.auth import Reader, Verifier
from policyengine.service.decisions import (
    decision_item,
    decision_json,
    not_found_run,
    parse_decision_id,
    run_item,
    stored_decision,
)
from policyengine.service.errors import ServiceError
from policyengine.service.models import (
    ERRORS,
    DecisionItem,
    DecisionList,
    ErrorBody,
    Explanation,
    RunItem,
    VerifyReport,
)
from policyengine.service.state import state_of

router = APIRouter(prefix="/v1", tags=["decisions"], responses=ERRORS)
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody, "description": "No such decision or run"}}


@router.get("/decisions", response_model=DecisionList)
def decisions(request: Request, _principal: Reader,
              uscc: Annotated[str | None, Query(description="统一社会信用代码")] = None,
              run: Annotated[int | None, Query(ge=1, description="Only this run's decisions")] = None,
              year: Annotated[int | None, Query(ge=1, le=9999, description="申报年度")] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
              ) -> DecisionList:
    """Stored decisions, newest run first (rows in order): how many match, and `limit` of them from
    `offset`."""
    page = state_of(request).store.decision_page(run=run, uscc=uscc, year=year, limit=limit, offset=offset)
    return DecisionList(total=page.total, items=[decision_item(d) for d in page.items])


@router.get("/decisions/{decision_id}", response_model=DecisionItem, responses=NOT_FOUND)
def decision(decision_id: str, request: Request, _principal: Reader) -> DecisionItem:
    """One stored decision (`RUN-ROW`): its totals, stored outcome and reasons."""
    run, row = parse_decision_id(decision_id)
    return decision_item(stored_decision(state_of(request).store, run, row, decision_id))


@router.get("/decisions/{decision_id}/explain", response_model=Explanation, responses=NOT_FOUND)
def explain(decision_id: str, request: Request, _principal: Reader) -> Response:
    """A stored decision explained in Chinese, every number traced to its clause, with the full decision
    re-derived from the stored facts and the run's rule snapshots (never the rules folder)."""
    from policyengine.decide.evaluate import fact_index
    from policyengine.drafting.explain_zh import explain_zh_lines
    from policyengine.facts.applicant import read_facts

    store = state_of(request).store
    run, row = parse_decision_id(decision_id)
    stored = stored_decision(store, run, row, decision_id)
    info = store.run(run)
    try:
        packages = store.packages(info)
        full = store.explain(stored)
        facts = read_facts(fact_index(packages), stored.facts)
    except PolicyEngineError as exc:   # the store no longer gives the stored outcome: say so, as verify does
        raise ServiceError(409, "replay_differs", f"decision {decision_id} cannot be explained: {exc}",
                           f"决定 {decision_id} 无法复现：{exc}") from None
    lines = explain_zh_lines(packages, facts, full, f"运行 {info.id} 第 {stored.row} 行（{info.started_at}）")
    head = {"id": decision_id, "uscc": stored.uscc, "name": stored.name, "total": stored.total, "lines_zh": lines}
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + f',"decision":{decision_json(full)}}}'
    return Response(text, media_type="application/json")


@router.get("/runs", response_model=list[RunItem])
def runs(request: Request, _principal: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
         ) -> list[RunItem]:
    """The recorded runs, newest first."""
    return [run_item(r) for r in state_of(request).store.latest_runs(limit)]


@router.get("/runs/{run_id}", response_model=RunItem, responses=NOT_FOUND)
def run(run_id: int, request: Request, _principal: Reader) -> RunItem:
    """One recorded run: who ran it, when, the counts and its status."""
    store = state_of(request).store
    try:
        return run_item(store.run(run_id))
    except PolicyEngineError:
        raise not_found_run(run_id) from None


@router.get("/runs/{run_id}/verify", response_model=VerifyReport, responses=NOT_FOUND)
def verify(run_id: int, request: Request, _principal: Verifier) -> VerifyReport:
    """Replay every decision of the run against its rule snapshots and check its chain; `ok` false lists the
    problems."""
    store = state_of(request).store
    try:
        store.run(run_id)
    except PolicyEngineError:
        raise not_found_run(run_id) from None
    report = store.verify(run_id)[0]
    return VerifyReport(run=report.run, ok=report.ok, status=report.status, rows=report.rows,
                        problems=report.problems, more=report.more)
