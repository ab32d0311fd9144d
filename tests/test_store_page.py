"""What the service asks of the decision store: a page of decisions with its count, one decision, the newest runs
(SQLite and PostgreSQL); a single decision recorded in one transaction, its rule snapshots looked up once per
process (SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import policyengine.store as pstore
from policyengine import Package, evaluate
from policyengine.store import write

from .store_support import postgres_server  # noqa: F401
from .support import VALID_USCC

OTHER = "91210105MALH7EF96R"


def _facts(uscc: str, year: str) -> dict[str, str]:
    return {"统一社会信用代码": uscc, "申报年度": year, "注册地所在区": "皇姑区", "税收户管地所在区": "皇姑区",
            "是否列入严重失信主体名单": "否", "上年度研发费用": "120万", "前年度研发费用": "80万"}


def test_a_page_of_decisions_with_its_count(url: str, huangzuan16: Package) -> None:
    with pstore.open(url) as store:
        made = [(uscc, year) for uscc, year in [(VALID_USCC, "2021"), (OTHER, "2021"), (VALID_USCC, "2022"),
                                                (VALID_USCC, "2021")]]
        runs = [store.record_decision(evaluate(huangzuan16, _facts(u, y)), [huangzuan16]) for u, y in made]
        assert runs == [1, 2, 3, 4]
        page = store.decision_page(uscc=VALID_USCC, limit=2)
        assert page.total == 3
        assert [(d.run, d.row, d.uscc) for d in page.items] == [(4, 1, VALID_USCC), (3, 1, VALID_USCC)]
        assert [d.run for d in store.decision_page(uscc=VALID_USCC, limit=2, offset=2).items] == [1]
        assert [d.run for d in store.decision_page(year=2021).items] == [4, 2, 1]
        only = store.decision_page(run=2, year=2021)
        assert (only.total, [d.uscc for d in only.items]) == (1, [OTHER])
        assert only.items[0] == store.decision(2, 1) == store.decisions(run=2)[0]
        assert store.decision_page(run=2, year=2022).total == 0
        assert store.decision(2, 2) is None and store.decision(9, 1) is None
        assert [r.id for r in store.latest_runs(2)] == [4, 3]


def test_a_decision_is_recorded_whole_or_not_at_all(tmp_path: Path, huangzuan16: Package,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    decision = evaluate(huangzuan16, _facts(VALID_USCC, "2021"))
    with pstore.open(tmp_path / "s.db") as store:
        def broken(*_: Any, **__: Any) -> None:
            raise RuntimeError("disk gone")

        with monkeypatch.context() as m:
            m.setattr(write, "insert", broken)
            with pytest.raises(RuntimeError):
                store.record_decision(decision, [huangzuan16])
        assert store.runs() == []   # no run left behind as `running`, no snapshot remembered as stored
        run = store.record_decision(decision, [huangzuan16])
        (report,) = store.verify(run)
        assert report.ok, report.problems

        statements: list[str] = []
        event.listen(store.engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_: statements.append(statement))
        store.record_decision(decision, [huangzuan16])
        assert not [s for s in statements if "snapshots" in s]   # the snapshots stored are known: not queried
        assert sum(s.startswith("BEGIN") for s in statements) == 1   # the run and its row: one transaction
