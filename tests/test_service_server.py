"""The real `policyengine serve` process: started on a free port, spoken to over HTTP, stopped with SIGTERM; and
every console example of docs/service.md run against it, in order."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import httpx
import openpyxl

from policyengine import evaluate, load_package

from .console_docs import shown_commands
from .service_support import DocSession, bearer, start_server, token_file
from .support import ROOT, VALID_USCC

FACTS = {"统一社会信用代码": VALID_USCC, "申报年度": "2021", "注册地所在区": "皇姑区", "税收户管地所在区": "皇姑区",
         "是否列入严重失信主体名单": "否", "高新技术企业认定类型": "首次认定", "高新技术企业认定年份": "2020",
         "上年度研发费用": "120万", "前年度研发费用": "80万"}


def test_real_server_decides_over_http_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    path, tokens = token_file(tmp_path)
    server = start_server(["--tokens", str(path), "--package", "huangzuan16"], tmp_path)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)   # 127.0.0.1 unless --host says otherwise
        m = re.fullmatch(r"store: sqlite:///(/\S+/decisions\.db) \(temporary: deleted when the service stops\)",
                         server.stdout[1])
        assert m is not None, server.stdout
        store = Path(m.group(1))
        assert store.is_file()
        answer = httpx.post(f"{server.url}/v1/evaluate", json={"facts": FACTS}, headers=bearer(tokens["clerk"]),
                            timeout=30)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        expected = evaluate(load_package("huangzuan16"), FACTS, backend="interpreter")
        assert body["decision"] == json.loads(expected.model_dump_json())
        assert body["decision_id"] == "1-1"
        runs = httpx.get(f"{server.url}/v1/runs", headers=bearer(tokens["auditor"]), timeout=30).json()
        assert [(r["id"], r["user"], r["command"]) for r in runs] == [(1, "张三", "POST /v1/evaluate")]
        assert httpx.get(f"{server.url}/v1/runs", timeout=30).status_code == 401
    finally:
        status = server.stop(signal.SIGTERM)
    assert status == 0, server.stderr
    assert server.stderr[-1] == "policyengine service stopped"
    assert "Application shutdown complete." in "\n".join(server.stderr)
    assert not store.parent.exists()   # the temporary store and work folder went with the service
    logged = "\n".join(server.stdout + server.stderr)
    assert '"POST /v1/evaluate HTTP/1.1" 200' in logged   # the access log is on
    assert not any(tokens[r] in logged for r in tokens) and "Bearer" not in logged   # the token never logged


def test_docs_examples_run_against_the_real_server(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    commands = shown_commands(page)
    assert sum(c.command.startswith("curl ") for c in commands) >= 12
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    session = DocSession(tmp_path)
    try:
        for shown in commands:
            problem = session.run(shown)
            assert problem is None, f"docs/service.md: {shown.command[:120]}: {problem}"
    finally:
        status = session.server.stop() if session.server is not None else 0
    assert status == 0
    assert (tmp_path / "out" / "audit.db").is_file()   # --store: kept after the service stops
    book = openpyxl.load_workbook(tmp_path / "out" / "applicants_2021-result.xlsx", read_only=True)
    assert book.sheetnames == ["结果", "未通过", "汇总", "条款"]   # the job's workbook, as downloaded
    book.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples", "out"]   # nothing left beside them


def test_the_readmes_service_command_is_the_one_this_page_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```console\n(.*?)```", readme, re.S) if "policyengine serve" in b]
    steps = block.strip().split(" && ")
    assert steps[:2] == [". .venv/bin/activate", "mkdir -p out"]
    page = [c.command for c in shown_commands((ROOT / "docs" / "service.md").read_text(encoding="utf-8"))]
    assert f"TOKEN=$({steps[2]})" in page   # token add, as the page runs it
    assert steps[3] in page                 # serve, as the page runs it
    assert len(steps) == 4
