"""The service's API through the ASGI test client: every route, every error status, tokens and roles, the 422
that lists every bad fact, results equal to `policyengine.evaluate` / `score` for the same facts."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from policyengine import FactErrors, Package, PolicyEngineError, evaluate, score
from policyengine.cli import main
from policyengine.decide.evaluate import fact_index
from policyengine.drafting.explain_zh import explain_zh_lines
from policyengine.engines.base import default_backend
from policyengine.facts.applicant import read_facts
from policyengine.facts.uscc import check_character
from policyengine.ir.lower import program
from policyengine.service.app import create_app
from policyengine.service.config import ServiceConfig
from policyengine.service.tokens import read_tokens

from .service_support import USERS, bearer, token_file
from .support import ROOT, VALID_USCC

FACTS: dict[str, Any] = {
    "统一社会信用代码": VALID_USCC, "申报年度": "2021", "注册地所在区": "皇姑区", "税收户管地所在区": "皇姑区",
    "注册地所在市": "沈阳市", "是否列入严重失信主体名单": "否", "高新技术企业认定类型": "首次认定",
    "高新技术企业认定年份": "2020", "上年度研发费用": "120万", "前年度研发费用": "800,000.00"}
OTHER_USCC = "91210105MALH7EF96R"
YEAR_2030_USCC = "91110108MA01A2B3C" + check_character("91110108MA01A2B3C")

ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/me", None),
    ("GET", "/v1/packages", None),
    ("GET", "/v1/packages/huangzuan16", None),
    ("POST", "/v1/evaluate", {"facts": FACTS}),
    ("POST", "/v1/evaluate/batch", {"applicants": [FACTS]}),
    ("GET", "/v1/decisions", None),
    ("GET", "/v1/decisions/1-1", None),
    ("GET", "/v1/decisions/1-1/explain", None),
    ("GET", "/v1/runs", None),
    ("GET", "/v1/runs/1", None),
    ("GET", "/v1/runs/1/verify", None),
]
FORBIDDEN = [("auditor", "POST", "/v1/evaluate", {"facts": FACTS}),
             ("auditor", "POST", "/v1/evaluate/batch", {"applicants": [FACTS]}),
             ("clerk", "GET", "/v1/runs/1/verify", None),
             ("drafter", "GET", "/v1/runs/1/verify", None)]


@pytest.fixture(scope="module")
def packages(huangzuan16: Package, municipal: Package) -> list[Package]:
    return [huangzuan16, municipal]


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    return token_file(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="module")
def client(packages: list[Package], tokens: tuple[Path, dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(ServiceConfig(packages=packages, tokens=tokens[0]))) as c:
        yield c


@pytest.fixture(scope="module")
def as_role(tokens: tuple[Path, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {role: bearer(t) for role, t in tokens[1].items()}


@pytest.fixture(scope="module", autouse=True)
def first(client: TestClient, as_role: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The first decision the module's service records (run 1), so that every route has something to show:
    made before any test of the module runs, whichever of them a pytest-xdist worker is given first."""
    r = client.post("/v1/evaluate", json={"facts": FACTS}, headers=as_role["clerk"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["decision_id"] == "1-1"
    return body


def _call(client: TestClient, method: str, path: str, body: dict[str, Any] | None,
          headers: dict[str, str] | None = None) -> Any:
    return client.request(method, path, json=body, headers=headers)


# -- tokens and roles -------------------------------------------------------------------------------------------


def test_healthz_needs_no_token(client: TestClient, packages: list[Package]) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["packages"] == [{"id": p.id, "versions": [v.version for v in p.versions]} for p in packages]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer not-a-token", "Bearer  "])
def test_every_v1_route_needs_a_valid_token(client: TestClient, first: dict[str, Any], method: str, path: str,
                                            body: dict[str, Any] | None, header: str | None) -> None:
    r = _call(client, method, path, body, {"Authorization": header} if header is not None else {})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    error = r.json()["error"]
    assert error["code"] == ("bad_token" if header == "Bearer not-a-token" else "unauthenticated")
    assert error["message_zh"]


@pytest.mark.parametrize(("role", "method", "path", "body"), FORBIDDEN,
                         ids=[f"{r} {m} {p}" for r, m, p, _ in FORBIDDEN])
def test_a_role_without_the_right_is_refused(client: TestClient, first: dict[str, Any],
                                             as_role: dict[str, dict[str, str]], role: str, method: str, path: str,
                                             body: dict[str, Any] | None) -> None:
    before = client.get("/v1/runs", headers=as_role["auditor"]).json()
    r = _call(client, method, path, body, as_role[role])
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/runs", headers=as_role["auditor"]).json() == before   # nothing was recorded


@pytest.mark.parametrize("role", ["clerk", "drafter", "auditor"])
def test_every_role_may_read(client: TestClient, first: dict[str, Any], as_role: dict[str, dict[str, str]],
                             role: str) -> None:
    for method, path, body in ROUTES:
        if method == "GET" and not path.endswith("/verify"):
            assert _call(client, method, path, body, as_role[role]).status_code == 200, path


@pytest.mark.parametrize("role", ["clerk", "drafter", "auditor"])
def test_me_names_the_tokens_user_role_and_rights(client: TestClient, as_role: dict[str, dict[str, str]],
                                                 role: str) -> None:
    rights = {"clerk": ["evaluate", "jobs", "read"], "drafter": ["draft", "evaluate", "jobs", "read"],
              "auditor": ["read", "verify"]}
    zh = {"clerk": "经办人员", "drafter": "政策起草人员", "auditor": "审计人员"}
    r = client.get("/v1/me", headers=as_role[role])
    assert r.status_code == 200
    assert r.json() == {"user": USERS[role], "role": role, "role_zh": zh[role], "rights": rights[role]}


def test_a_token_added_while_running_works_at_once(client: TestClient, tokens: tuple[Path, dict[str, str]]) -> None:
    result = CliRunner().invoke(main, ["token", "add", "--tokens", str(tokens[0]), "--user", "赵六",
                                       "--role", "auditor"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "赵六 (auditor)" in result.stderr and token not in tokens[0].read_text(encoding="utf-8")
    assert read_tokens(tokens[0])[-1].user == "赵六"
    assert client.get("/v1/runs", headers=bearer(token)).status_code == 200


def test_a_token_file_broken_while_running_is_503_and_nobody_gets_in(
        packages: list[Package], tmp_path: Path) -> None:
    path, tokens = token_file(tmp_path)
    with TestClient(create_app(ServiceConfig(packages=packages, tokens=path, record=False))) as c:
        assert c.get("/v1/runs", headers=bearer(tokens["clerk"])).status_code == 200
        path.write_text("- user: 张三\n  role: boss\n  token_sha256: x\n", encoding="utf-8")
        r = c.get("/v1/runs", headers=bearer(tokens["clerk"]))
        assert (r.status_code, r.json()["error"]["code"]) == (503, "token_file")
        path.unlink()
        assert c.get("/v1/runs", headers=bearer(tokens["clerk"])).status_code == 503
        assert c.get("/healthz").status_code == 200


def test_a_service_that_cannot_start_leaves_no_temporary_folder(packages: list[Package], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path, _ = token_file(tmp_path)
    with pytest.raises(PolicyEngineError, match="does not exist"):
        create_app(ServiceConfig(packages=packages, tokens=path, store=str(tmp_path / "no" / "audit.db")))
    with pytest.raises(PolicyEngineError, match="no such token file"):
        create_app(ServiceConfig(packages=packages, tokens=tmp_path / "none.yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.yaml"]


# -- packages ---------------------------------------------------------------------------------------------------


def test_packages_list_versions_clauses_and_the_facts_each_reads(client: TestClient, packages: list[Package],
                                                                 as_role: dict[str, dict[str, str]]) -> None:
    listed = client.get("/v1/packages", headers=as_role["clerk"]).json()
    assert [p["id"] for p in listed] == [p.id for p in packages]
    for package, shown in zip(packages, listed, strict=True):
        one = client.get(f"/v1/packages/{package.id}", headers=as_role["clerk"]).json()
        assert one == shown
        assert [(v["version"], v["from"], v["to"]) for v in shown["versions"]] == \
            [(v.version, v.meta.effective.from_year, v.meta.effective.to_year) for v in package.versions]
        for version, v in zip(package.versions, shown["versions"], strict=True):
            prog = program(version)
            assert [(c["id"], c["article"], c["title"], c["text"], c["verified"]) for c in v["clauses"]] == \
                [(c.id, c.article, c.title, c.text, c.verified) for c in version.clauses]
            for plan, clause in zip(prog.clauses, v["clauses"], strict=True):
                assert [(f["id"], f["label"], f["type"]) for f in clause["facts"]] == \
                    [(f, prog.facts[f].label, prog.facts[f].type) for f in plan.reads]
    hz3 = listed[0]["versions"][1]
    assert (hz3["version"], hz3["from"], hz3["to"]) == ("3.0", 2021, None)
    a05 = next(c for c in hz3["clauses"] if c["id"] == "a05")
    assert {"id": "rd_expense", "label": "上年度研发费用", "type": "money", "unit": "元", "values": None,
            "required": False} in a05["facts"]


def test_an_unknown_package_is_404(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    r = client.get("/v1/packages/nosuch", headers=as_role["clerk"])
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "no package 'nosuch' (served: huangzuan16, municipal)"


# -- evaluate ---------------------------------------------------------------------------------------------------


def _json(decision: Any) -> Any:
    return json.loads(decision.model_dump_json())


def test_evaluate_gives_the_librarys_decision_and_records_it_under_the_callers_name(
        client: TestClient, first: dict[str, Any], packages: list[Package], as_role: dict[str, dict[str, str]]
        ) -> None:
    assert first["decision"] == _json(evaluate(packages, FACTS, backend="interpreter"))
    assert first["decision"]["total"] == 340000
    r = client.post("/v1/evaluate", json={"facts": FACTS, "packages": ["huangzuan16"], "version": "2.0"},
                    headers=as_role["drafter"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] == _json(evaluate(packages[0], FACTS, version="2.0", backend="interpreter"))
    run = int(body["decision_id"].split("-")[0])
    assert body["decision_id"] == f"{run}-1"
    info = client.get(f"/v1/runs/{run}", headers=as_role["clerk"]).json()
    assert (info["user"], info["command"], info["rows_in"], info["decided"], info["status"]) == \
        (USERS["drafter"], "POST /v1/evaluate", 1, 1, "complete")
    stored = client.get(f"/v1/decisions/{body['decision_id']}", headers=as_role["clerk"]).json()
    assert (stored["uscc"], stored["year"], stored["total"]) == (VALID_USCC, 2021, body["decision"]["total"])
    per_package = {"huangzuan16": "2.0", "municipal": "2019"}
    r = client.post("/v1/evaluate", json={"facts": FACTS, "version": per_package}, headers=as_role["clerk"])
    assert r.json()["decision"] == _json(evaluate(packages, FACTS, version=per_package, backend="interpreter"))


def test_the_decisions_json_is_the_librarys_audit_record_byte_for_byte(packages: list[Package]) -> None:
    from policyengine.service.decisions import decision_json

    rows = list(csv.DictReader(io.StringIO((ROOT / "examples" / "applicants_2021.csv").read_bytes().decode("gb18030"))))
    decisions = []
    for row in rows:
        with contextlib.suppress(FactErrors):   # the example's rejected rows
            decisions.append(evaluate(packages, {k: v for k, v in row.items() if v}))
    decisions.append(evaluate(packages[1:], FACTS))   # facts no municipal clause reads: unused_facts given
    decisions.append(evaluate(packages, {**FACTS, "上年度研发费用": "500000000000000"}, backend=default_backend()))
    assert len(decisions) == 59 and decisions[-2].unused_facts and decisions[-1].audit.fallback
    for d in decisions:
        assert decision_json(d) == d.model_dump_json()


def test_bad_facts_are_422_listing_every_one_with_label_and_value(client: TestClient, packages: list[Package],
                                                                 as_role: dict[str, dict[str, str]]) -> None:
    facts = {"统一社会信用代码": VALID_USCC[:-1], "上年度研发费用": "一百万", "是否列入严重失信主体名单": "也许",
             "rd_expens": "5", "高新技术企业认定年份": 20.5}
    before = client.get("/v1/runs", headers=as_role["clerk"]).json()
    r = client.post("/v1/evaluate", json={"facts": facts}, headers=as_role["clerk"])
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "bad_facts"
    with pytest.raises(FactErrors) as raised:
        evaluate(packages, facts)
    assert error["problems"] == [{"fact": e.fact, "label": e.label, "value": e.value, "message": e.message,
                                  "message_zh": e.message_zh} for e in raised.value.errors]
    assert [p["message_zh"] for p in error["problems"]] == [
        "统一社会信用代码应为 18 位，此处为 17 位",
        "无法识别为金额：'一百万'（可写作 1234567、1,234,567.00、123.4567万 或 85万元）",
        "应填 是/否（或 true/false、1/0）", "无此数据项（是否应为 rd_expense 或 rd_expense_prev？）",
        "年份须为整数，实为 20.5", "必填项未填写"]
    assert error["problems"][0]["message"] == "a unified social credit code has 18 characters, this has 17"
    assert [(p["fact"], p["label"], p["value"]) for p in error["problems"]] == [
        ("uscc", "统一社会信用代码", VALID_USCC[:-1]), ("rd_expense", "上年度研发费用", "一百万"),
        ("serious_dishonesty", "是否列入严重失信主体名单", "也许"), ("rd_expens", None, "5"),
        ("hightech_cert_year", "高新技术企业认定年份", 20.5), ("application_year", "申报年度", None)]
    assert error["message_zh"] == (
        "有 6 项数据无法读取：统一社会信用代码（统一社会信用代码应为 18 位，此处为 17 位）；"
        "上年度研发费用（无法识别为金额：'一百万'（可写作 1234567、1,234,567.00、123.4567万 或 85万元））；"
        "是否列入严重失信主体名单（应填 是/否（或 true/false、1/0））；"
        "rd_expens（无此数据项（是否应为 rd_expense 或 rd_expense_prev？））；"
        "高新技术企业认定年份（年份须为整数，实为 20.5）；申报年度（必填项未填写）")
    assert client.get("/v1/runs", headers=as_role["clerk"]).json() == before


@pytest.mark.parametrize(("body", "status", "code", "text"), [
    ({"facts": FACTS, "packages": ["nosuch"]}, 422, "unknown_package", "no package 'nosuch'"),
    ({"facts": FACTS, "packages": []}, 422, "unknown_package", "name at least one"),
    ({"facts": FACTS, "packages": ["municipal", "municipal"]}, 422, "bad_request", "named twice"),
    ({"facts": FACTS, "version": "9.9"}, 422, "bad_input", "has no version '9.9'"),
    ({"facts": FACTS, "version": {"nosuch": "1"}}, 422, "unknown_package", "'nosuch' is not among"),
    ({"facts": "x"}, 422, "bad_request", "body.facts"),
    ({"fact": FACTS}, 422, "bad_request", "body.facts"),
    ({"facts": FACTS, "packages": "huangzuan16"}, 422, "bad_request", "body.packages"),
], ids=["unknown package", "no package", "twice", "unknown version", "version of no package", "facts not a map",
        "no facts", "packages not a list"])
def test_requests_that_cannot_be_answered(client: TestClient, as_role: dict[str, dict[str, str]],
                                          body: dict[str, Any], status: int, code: str, text: str) -> None:
    r = client.post("/v1/evaluate", json=body, headers=as_role["clerk"])
    assert r.status_code == status
    error = r.json()["error"]
    assert error["code"] == code
    assert text in json.dumps(error, ensure_ascii=False)


@pytest.mark.parametrize("content", [b"{", b"", b"[1, 2]", "{\"facts\": {\"申报年度\": 2021,}}".encode()])
def test_a_body_that_is_not_json_is_422(client: TestClient, as_role: dict[str, dict[str, str]],
                                        content: bytes) -> None:
    r = client.post("/v1/evaluate", content=content,
                    headers={**as_role["clerk"], "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "bad_request"


_BASE = f'"统一社会信用代码": "{VALID_USCC}", "申报年度": "2021"'


@pytest.mark.parametrize(("value", "shown"), [
    ("NaN", "nan"), ("Infinity", "inf"), ("-1e400", "-inf"), ("9" * 30, "9" * 30), ("[1, [2]]", "[1, [2]]"),
    ('{"a": null}', "{'a': None}"), ("true", True), ('"\\u0000"', "\x00"), ("2.5", 2.5)])
def test_hostile_values_are_a_422_naming_them_never_a_500(client: TestClient, as_role: dict[str, dict[str, str]],
                                                          value: str, shown: object) -> None:
    body = f'{{"facts": {{{_BASE}, "上年度研发费用": {value}}}}}'.encode()
    r = client.post("/v1/evaluate", content=body, headers={**as_role["clerk"], "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    (problem,) = r.json()["error"]["problems"]
    assert (problem["fact"], problem["label"], problem["value"]) == ("rd_expense", "上年度研发费用", shown)


# -- batch ------------------------------------------------------------------------------------------------------


def test_batch_gives_scores_decisions_in_order_with_the_rejects(client: TestClient, packages: list[Package],
                                                                as_role: dict[str, dict[str, str]]) -> None:
    applicants: list[dict[str, Any]] = [
        FACTS,
        {"uscc": OTHER_USCC[:-1], "application_year": 2021},
        {**{k: v for k, v in FACTS.items() if k not in ("统一社会信用代码", "高新技术企业认定类型")},
         "uscc": OTHER_USCC, "hightech_status": "重新认定"},
        {"统一社会信用代码": "91210105MA0000001Y", "申报年度": "2019", "上年度研发费用": "abc"},
        {"uscc": YEAR_2030_USCC, "application_year": 2030},
    ]
    r = client.post("/v1/evaluate/batch", json={"applicants": applicants}, headers=as_role["clerk"])
    assert r.status_code == 200, r.text
    body = r.json()
    index = fact_index(packages)   # the library's spelling of each key, so that score() reads one column per fact
    expected = score([{index.resolve(k).name: v for k, v in a.items()} for a in applicants], packages)
    decided = expected.decisions.to_dicts()
    assert (body["rows_in"], body["decided"], body["rejected"]) == (5, len(decided), 5 - len(decided))
    assert [d["index"] for d in body["decisions"]] == [0, 1, 2, 3, 4]
    assert [d["row"] for d in body["decisions"]] == [2, 3, 4, 5, 6]
    got = [d for d in body["decisions"] if d["status"] == "decided"]
    assert [(d["uscc"], d["total"]) for d in got] == [(e["uscc"], e["total"]) for e in decided]
    for d, e in zip(got, decided, strict=True):
        for p in packages:
            assert d["packages"][p.id]["total"] == e[f"{p.id}.total"]
            for cid, c in d["packages"][p.id]["clauses"].items():
                assert (c["status"], c["amount"], c.get("computed")) == \
                    (e[f"{p.id}.{cid}.status"], e[f"{p.id}.{cid}.amount"], e[f"{p.id}.{cid}.computed"])
        assert d["reasons"] == (e["reasons"] or None)
        assert d["decision_id"] == f"{body['run_id']}-{d['row']}"
    rejected = {d["row"]: d["problems"] for d in body["decisions"] if d["status"] == "rejected"}
    assert rejected == {row: [{"column": r.column, "value": r.value, "reason": r.reason, "reason_zh": r.reason_zh}
                              for r in expected.scored.rejects if r.row == row]
                        for row in {r.row for r in expected.scored.rejects}}
    assert all(p["reason_zh"] != p["reason"] for ps in rejected.values() for p in ps)   # Chinese, not a copy
    assert set(rejected) == {3, 5}
    assert body["total"] == sum(e["total"] for e in decided)
    # the same applicant decided alone gives the same amounts (no fund is over-subscribed here)
    alone = evaluate(packages, FACTS, backend="interpreter")
    assert body["decisions"][0]["total"] == alone.total
    info = client.get(f"/v1/runs/{body['run_id']}", headers=as_role["clerk"]).json()
    assert (info["user"], info["command"], info["rows_in"], info["decided"], info["rejected"]) == \
        (USERS["clerk"], "POST /v1/evaluate/batch", 5, 3, 2)
    listed = client.get(f"/v1/decisions?run={body['run_id']}", headers=as_role["clerk"]).json()
    assert [i["id"] for i in listed["items"]] == [d["decision_id"] for d in got]
    report = client.get(f"/v1/runs/{body['run_id']}/verify", headers=as_role["auditor"]).json()
    assert (report["ok"], report["rows"], report["problems"]) == (True, 3, [])
    explained = client.get(f"/v1/decisions/{got[2]['decision_id']}/explain", headers=as_role["clerk"]).json()
    assert (explained["id"], explained["total"], explained["decision"]["total"]) == \
        (got[2]["decision_id"], got[2]["total"], got[2]["total"])
    assert explained["lines_zh"][0].endswith(f"运行 {body['run_id']} 第 6 行（{info['started_at']}）")


def test_batch_names_a_fact_given_twice_and_takes_one_package(client: TestClient, packages: list[Package],
                                                             as_role: dict[str, dict[str, str]]) -> None:
    r = client.post("/v1/evaluate/batch", json={"applicants": [FACTS, {**FACTS, "uscc": VALID_USCC}]},
                    headers=as_role["clerk"])
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "applicants[1]: '统一社会信用代码' and 'uscc' both give uscc; keep one"
    r = client.post("/v1/evaluate/batch", json={"applicants": [FACTS], "packages": ["municipal"]},
                    headers=as_role["clerk"])
    assert r.status_code == 200
    assert list(r.json()["decisions"][0]["packages"]) == ["municipal"]
    assert r.json()["total"] == evaluate(packages[1], FACTS).total
    for body, code in [({"applicants": []}, "bad_request"), ({"applicants": [1]}, "bad_request"),
                       ({"applicants": [FACTS], "packages": ["x"]}, "unknown_package")]:
        r = client.post("/v1/evaluate/batch", json=body, headers=as_role["clerk"])
        assert (r.status_code, r.json()["error"]["code"]) == (422, code)


def test_a_batch_over_the_limit_is_413(packages: list[Package], tokens: tuple[Path, dict[str, str]]) -> None:
    app = create_app(ServiceConfig(packages=packages, tokens=tokens[0], batch_limit=2, record=False))
    with TestClient(app) as c:
        headers = bearer(tokens[1]["clerk"])
        r = c.post("/v1/evaluate/batch", json={"applicants": [FACTS] * 3}, headers=headers)
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "too_large"
        assert "at most 2 per request" in r.json()["error"]["message"]
        assert c.post("/v1/evaluate/batch", json={"applicants": [FACTS] * 2}, headers=headers).status_code == 200
        r = c.post("/v1/evaluate", json={"facts": FACTS}, headers=headers)   # --no-record
        assert (r.status_code, r.json()["decision_id"]) == (200, None)
        assert [run["command"] for run in c.get("/v1/runs", headers=headers).json()] == ["POST /v1/evaluate/batch"]


def test_a_body_over_its_limit_is_413_before_it_is_read(packages: list[Package],
                                                        tokens: tuple[Path, dict[str, str]]) -> None:
    one = json.dumps({"facts": FACTS}, ensure_ascii=False).encode()
    app = create_app(ServiceConfig(packages=packages, tokens=tokens[0], record=False,
                                   evaluate_body_limit=len(one), batch_body_limit=3 * len(one)))
    with TestClient(app) as c:
        headers = {**bearer(tokens[1]["clerk"]), "Content-Type": "application/json"}
        assert c.post("/v1/evaluate", content=one, headers=headers).status_code == 200   # at the limit
        r = c.post("/v1/evaluate", content=one + b" ", headers=headers)   # declared: one byte over
        assert r.status_code == 413
        assert r.json()["error"] == {"code": "too_large", "message": "the request body of POST /v1/evaluate is "
                                     f"larger than the limit of {len(one):,} bytes",
                                     "message_zh": f"单户测算的请求内容过大：上限为 {len(one) / 1024:.0f} KB"}

        def chunks() -> Iterator[bytes]:   # no Content-Length: counted as it arrives
            yield one
            yield b"  "

        r = c.post("/v1/evaluate", content=chunks(), headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (413, "too_large")
        assert "content-length" not in r.request.headers
        batch = json.dumps({"applicants": [FACTS] * 4}, ensure_ascii=False).encode()
        r = c.post("/v1/evaluate/batch", content=batch, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (413, "too_large")
        assert "POST /v1/evaluate/batch" in r.json()["error"]["message"]
        assert c.get("/v1/runs", headers=headers).json() == []   # nothing was decided


def test_a_number_too_long_to_read_is_422_naming_the_field(client: TestClient,
                                                           as_role: dict[str, dict[str, str]]) -> None:
    headers = {**as_role["clerk"], "Content-Type": "application/json"}
    long = "9" * 5000
    body = f'{{"facts": {{{_BASE}, "上年度研发费用": {long}}}}}'.encode()
    r = client.post("/v1/evaluate", content=body, headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_request"
    assert [p["field"] for p in error["problems"]] == ["facts.上年度研发费用"]
    assert "5000 digits" in error["problems"][0]["message"]
    second = f'{_BASE}, "上年度研发费用": -{long}, "前年度研发费用": [{long}]'
    batch = f'{{"applicants": [{{{_BASE}}}, {{{second}}}]}}'.encode()
    r = client.post("/v1/evaluate/batch", content=batch, headers=headers)
    assert r.status_code == 422, r.text
    assert [p["field"] for p in r.json()["error"]["problems"]] == ["applicants.1.上年度研发费用",
                                                                "applicants.1.前年度研发费用.0"]


# -- decisions, explanations, runs ------------------------------------------------------------------------------


def test_decisions_are_listed_by_uscc_and_run_with_limit_and_offset(client: TestClient, first: dict[str, Any],
                                                                    as_role: dict[str, dict[str, str]]) -> None:
    everything = client.get(f"/v1/decisions?uscc={VALID_USCC}&limit=1000", headers=as_role["clerk"]).json()
    assert everything["total"] == len(everything["items"]) >= 1
    assert all(i["uscc"] == VALID_USCC for i in everything["items"])
    runs = [i["run"] for i in everything["items"]]
    assert runs == sorted(runs, reverse=True) and runs[-1] == 1
    page = client.get(f"/v1/decisions?uscc={VALID_USCC}&limit=1&offset=1", headers=as_role["clerk"]).json()
    assert page == {"total": everything["total"], "items": everything["items"][1:2]}
    one = client.get("/v1/decisions?run=1", headers=as_role["clerk"]).json()
    assert one["total"] == 1
    item = one["items"][0]
    assert (item["id"], item["run"], item["row"], item["uscc"], item["year"], item["total"]) == \
        ("1-1", 1, 1, VALID_USCC, 2021, 340000)
    assert item["outcome"]["huangzuan16"]["v"] == "3.0"
    assert client.get("/v1/decisions/1-1", headers=as_role["clerk"]).json() == item
    assert client.get("/v1/decisions?uscc=nobody", headers=as_role["clerk"]).json() == {"total": 0, "items": []}
    for query in ("limit=0", "limit=1001", "offset=-1", "run=0", "run=x"):
        r = client.get(f"/v1/decisions?{query}", headers=as_role["clerk"])
        assert (r.status_code, r.json()["error"]["code"]) == (422, "bad_request"), query


@pytest.mark.parametrize("decision_id", ["999-1", "1-2", "1", "x-1", "1-1-1", "0-1"])
def test_an_unknown_decision_is_404(client: TestClient, first: dict[str, Any], as_role: dict[str, dict[str, str]],
                                    decision_id: str) -> None:
    for path in (f"/v1/decisions/{decision_id}", f"/v1/decisions/{decision_id}/explain"):
        r = client.get(path, headers=as_role["clerk"])
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"


def test_explain_gives_the_chinese_explanation_and_the_decision(client: TestClient, first: dict[str, Any],
                                                                packages: list[Package],
                                                                as_role: dict[str, dict[str, str]]) -> None:
    r = client.get("/v1/decisions/1-1/explain", headers=as_role["auditor"])
    assert r.status_code == 200
    body = r.json()
    assert (body["id"], body["uscc"], body["total"]) == ("1-1", VALID_USCC, 340000)
    replayed, recorded = body["decision"], first["decision"]
    assert replayed["audit"].pop("sources").keys() == recorded["audit"].pop("sources").keys()   # snapshot folders
    assert replayed == recorded
    facts = read_facts(fact_index(packages), first["decision"]["facts"])
    decision = evaluate(packages, facts, backend="interpreter")
    expected = explain_zh_lines(packages, facts, decision)
    assert body["lines_zh"][1:] == expected[1:]
    assert body["lines_zh"][0].startswith(f"申报企业：（未填写企业名称）（{VALID_USCC}） — 运行 1 第 1 行（")
    assert body["lines_zh"][-1].startswith("总计：34万元")


def test_runs_are_listed_newest_first_and_verified_by_an_auditor(client: TestClient, first: dict[str, Any],
                                                                 as_role: dict[str, dict[str, str]]) -> None:
    runs = client.get("/v1/runs", headers=as_role["clerk"]).json()
    ids = [r["id"] for r in runs]
    assert ids == sorted(ids, reverse=True) and ids[-1] == 1
    assert client.get("/v1/runs?limit=1", headers=as_role["clerk"]).json() == runs[:1]
    one = client.get("/v1/runs/1", headers=as_role["clerk"]).json()
    assert one == runs[-1]
    assert (one["user"], one["command"], one["status"]) == (USERS["clerk"], "POST /v1/evaluate", "complete")
    report = client.get("/v1/runs/1/verify", headers=as_role["auditor"]).json()
    assert report == {"run": 1, "ok": True, "status": "complete", "rows": 1, "problems": [], "more": 0}
    for path in ("/v1/runs/999", "/v1/runs/999/verify"):
        r = client.get(path, headers=as_role["auditor"])
        assert (r.status_code, r.json()["error"]["message"]) == (404, "no run 999")


# -- the OpenAPI document and /docs -----------------------------------------------------------------------------


def test_openapi_documents_every_route_and_shape(client: TestClient) -> None:
    doc = client.get("/v1/openapi.json").json()
    assert {p for p in doc["paths"] if p.startswith("/v1/") and "/jobs" not in p} == {
        "/v1/me", "/v1/packages", "/v1/packages/{package_id}", "/v1/evaluate", "/v1/evaluate/batch", "/v1/decisions",
        "/v1/decisions/{decision_id}", "/v1/decisions/{decision_id}/explain", "/v1/runs", "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/verify"}
    schemas = doc["components"]["schemas"]
    for name in ("PackageInfo", "EvaluateRequest", "EvaluateResponse", "Decision", "BatchRequest", "BatchResponse",
                 "BatchDecision", "DecisionList", "Explanation", "RunItem", "VerifyReport", "ErrorBody"):
        assert name in schemas, name
    evaluate_op = doc["paths"]["/v1/evaluate"]["post"]
    assert evaluate_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/EvaluateResponse"
    assert set(evaluate_op["responses"]) >= {"200", "401", "403", "422"}


def test_docs_page_serves_its_assets_itself(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "https://" not in page.text and "http://" not in page.text   # no CDN
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/docs/assets/{asset}" in page.text
        r = client.get(f"/docs/assets/{asset}")
        assert r.status_code == 200 and len(r.content) > 10_000


# -- the command line -------------------------------------------------------------------------------------------


def test_serve_says_in_one_line_what_is_missing_or_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICYENGINE_TOKENS", raising=False)
    r = CliRunner().invoke(main, ["serve"])
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --tokens FILE (or POLICYENGINE_TOKENS=FILE) is needed") and \
        r.stderr.count("\n") == 1
    r = CliRunner().invoke(main, ["serve", "--port", "0"], env={"POLICYENGINE_TOKENS": str(tmp_path / "no.yaml")})
    assert (r.exit_code, r.stderr) == (2, f"error: {tmp_path / 'no.yaml'}: no such token file (create one with "
                                          f"`policyengine token add --tokens {tmp_path / 'no.yaml'} --user NAME "
                                          "--role clerk`)\n")
    path, _ = token_file(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(main, ["serve", "--tokens", str(path), "--port", str(port)])
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: --host 127.0.0.1 --port {port}: cannot listen: ") and \
        r.stderr.count("\n") == 1
    r = CliRunner().invoke(main, ["token", "add", "--tokens", str(tmp_path / "nofolder" / "t.yaml"), "--user", "x",
                                  "--role", "clerk"])
    assert (r.exit_code, r.stderr) == (2, f"error: --tokens {tmp_path / 'nofolder' / 't.yaml'}: the folder "
                                          f"{tmp_path / 'nofolder'} does not exist\n")
    r = CliRunner().invoke(main, ["token", "add", "--tokens", str(path), "--user", "x", "--role", "boss"])
    assert r.exit_code == 2 and "'boss' is not one of 'clerk', 'drafter', 'auditor'" in r.stderr
