"""`POST /v1/evaluate` (one applicant, the library's `evaluate()`) and `POST /v1/evaluate/batch` (up to the
batch limit of applicants, the columnar engine `policyengine score` uses). Both record what they decide in the
decision store under the caller's name."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pydantic_core
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from policyengine.errors import FactError, InternalConsistencyError, PolicyEngineError
from policyengine.service.auth import Evaluator
from policyengine.service.decisions import chosen_packages, decision_id, decision_json, fact_problems
from policyengine.service.errors import ServiceError
from policyengine.service.models import (
    ERRORS,
    BatchRequest,
    BatchResponse,
    ErrorBody,
    EvaluateRequest,
    EvaluateResponse,
)
from policyengine.service.state import state_of

if TYPE_CHECKING:
    from policyengine.batch.score import Scored
    from policyengine.decide.decision import Decision
    from policyengine.model.policy import Package



class _Long:
    """A number too long for Python's JSON reader (more digits than `sys.get_int_max_str_digits()`)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def long_numbers(body: bytes) -> list[dict[str, str]]:
    """Every number of the JSON `body` that is too long to read, as `{field, message}` (an empty list when the
    body has none)."""
    most = sys.get_int_max_str_digits()

    def number(text: str) -> object:
        digits = len(text.lstrip("-"))
        return _Long(digits) if most and digits > most else int(text)

    try:
        data = json.loads(body, parse_int=number)
    except (ValueError, RecursionError):
        return []
    found: list[dict[str, str]] = []

    def walk(value: object, path: tuple[str, ...]) -> None:
        if isinstance(value, _Long):
            found.append({"field": ".".join(path), "message": f"a number of {value.digits} digits: more than the "
                                                             f"{most} the JSON reader accepts (send it as text)"})
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*path, str(k)))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, str(i)))

    walk(data, ())
    return found


class JsonRoute(APIRoute):
    """A route whose JSON body holding a number too long to read is a 422 naming the field (FastAPI's reader
    gives a bare 400 for it)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code != 400 or not isinstance(exc.__cause__, ValueError):
                    raise
                problems = long_numbers(await request.body())
                if not problems:
                    raise
                fields = ", ".join(p["field"] for p in problems)
                raise ServiceError(422, "bad_request", f"a number too long to read: {fields} (send it as text)",
                                   f"数字位数过多，无法读取：{fields}（请以文本形式提交）", problems) from None

        return route


router = APIRouter(prefix="/v1", tags=["evaluate"], responses=ERRORS, route_class=JsonRoute)

EVALUATE = "POST /v1/evaluate"
BATCH = "POST /v1/evaluate/batch"


def _bad_input(exc: PolicyEngineError) -> ServiceError:
    if isinstance(exc, FactError):
        return fact_problems(exc)
    if isinstance(exc, InternalConsistencyError):   # two evaluators disagree: our fault, never a decision
        return ServiceError(500, "inconsistent", str(exc), "测算引擎结果不一致，未作出决定（请联系维护人员）")
    return ServiceError(422, "bad_input", str(exc), f"请求无法处理：{exc}")


@router.post("/evaluate", response_model=EvaluateResponse,
             responses={422: {"model": ErrorBody, "description": "bad_facts: every fact that cannot be read, "
                                                                 "{fact, label, value, message, message_zh}; "
                                                                 "unknown_package; "
                                                                 "bad_input (an unknown version)"}})
async def evaluate_one(body: EvaluateRequest, request: Request, principal: Evaluator) -> Response:
    """Decide one applicant: the library's decision (every clause's status and amount, reasons, trace),
    recorded in the decision store as a run of one row (`decision_id` RUN-1)."""
    from policyengine.decide.evaluate import evaluate

    state = state_of(request)
    packages = chosen_packages(state, body.packages, body.version)

    def decide() -> tuple[Decision, str]:
        try:
            decision = evaluate(packages, body.facts, version=body.version, backend=state.backend)
        except PolicyEngineError as exc:
            raise _bad_input(exc) from None
        return decision, decision_json(decision)

    # the interpreter decides on the event loop (a millisecond of CPU: a thread would add its hand-offs and
    # GIL waits, not parallelism); the Rete backend in worker threads, which its engine lock serialises
    decision, text = await run_in_threadpool(decide) if state.config.backend == "rete" else decide()
    recorded: str | None = None
    if state.config.record:   # the store's write waits for the file: a worker thread
        run = await run_in_threadpool(state.store.record_decision, decision, packages, user=principal.user,
                                      command=EVALUATE)
        recorded = decision_id(run, 1)
    return DecisionResponse(recorded, text)


class DecisionResponse(Response):
    """`{"decision_id": …, "decision": …}` (`EvaluateResponse`) around the decision's JSON as the library wrote
    it: the text is wrapped, never parsed again."""

    media_type = "application/json"

    def __init__(self, recorded: str | None, decision: str) -> None:
        super().__init__(f'{{"decision_id":{json.dumps(recorded)},"decision":{decision}}}')


def named_records(applicants: Sequence[Mapping[str, Any]], packages: Sequence[Package]) -> list[dict[str, Any]]:
    """Each applicant's facts keyed by fact name, so that applicants may spell a fact differently (name, Chinese
    label or alias) in one list, as one `evaluate()` call may; a 422 when one applicant gives a fact twice."""
    from policyengine.decide.evaluate import fact_index

    index = fact_index(packages)
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for n, record in enumerate(applicants):
        named: dict[str, Any] = {}
        for key, value in record.items():
            name = names.get(key)
            if name is None:
                spec = index.find(key)
                name = names[key] = spec.name if spec is not None else key
            if name in named:
                first = next(k for k in record if names.get(k) == name)
                raise ServiceError(422, "bad_request", f"applicants[{n}]: {first!r} and {key!r} both give {name}; "
                                   "keep one", f"第 {n + 1} 户：{first} 与 {key} 是同一项数据，请只保留一个",
                                   [{"field": f"applicants.{n}.{key}", "message": f"{first!r} also gives {name}"}])
            named[name] = value
        out.append(named)
    return out


def _clause(status: str, amount: int, computed: int | None) -> dict[str, Any]:
    return {"status": status, "amount": amount} if computed is None else \
        {"status": status, "amount": amount, "computed": computed}


def batch_decisions(scored: Scored, run: int | None) -> list[dict[str, Any]]:
    """One entry per applicant of a scored list, in input order (the shape of `BatchDecision`, as plain data:
    ten thousand of them are built in a fraction of the time models take): its decision, or why it was
    rejected."""
    from policyengine.batch.api import FIRST_ROW
    from policyengine.batch.read import ROW
    from policyengine.batch.score import clause_ids
    from policyengine.batch.settle import ver_col

    out: list[dict[str, Any] | None] = [None] * scored.rows_in
    for r in scored.rejects:
        entry = out[r.row - FIRST_ROW]
        if entry is None:
            entry = out[r.row - FIRST_ROW] = {"index": r.row - FIRST_ROW, "row": r.row, "status": "rejected",
                                              "problems": []}
        entry["problems"].append({"column": r.column, "value": r.value, "reason": r.reason, "reason_zh": r.reason_zh})
    rows = scored.accepted.get_column(ROW).to_list()
    if len(rows) != scored.output.height:
        raise AssertionError("the scored output and its accepted rows differ in length")
    versions = {p.id: scored.accepted.get_column(ver_col(p.id)).to_list() for p in scored.packages}
    columns = [(p.id, f"{p.id}.total", [(cid, f"{p.id}.{cid}.status", f"{p.id}.{cid}.amount",
                                         f"{p.id}.{cid}.computed") for cid in clause_ids(p)])
               for p in scored.packages]
    col = scored.output.to_dict(as_series=False)   # column lists: far quicker than row dicts
    for i, row in enumerate(rows):
        pkgs = {pid: {"version": versions[pid][i], "total": col[total][i],
                      "clauses": {cid: _clause(col[st][i], col[am][i], col[co][i])
                                  for cid, st, am, co in clauses if col[st][i] is not None}}
                for pid, total, clauses in columns}
        out[row - FIRST_ROW] = {"index": row - FIRST_ROW, "row": row, "status": "decided",
                                "decision_id": decision_id(run, row) if run is not None else None,
                                "uscc": col["uscc"][i], "name": col["name"][i], "total": col["total"][i],
                                "packages": pkgs, "reasons": col["reasons"][i] or None}
    missing = [i for i, d in enumerate(out) if d is None]
    if missing:
        raise AssertionError(f"applicants neither decided nor rejected: {missing[:5]}")
    return [d for d in out if d is not None]


@router.post("/evaluate/batch", response_model=BatchResponse,
             responses={413: {"model": ErrorBody, "description": "More applicants than the batch limit"}})
def evaluate_batch(body: BatchRequest, request: Request, principal: Evaluator
                   ) -> Response:
    """Decide a list of applicants with the columnar engine (settled, and prorated where a fund is
    over-subscribed, as `policyengine score` does): every applicant's decision, or why it was rejected, in
    the order given. The run is recorded in the decision store."""
    from policyengine.batch.api import score

    state = state_of(request)
    limit = state.config.batch_limit
    if len(body.applicants) > limit:
        raise ServiceError(413, "too_large", f"{len(body.applicants)} applicants: at most {limit} per request "
                           "(upload a spreadsheet to POST /v1/jobs for more)",
                           f"一次最多测算 {limit} 户，本次 {len(body.applicants)} 户（更多请上传表格）")
    if not body.applicants:
        raise ServiceError(422, "bad_request", "applicants: give at least one applicant", "请至少提供一户企业的数据")
    packages = chosen_packages(state, body.packages, body.version)
    try:
        result = score(named_records(body.applicants, packages), packages, version=body.version)
    except PolicyEngineError as exc:
        raise _bad_input(exc) from None
    scored = result.scored
    run = state.store.record_run(scored, user=principal.user, command=BATCH, input_name="<request>")
    decisions = batch_decisions(scored, run)
    answer = {"run_id": run, "rows_in": scored.rows_in, "decided": scored.rows_out,
              "rejected": scored.rows_rejected, "total": sum(d.get("total") or 0 for d in decisions),
              "decisions": decisions}
    return Response(pydantic_core.to_json(answer), media_type="application/json")
