"""`POST /v1/evaluate` with the Rete backend under concurrent requests: durable_rules is not thread-safe, and one
lock (`engines.rete.driver.ENGINE_LOCK`) serialises every call into it. Many threads call the service at once;
every decision equals the interpreter's, and no two engine calls ever overlap."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from policyengine import Package, evaluate
from policyengine.engines.rete import unavailable_reason
from policyengine.service.app import create_app
from policyengine.service.config import ServiceConfig

from .service_support import bearer, token_file
from .support import VALID_USCC

THREADS = 16
REQUESTS = 20   # per thread

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")


class Watch:
    """Stands in for the durable_rules_engine module: counts the calls in flight at once (each call held a
    moment, so that calls which were not serialised would be seen overlapping) and the threads that call."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.error = real.error
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.calls = 0
        self.threads: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.real, name)
        if not callable(target):
            return target

        def call(*args: Any) -> Any:
            with self.lock:
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
                self.calls += 1
                self.threads.add(threading.get_ident())
            try:
                time.sleep(0.0005)
                return target(*args)
            finally:
                with self.lock:
                    self.in_flight -= 1

        return call


def applicants() -> list[dict[str, Any]]:
    """Applicants that take different paths through both packages and both versions of 皇钻十六条."""
    out = []
    for year, status, district, honest, rd in itertools.product(
            ("2020", "2021"), ("首次认定", "重新认定", "无"), ("皇姑区", "和平区"), ("否", "是"),
            ("120万", "80万", None)):
        facts: dict[str, Any] = {
            "统一社会信用代码": VALID_USCC, "申报年度": year, "注册地所在区": district, "税收户管地所在区": "皇姑区",
            "注册地所在市": "沈阳市", "是否列入严重失信主体名单": honest, "高新技术企业认定类型": status,
            "高新技术企业认定年份": str(int(year) - 1), "前年度研发费用": "100万"}
        if rd is not None:
            facts["上年度研发费用"] = rd
        out.append(facts)
    # money beyond what the engine holds exactly: left to the reference interpreter, as the audit says
    out.append({**out[-1], "申报年度": "2021", "上年度研发费用": "500000000000000"})
    return out


@pytest.fixture(scope="module")
def service(huangzuan16: Package, municipal: Package, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[TestClient, dict[str, str]]]:
    path, tokens = token_file(tmp_path_factory.mktemp("tokens"))
    app = create_app(ServiceConfig(packages=[huangzuan16, municipal], tokens=path, backend="rete", record=False))
    with TestClient(app) as client:
        yield client, bearer(tokens["clerk"])


def test_concurrent_rete_decisions_equal_the_interpreters(service: tuple[TestClient, dict[str, str]],
                                                          huangzuan16: Package, municipal: Package,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from policyengine.engines.rete.backend import prepare

    client, headers = service
    people = applicants()
    expected = [evaluate([huangzuan16, municipal], f, backend="interpreter").model_dump(mode="json")
                for f in people]
    watch: Watch | None = None
    for p in (huangzuan16, municipal):
        for v in p.versions:
            engine = prepare(v).engine   # prepared when the service started
            watch = watch or Watch(engine._dre)
            monkeypatch.setattr(engine, "_dre", watch)
    assert watch is not None
    start = threading.Barrier(THREADS)

    def worker(t: int) -> list[tuple[int, dict[str, Any]]]:
        start.wait()
        got = []
        for k in range(REQUESTS):
            i = (t * REQUESTS + k) % len(people)
            r = client.post("/v1/evaluate", json={"facts": people[i]}, headers=headers)
            assert r.status_code == 200, r.text
            got.append((i, r.json()["decision"]))
        return got

    with ThreadPoolExecutor(THREADS) as pool:
        results = [x for part in pool.map(worker, range(THREADS)) for x in part]
    assert len(results) == THREADS * REQUESTS
    for i, decision in results:
        if i == len(people) - 1:
            assert decision["audit"]["backend"] == "interpreter"
            assert decision["audit"]["fallback"] == [
                "huangzuan16@3.0: decided by the reference interpreter: rd_expense: 500000000000000 is beyond what "
                "the Rete backend holds exactly (±100000000000000 for a money)"]
        else:
            assert decision["audit"]["backend"] == "rete"
        assert (decision["packages"], decision["total"]) == (expected[i]["packages"], expected[i]["total"])
        by_engine = [p for p in decision["packages"]
                     if not any(x.startswith(f"{p['package']}@") for x in decision["audit"].get("fallback", []))]
        eligible = sorted(c["clause"] for p in by_engine for c in p["clauses"] if c["status"] == "eligible")
        fired = sorted(f["clause"] for f in decision["audit"]["firings"])
        assert fired == eligible   # the engine fired exactly those
    assert len({d["total"] for _, d in results}) > 3   # the applicants took different paths
    assert len(people) - 1 in {i for i, _ in results}
    assert watch.calls >= 3 * THREADS * REQUESTS   # assert, drain, retract per package version and request
    assert len(watch.threads) > 1                  # the requests ran on several threads at once …
    assert watch.most == 1                         # … and never two of them inside the engine together
