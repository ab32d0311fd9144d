"""A fact declared `required: true` (uscc, application_year) rejects a row whose cell is blank.

The brief: 统一社会信用代码 and 申报年度 blank → "unknown (row rejected)". A fact that is simply not given keeps
the meaning of its blank (`unknown`), so API callers and drafters' test cases may leave it out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine import FactError, evaluate, load_package

RULES = Path(__file__).resolve().parent.parent / "rules"


@pytest.mark.parametrize("blank", ["", "  ", None])
@pytest.mark.parametrize("key", ["申报年度", "application_year", "统一社会信用代码", "uscc"])
def test_blank_required_cell_is_rejected(key: str, blank: object) -> None:
    facts = {"统一社会信用代码": "91350100M000100Y43", "申报年度": "2021", "注册地所在市": "沈阳市"}
    label = {"application_year": "申报年度", "uscc": "统一社会信用代码"}.get(key, key)
    del facts[label]
    facts[key] = blank  # type: ignore[assignment]
    with pytest.raises(FactError, match="required"):
        evaluate(load_package(RULES / "municipal"), facts)


def test_absent_application_year_is_undetermined_not_rejected() -> None:
    decision = evaluate(load_package(RULES / "municipal"), {"注册地所在市": "沈阳市"})
    assert decision.package("municipal").status == "undetermined"
