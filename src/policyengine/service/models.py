"""The JSON shapes of the `/v1` API, as pydantic models, so that `/v1/openapi.json` documents them.

Routes that answer with the library's `Decision` send its own JSON (`Decision.model_dump_json()`, the audit
record) as it is; the models here describe it as `Decision` for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from policyengine.decide.decision import Decision


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable id: unauthenticated, bad_token, forbidden, bad_facts, bad_request, "
                                  "bad_input, unknown_package, not_found, too_large, …")
    message: str
    message_zh: str
    problems: list[dict[str, Any]] | None = Field(default=None, description=(
        "bad_facts: every fact that cannot be read, as {fact, label, value, message, message_zh}; bad_request: "
        "every field of the request that does not fit, as {field, message}"))


class ErrorBody(BaseModel):
    """Every error has this body, whatever its status."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No token, or a token the token file does not hold"},
    403: {"model": ErrorBody, "description": "The token's role may not do this"},
    422: {"model": ErrorBody, "description": "The request cannot be read (every problem listed)"},
}
"""The error statuses every `/v1` route may answer, for the OpenAPI document."""


class Me(BaseModel):
    user: str = Field(description="The token's user, as the token file names them")
    role: str = Field(description="clerk, drafter or auditor")
    role_zh: str = Field(description="The role in Chinese (经办人员, 政策起草人员, 审计人员)")
    rights: list[str] = Field(description="What the role may do: read, evaluate, jobs, verify, draft")


# -- packages ---------------------------------------------------------------------------------------------------


class FactInfo(BaseModel):
    id: str = Field(description="The fact's name, as requests may give it (the Chinese label is accepted too)")
    label: str
    type: str = Field(description="text, enum, bool, integer, year, money, rate or uscc")
    unit: str | None = None
    values: list[str] | None = Field(default=None, description="An enum's allowed values")
    required: bool = False


class ClauseInfo(BaseModel):
    id: str
    article: int
    title: str
    text: str
    verified: bool = Field(description="Whether the clause was checked against the official document")
    facts: list[FactInfo] = Field(description="The facts the clause reads (conditions, then amount), in "
                                              "first-use order, from the lowered program")


class VersionInfo(BaseModel):
    version: str
    title: str
    document_number: str
    from_: int = Field(alias="from", description="The first application year this version governs")
    to: int | None = Field(description="The last application year it governs (null: open-ended)")
    verified: bool
    applicant_cap: int | None = None
    annual_fund: int | None = None
    content_hash: str
    clauses: list[ClauseInfo]


class PackageInfo(BaseModel):
    id: str
    title: str
    versions: list[VersionInfo]


# -- evaluate ---------------------------------------------------------------------------------------------------

VersionField = str | dict[str, str] | None


class EvaluateRequest(BaseModel):
    facts: dict[str, Any] = Field(description="Fact names or Chinese labels → cell text (`12.5万`, `是`) or "
                                              "numbers; uscc (统一社会信用代码) and application_year (申报年度) "
                                              "are required")
    packages: list[str] | None = Field(default=None, description="Package ids (default: every package served)")
    version: VersionField = Field(default=None, description="Force a version: one name for every package, or "
                                                            "package id → version (default: by application year)")

    model_config = {"json_schema_extra": {"examples": [{
        "facts": {"统一社会信用代码": "91350100M000100Y43", "申报年度": "2021", "注册地所在区": "皇姑区",
                  "上年度研发费用": "120万"},
        "packages": ["huangzuan16"]}]}}


class EvaluateResponse(BaseModel):
    decision_id: str | None = Field(description="`RUN-ROW` in the decision store (null when not recorded)")
    decision: Decision = Field(description="The library's decision: its audit record (status and amount of "
                                           "every clause, reasons, trace)")


class BatchRequest(BaseModel):
    applicants: list[dict[str, Any]] = Field(description="One fact mapping per applicant (as `facts` of "
                                                         "/v1/evaluate), at most the service's batch limit")
    packages: list[str] | None = None
    version: VersionField = None


class ClauseOutcome(BaseModel):
    status: Literal["eligible", "ineligible", "undetermined", "excluded"]
    amount: int
    computed: int | None = Field(default=None, description="The clause's own amount before settlement")


class PackageOutcome(BaseModel):
    version: str | None = Field(description="The version applied (null: none in force)")
    total: int
    clauses: dict[str, ClauseOutcome]


class RejectProblem(BaseModel):
    column: str
    value: str | None
    reason: str
    reason_zh: str = Field(description="The reason in Chinese (as the clerk's workbook gives it)")


class BatchDecision(BaseModel):
    index: int = Field(description="The applicant's position in the request (from 0)")
    row: int = Field(description="Its row in the run (index + 2: as in the spreadsheet the list makes)")
    status: Literal["decided", "rejected"]
    decision_id: str | None = None
    uscc: str | None = None
    name: str | None = None
    total: int | None = None
    packages: dict[str, PackageOutcome] | None = None
    reasons: str | None = None
    problems: list[RejectProblem] | None = None


class BatchResponse(BaseModel):
    run_id: int
    rows_in: int
    decided: int
    rejected: int
    total: int = Field(description="The sum paid to the decided applicants (after any fund proration)")
    decisions: list[BatchDecision]


# -- decisions and runs -----------------------------------------------------------------------------------------


class DecisionItem(BaseModel):
    id: str = Field(description="`RUN-ROW`")
    run: int
    row: int
    uscc: str | None
    name: str | None
    year: int | None
    total: int
    outcome: dict[str, Any] = Field(description="The stored outcome: per package, the version and every "
                                                "clause's status and amounts")
    reasons: str | None


class DecisionList(BaseModel):
    total: int = Field(description="How many decisions match (before limit and offset)")
    items: list[DecisionItem]


class Explanation(BaseModel):
    id: str
    uscc: str | None
    name: str | None
    total: int
    lines_zh: list[str] = Field(description="The explanation in Chinese, one line each, as `policyengine "
                                            "explain --labels zh` prints it")
    decision: Decision = Field(description="The decision re-derived from the stored facts and the run's rule "
                                           "snapshots, with its trace")


class RunItem(BaseModel):
    id: int
    started_at: str
    ended_at: str | None
    user: str | None
    command: str | None
    input_name: str | None
    rows_in: int | None
    decided: int | None
    rejected: int | None
    status: str
    backend: str | None = None
    packages: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None


class VerifyReport(BaseModel):
    run: int
    ok: bool
    status: str
    rows: int = Field(description="Decisions replayed")
    problems: list[str]
    more: int = Field(description="Problems beyond those listed")
