"""What the decision routes share (and the jobs may use): decision ids, a decision as JSON, the 422 of bad facts,
stored decisions and runs as the API shows them.

A decision id is `RUN-ROW`: the store keys its rows by run and row (`POST /v1/evaluate` records a run of one row,
row 1; a batch's rows are numbered as in the spreadsheet the list makes, the first applicant row 2).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pydantic_core

from policyengine.errors import FactError, FactErrors, brief
from policyengine.service.errors import ServiceError
from policyengine.service.models import DecisionItem, RunItem

if TYPE_CHECKING:
    from policyengine.decide.decision import Decision
    from policyengine.model.policy import Package
    from policyengine.service.state import ServiceState
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


def not_found_job(job: str) -> ServiceError:
    """No such job, or another user's (a job is its creator's alone)."""
    return ServiceError(404, "not_found", f"no job {job!r}", f"未找到测算任务 {job}")


def chosen_packages(state: ServiceState, ids: Sequence[str] | None, version: object) -> list[Package]:
    """The packages a request names (all served when it names none), checked with its version choice; a 422
    `ServiceError` naming what is unknown."""
    known = [p.id for p in state.packages]
    if ids is None:
        packages = list(state.packages)
    else:
        unknown = [i for i in ids if state.package(i) is None]
        if unknown:
            raise ServiceError(422, "unknown_package", f"no package {', '.join(map(repr, unknown))} "
                               f"(served: {', '.join(known)})",
                               f"未找到政策包 {'、'.join(unknown)}（可用：{'、'.join(known)}）")
        if not ids:
            raise ServiceError(422, "unknown_package", f"packages: name at least one (served: {', '.join(known)})",
                               f"请至少选择一个政策包（可用：{'、'.join(known)}）")
        if len(set(ids)) != len(ids):
            raise ServiceError(422, "bad_request", f"packages: a package is named twice: {list(ids)}",
                               "政策包重复")
        packages = [state.package(i) for i in ids]
    if isinstance(version, Mapping):
        chosen = {p.id for p in packages}
        stray = [k for k in version if k not in chosen]
        if stray:
            raise ServiceError(422, "unknown_package", f"version: {', '.join(map(repr, stray))} is not among the "
                               f"packages evaluated ({', '.join(sorted(chosen))})",
                               f"版本指定了未参与测算的政策包 {'、'.join(stray)}")
    return packages




def decision_json(decision: Decision) -> str:
    """The decision's JSON: its audit record, exactly as `Decision.model_dump_json()` writes it, made field by
    field. `Decision`'s own serializer (a wrap that drops an empty `unused_facts`) makes pydantic build the whole
    decision as Python dicts and lists before it writes any JSON; each package written straight from its model
    takes about 40 % less time (tests/test_service_api.py holds the two equal for every example applicant)."""
    from pydantic import BaseModel

    parts = []
    for name in type(decision).model_fields:
        value = getattr(decision, name)
        if name == "unused_facts" and not value:
            continue   # as `Decision`'s serializer leaves it out
        if isinstance(value, BaseModel):
            text = value.model_dump_json()
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            text = "[" + ",".join(v.model_dump_json() for v in value) + "]"
        else:
            text = pydantic_core.to_json(value).decode("utf-8")
        parts.append(f'"{name}":{text}')
    return "{" + ",".join(parts) + "}"


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
    problems = [{"fact": e.fact, "label": e.label, "value": json_value(e.value), "message": e.message,
                 "message_zh": e.message_zh} for e in errors]
    n = len(problems)
    return ServiceError(422, "bad_facts", f"{n} fact(s) cannot be read: " + "; ".join(str(e) for e in errors),
                        f"有 {n} 项数据无法读取：" + "；".join(
                            f"{e.label or e.fact}（{e.message_zh}）" for e in errors), problems)


# -- the store, as the API shows it ---------------------------------------------------------------------------


def run_item(run: Run) -> RunItem:
    return RunItem(id=run.id, started_at=run.started_at, ended_at=run.ended_at, user=run.user,
                   command=run.command, input_name=run.input_name, rows_in=run.rows_in, decided=run.decided,
                   rejected=run.rejected, status=run.status, backend=run.backend, packages=run.packages,
                   error=run.error)


def decision_item(d: StoredDecision) -> DecisionItem:
    return DecisionItem(id=decision_id(d.run, d.row), run=d.run, row=d.row, uscc=d.uscc, name=d.name, year=d.year,
                        total=d.total, outcome=d.outcome, reasons=d.reasons)


def stored_decision(store: Store, run: int, row: int, text: str) -> StoredDecision:
    """One stored decision with its facts (for an explanation); a 404 `ServiceError` when there is none."""
    found = store.decision(run, row)
    if found is None:
        raise not_found_decision(text)
    return found
