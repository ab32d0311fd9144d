"""Spreadsheet jobs through the service (`POST /v1/jobs` …) and the page's routes, with the ASGI test client."""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

import policyengine
from policyengine import Package
from policyengine.service import jobs as jobs_module
from policyengine.service.app import create_app
from policyengine.service.config import ServiceConfig
from policyengine.service.tokens import add_token

from .support import ROOT

CSV = ROOT / "examples" / "applicants_2021.csv"
XLSX = ROOT / "examples" / "applicants_2021.xlsx"
SHEETS = ["结果", "未通过", "汇总", "条款"]


class Service:
    def __init__(self, client: TestClient, tokens: dict[str, str], work: Path) -> None:
        self.client = client
        self.tokens = tokens
        self.work = work

    def auth(self, who: str = "clerk") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def upload(self, path: Path, who: str = "clerk", name: str | None = None, **form: str) -> Any:
        with path.open("rb") as fh:
            return self.client.post("/v1/jobs", headers=self.auth(who), files={"file": (name or path.name, fh)},
                                    data=form)

    def wait(self, job_id: str, who: str = "clerk") -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.client.get(f"/v1/jobs/{job_id}", headers=self.auth(who)).json()
            if job["state"] in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")


def _service(tmp: Path, packages: list[Package], **config: Any) -> Iterator[Service]:
    tokens = tmp / "tokens.yaml"
    issued = {"clerk": add_token(tokens, "张三", "clerk"), "other": add_token(tokens, "李四", "clerk"),
              "auditor": add_token(tokens, "王五", "auditor")}
    work = tmp / "work"
    app = create_app(ServiceConfig(packages=packages, tokens=tokens, work_dir=work, **config))
    with TestClient(app) as client:
        yield Service(client, issued, work)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, huangzuan16: Package, municipal: Package
            ) -> Iterator[Service]:
    yield from _service(tmp_path_factory.mktemp("jobs"), [huangzuan16, municipal])


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    """`policyengine.score` on the example file: what a job must find."""
    return policyengine.score(CSV).summary


@pytest.mark.parametrize("path", [CSV, XLSX], ids=["csv", "xlsx"])
def test_job_scores_as_score_does_and_offers_both_files(service: Service, expected: dict[str, Any],
                                                        path: Path) -> None:
    created = service.upload(path)
    assert created.status_code == 202
    assert created.json()["state"] == "queued"
    assert created.headers["location"] == f"/v1/jobs/{created.json()['id']}"
    job = service.wait(created.json()["id"])
    assert job["state"] == "done", job
    assert job["user"] == "张三" and job["file_name"] == path.name
    assert job["rows_total"] == job["rows_done"] == expected["rows"]["in"]
    assert job["rows_recorded"] == expected["rows"]["out"]
    assert job["progress"] == 1.0
    s = job["summary"]
    assert s["total"] == expected["total"]
    assert (s["rows"], s["packages"]) == (expected["rows"], expected["packages"])
    assert job["titles"]["huangzuan16"]["title"] == "皇钻十六条"

    book = service.client.get(f"/v1/jobs/{job['id']}/result?format=xlsx", headers=service.auth())
    assert book.status_code == 200
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''applicants_2021-" in book.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True)
    assert wb.sheetnames == SHEETS
    assert wb["结果"].max_row == expected["rows"]["out"] + 1
    assert wb["未通过"].max_row == len(policyengine.score(path).rejects) + 1

    text = service.client.get(f"/v1/jobs/{job['id']}/result", params={"format": "csv"}, headers=service.auth())
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert len(rows) == expected["rows"]["out"]
    assert sum(int(r["total"]) for r in rows) == expected["total"]

    run = service.client.app.state.service.store.run(job["run_id"])   # type: ignore[attr-defined]
    assert (run.user, run.command, run.input_name, run.status) == ("张三", "POST /v1/jobs", path.name, "complete")
    assert run.input_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (run.rows_in, run.decided, run.rejected) == (expected["rows"]["in"], expected["rows"]["out"],
                                                        expected["rows"]["rejected"])


def test_jobs_are_the_callers_own(service: Service) -> None:
    own = service.wait(service.upload(CSV).json()["id"])   # its own job: under xdist the module's other tests
    mine = service.client.get("/v1/jobs", headers=service.auth()).json()   # may run in another worker
    assert own["id"] in [j["id"] for j in mine]
    assert mine and all(j["user"] == "张三" for j in mine)
    assert [j["created_at"] for j in mine] == sorted((j["created_at"] for j in mine), reverse=True)
    assert service.client.get("/v1/jobs", headers=service.auth("other")).json() == []
    other = service.client.get(f"/v1/jobs/{mine[0]['id']}", headers=service.auth("other"))
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert service.client.get(f"/v1/jobs/{mine[0]['id']}/result", headers=service.auth("other")).status_code == 404


def test_chosen_package_and_version(service: Service) -> None:
    job = service.wait(service.upload(CSV, packages="municipal").json()["id"])
    assert [p["package"] for p in job["summary"]["packages"]] == ["municipal"]
    assert job["summary"]["total"] == policyengine.score(CSV, "municipal").summary["total"]
    bad = service.upload(CSV, packages="municipal,nosuch")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_package"
    wrong = service.upload(CSV, version="9.9")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unknown_version"
    assert "9.9" in wrong.json()["error"]["message"]


def _bad_files(tmp: Path) -> list[tuple[str, bytes, str, str]]:
    """(file name, content, a piece of the English error, a piece of the Chinese one)."""
    header = "统一社会信用代码,企业名称,申报年度\n".encode("gbk")
    return [
        ("照片.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a readable .xlsx", "不是可读取的表格文件"),
        ("名单.csv", "企业名称,申报年度\n某公司,2021\n".encode(), "required column missing: 统一社会信用代码 (uscc)",
         "表格缺少必填列：统一社会信用代码 (uscc)"),
        ("乱码.csv", header + b"\x80\x80,\xff\xfe,2021\n", "not valid gb18030 text", "文件编码无法识别"),
        ("旧表.xls", b"\xd0\xcf\x11\xe0" + bytes(100), "only .xlsx and .csv are read", "只能读取 .xlsx 或 .csv"),
        ("空.csv", b"", "the file is empty", "表格为空"),
    ]


def test_bad_upload_fails_the_job_with_a_reason(service: Service, tmp_path: Path) -> None:
    for name, content, english, chinese in _bad_files(tmp_path):
        path = tmp_path / "upload.bin"
        path.write_bytes(content)
        created = service.upload(path, name=name)
        assert created.status_code == 202, name
        job = service.wait(created.json()["id"])
        assert job["state"] == "failed", name
        assert english in job["error"], (name, job["error"])
        assert job["error"].startswith(name) or "required column" in job["error"], job["error"]
        assert str(service.work) not in job["error"]   # the server's folders are not shown
        assert chinese in job["error_zh"] and name in job["error_zh"], job["error_zh"]
        result = service.client.get(f"/v1/jobs/{job['id']}/result", headers=service.auth())
        assert result.status_code == 409 and result.json()["error"]["code"] == "job_failed"
        if job["run_id"] is not None:   # the file was read, its columns were not right: the run is recorded
            run = service.client.app.state.service.store.run(job["run_id"])   # type: ignore[attr-defined]
            assert run.status == "failed" and english in (run.error or "")


def test_progress_advances_row_by_row_chunk(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job's rows_done follows score_table's progress callback (chunks of 16 rows here)."""
    import policyengine.batch.score as score_module

    monkeypatch.setattr(score_module, "PROGRESS_CHUNK", 16)
    seen: list[int] = []
    real = jobs_module.score_table
    jobs = jobs_module.manager(service.client.app.state.service)   # type: ignore[attr-defined]

    def spying(*args: Any, progress: Callable[[int], None], **kwargs: Any) -> Any:
        def tell(n: int) -> None:
            progress(n)
            seen.append(jobs.list("张三")[0].rows_done)
        return real(*args, progress=tell, **kwargs)

    monkeypatch.setattr(jobs_module, "score_table", spying)
    job = service.wait(service.upload(CSV).json()["id"])
    assert job["state"] == "done"
    rejected, out = job["summary"]["rows"]["rejected"], job["summary"]["rows"]["out"]
    steps = [rejected + min(n, out) for n in range(16, out + 16, 16)]
    assert seen == [rejected, *steps]


def test_result_waits_for_the_job(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    gate, entered = threading.Event(), threading.Event()
    real = jobs_module.read_table

    def held(path: Path) -> Any:
        entered.set()
        gate.wait(10)
        return real(path)

    monkeypatch.setattr(jobs_module, "read_table", held)
    job_id = service.upload(CSV).json()["id"]
    try:
        assert entered.wait(10)
        running = service.client.get(f"/v1/jobs/{job_id}", headers=service.auth()).json()
        assert running["state"] == "running" and running["stage"] == "reading" and running["results"] is None
        early = service.client.get(f"/v1/jobs/{job_id}/result", headers=service.auth())
        assert early.status_code == 409 and early.json()["error"]["code"] == "job_not_done"
        queued = service.upload(CSV).json()["id"]   # one worker: the second waits
        assert service.client.get(f"/v1/jobs/{queued}", headers=service.auth()).json()["state"] == "queued"
    finally:
        gate.set()
    assert service.wait(job_id)["state"] == "done"
    assert service.wait(queued)["state"] == "done"


def test_auth_and_request_errors(service: Service) -> None:
    c = service.client
    with CSV.open("rb") as fh:
        none = c.post("/v1/jobs", files={"file": ("a.csv", fh)})
    assert none.status_code == 401 and none.json()["error"]["code"] == "unauthenticated"
    wrong = c.get("/v1/jobs", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_token"
    assert c.get("/v1/jobs/x", headers={}).status_code == 401
    auditor = service.upload(CSV, who="auditor")
    assert auditor.status_code == 403 and auditor.json()["error"]["code"] == "forbidden"
    assert c.get("/v1/jobs", headers=service.auth("auditor")).status_code == 403
    no_file = c.post("/v1/jobs", headers=service.auth(), data={"packages": "municipal"}, files={"x": ("a", b"1")})
    assert no_file.status_code == 422 and no_file.json()["error"]["code"] == "no_file"
    json_body = c.post("/v1/jobs", headers=service.auth(), json={"file": "x"})
    assert json_body.status_code == 415 and json_body.json()["error"]["code"] == "not_multipart"
    fmt = c.get(f"/v1/jobs/{c.get('/v1/jobs', headers=service.auth()).json()[0]['id']}/result?format=pdf",
                headers=service.auth())
    assert fmt.status_code == 422
    missing = c.get("/v1/jobs/0000/result", headers=service.auth())
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "policyengine-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_upload_limit_is_enforced_while_streaming(tmp_path: Path, huangzuan16: Package) -> None:
    limit = 8_000
    for s in _service(tmp_path, [huangzuan16], upload_limit=limit):
        big = XLSX.read_bytes()
        assert len(big) > limit
        declared = s.upload(XLSX)   # Content-Length says too much: refused before the body is read
        assert declared.status_code == 413
        assert declared.json()["error"] == {"code": "too_large", "message": f"the upload is larger than the limit "
                                            f"of {limit:,} bytes", "message_zh": "上传的文件过大：上限为 8 KB"}
        body, ctype = _multipart("big.xlsx", big + bytes(100_000))

        def chunks(body: bytes = body) -> Iterator[bytes]:
            for i in range(0, len(body), 4096):
                yield body[i:i + 4096]

        streamed = s.client.post("/v1/jobs", headers={**s.auth(), "Content-Type": ctype}, content=chunks())
        assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "too_large"
        assert "content-length" not in streamed.request.headers
        # the file part alone over the limit, the body within limit + slack: refused once parsed
        small, ctype = _multipart("a.csv", bytes(limit + 10))
        assert s.client.post("/v1/jobs", headers={**s.auth(), "Content-Type": ctype},
                             content=small).status_code == 413
        assert s.client.get("/v1/jobs", headers=s.auth()).json() == []
        assert [p for p in s.work.rglob("*") if p.is_file() and not p.name.startswith("decisions.db")] == []
        assert s.upload(CSV).status_code == 413   # 10 KB: over the limit too; a small file passes
        tiny = tmp_path / "one.csv"
        tiny.write_bytes(CSV.read_bytes().splitlines(keepends=True)[0] + CSV.read_bytes().splitlines(keepends=True)[1])
        job = s.wait(s.upload(tiny).json()["id"])
        assert job["state"] == "done" and job["rows_total"] == 1


def test_page_and_assets_are_served_from_the_package(service: Service) -> None:
    from importlib.resources import files

    c = service.client
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "惠企政策兑现测算" in page.text and 'src="/static/app.js"' in page.text
    web = files("policyengine.service").joinpath("web")
    for name, media in (("app.js", "text/javascript"), ("app.css", "text/css")):
        got = c.get(f"/static/{name}")
        assert got.status_code == 200 and got.headers["content-type"].startswith(media)
        assert got.content == web.joinpath(name).read_bytes()
        assert "//cdn" not in got.text and "https://" not in got.text   # nothing fetched from elsewhere
    for bad in ("index.html.bak", "..%2Fjobs.py", "nosuch.js", "%2e%2e"):
        assert c.get(f"/static/{bad}").status_code == 404
