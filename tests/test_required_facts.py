"""A fact declared `required: true` (uscc, application_year) rejects a row whose cell is blank.

The brief: 统一社会信用代码 and 申报年度 blank → "unknown (row rejected)". `evaluate()` refuses a required fact
that is absent, None or blank in one wording (`required, not given`); drafters' test cases, which give only the
facts their clauses need, read an absent fact as its blank.
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
    fact = {"申报年度": "application_year", "统一社会信用代码": "uscc"}.get(key, key)
    with pytest.raises(FactError, match=rf"^{fact} \({label}\): required, not given$"):
        evaluate(load_package(RULES / "municipal"), facts)


@pytest.mark.parametrize(("absent", "fact"), [("申报年度", "application_year (申报年度)"),
                                              ("统一社会信用代码", "uscc (统一社会信用代码)")])
def test_absent_required_fact_is_refused_in_the_same_words(absent: str, fact: str) -> None:
    facts = {"统一社会信用代码": "91350100M000100Y43", "申报年度": "2021", "注册地所在市": "沈阳市"}
    del facts[absent]
    with pytest.raises(FactError) as caught:
        evaluate(load_package(RULES / "municipal"), facts)
    assert str(caught.value) == f"{fact}: required, not given"
