from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine import Decision, FactError, Package, PolicyEngineError, evaluate, replay
from policyengine.facts.applicant import FactIndex, read_facts

from .support import VALID_USCC, mini_facts


def test_labels_and_names_are_the_same_facts(mini: Package) -> None:
    by_name = evaluate(mini, mini_facts())
    labels = {"统一社会信用代码": VALID_USCC, "申报年度": "2021", "所在区": "皇姑区", "诚信": "是", "级别": "市级",
              "认定年份": "2020", "研发费用": "100万", "前年度研发费用": "800,000.00", "占比": "0.5"}
    by_label = evaluate(mini, labels)
    assert by_label.outcome() == by_name.outcome()
    assert by_name.total == 100000 + 30000


def test_typed_values_are_accepted(mini: Package) -> None:
    typed = mini_facts(application_year=2021, honest=True, spend=1000000, spend_prev=Decimal("800000.00"))
    assert evaluate(mini, typed).outcome() == evaluate(mini, mini_facts()).outcome()


def test_absent_fact_means_blank(mini: Package) -> None:
    d = evaluate(mini, mini_facts(level=..., level_year=...)).package("mini")
    assert d.clause("c01").status == "ineligible"  # level blank = none (无)
    d = evaluate(mini, mini_facts(share=...)).package("mini")
    assert d.clause("c04").status == "undetermined"  # share blank = unknown


def test_unknown_fact_name_is_an_error_with_suggestion(mini: Package) -> None:
    with pytest.raises(FactError, match="did you mean spend_prev"):
        evaluate(mini, {**mini_facts(), "spend_prevv": "1"})


def test_malformed_cell_is_one_clear_error(mini: Package) -> None:
    with pytest.raises(FactError) as info:
        evaluate(mini, mini_facts(spend="12.x万"))
    assert str(info.value).startswith("spend (研发费用): cannot read '12.x万' as money")


def test_same_fact_twice_is_an_error(mini: Package) -> None:
    with pytest.raises(FactError, match="given twice"):
        evaluate(mini, {**mini_facts(), "研发费用": "1"})


def test_version_chosen_by_application_year(huangzuan16: Package) -> None:
    base = {"uscc": VALID_USCC, "registered_district": "皇姑区", "tax_district": "皇姑区",
            "serious_dishonesty": "否", "growth_tier": "瞪羚"}
    v2 = evaluate(huangzuan16, {**base, "application_year": "2020", "growth_tier_year": "2019"})
    v3 = evaluate(huangzuan16, {**base, "application_year": "2021", "growth_tier_year": "2020"})
    assert v2.package("huangzuan16").version == "2.0" and v2.total == 200000
    assert v3.package("huangzuan16").version == "3.0" and v3.total == 300000
    forced = evaluate(huangzuan16, {**base, "application_year": "2021", "growth_tier_year": "2020"}, version="2.0")
    assert forced.package("huangzuan16").version == "2.0" and forced.total == 200000


def test_year_outside_every_version_is_a_clear_outcome(huangzuan16: Package) -> None:
    d = evaluate(huangzuan16, {"uscc": VALID_USCC, "application_year": "2018"})
    p = d.package("huangzuan16")
    assert p.status == "not_in_force" and p.clauses == [] and d.total == 0
    assert "2018" in p.reason and "2.0 (2019–2020)" in p.reason


def test_unknown_year_without_forced_version(huangzuan16: Package) -> None:
    # a mapping must give the required application year; typed facts without one leave the version undetermined
    with pytest.raises(FactError, match=r"^application_year \(申报年度\): required, not given$"):
        evaluate(huangzuan16, {"uscc": VALID_USCC})
    typed = read_facts(FactIndex(huangzuan16.versions[0].facts.values()), {"uscc": VALID_USCC})
    p = evaluate(huangzuan16, typed).package("huangzuan16")
    assert p.status == "undetermined" and "application_year" in p.reason


def test_unknown_version_is_an_error(huangzuan16: Package) -> None:
    with pytest.raises(PolicyEngineError, match="no version '4.0'"):
        evaluate(huangzuan16, {"uscc": VALID_USCC, "application_year": "2021"}, version="4.0")


def test_several_packages_stack(huangzuan16: Package, municipal: Package) -> None:
    facts = {"uscc": VALID_USCC, "application_year": "2021", "registered_district": "皇姑区", "tax_district": "皇姑区",
             "registered_city": "沈阳市", "serious_dishonesty": "否", "hightech_status": "首次认定",
             "hightech_cert_year": "2020"}
    d = evaluate([huangzuan16, municipal], facts)
    assert d.package("huangzuan16").clause("a01").amount == 100000
    assert d.package("municipal").clause("m01").amount == 200000
    assert d.total == 300000


def test_decision_is_json_and_carries_the_audit(mini: Package) -> None:
    d = evaluate(mini, mini_facts())
    record = json.loads(d.audit_record())
    p = record["packages"][0]
    assert p["document_number"] == "测试〔2021〕1号" and p["content_hash"] == mini.versions[0].content_hash
    assert record["facts_hash"].startswith("sha256:") and record["facts"]["spend"] == "1000000"
    assert record["audit"]["backend"] == d.audit.backend
    assert "pydantic" in record["audit"]["library"]


fact_order = st.permutations(list(mini_facts().items()))


@settings(max_examples=50)
@given(fact_order)
def test_deterministic_and_independent_of_key_order(mini: Package, items: list[tuple[str, object]]) -> None:
    a = evaluate(mini, dict(items), backend="interpreter")
    b = evaluate(mini, mini_facts(), backend="interpreter")
    assert a.model_dump_json() == b.model_dump_json()


def test_replay_confirms_the_same_decision(mini: Package) -> None:
    d = evaluate(mini, mini_facts(), backend="interpreter")
    result = replay(d.audit_record())
    assert result.ok, result.differences


def test_replay_says_exactly_what_differs(mini: Package) -> None:
    record = json.loads(evaluate(mini, mini_facts(), backend="interpreter").audit_record())
    record["packages"][0]["clauses"][2]["amount"] = 99999
    result = replay(record, mini)
    assert not result.ok
    assert result.differences == ["packages[mini].clauses[c03].amount: recorded 99999, now 30000"]


def test_replay_reports_changed_rules(mini: Package) -> None:
    record = json.loads(evaluate(mini, mini_facts(), backend="interpreter").audit_record())
    record["packages"][0]["content_hash"] = "sha256:0"
    result = replay(record, mini)
    assert not result.ok and "rules changed since the record" in result.differences[0]


def test_replay_rejects_garbage() -> None:
    with pytest.raises(PolicyEngineError, match="not an audit record"):
        replay("{}")


def test_outcome_excludes_how_it_was_made(mini: Package) -> None:
    d = evaluate(mini, mini_facts(), backend="interpreter")
    assert "audit" not in d.outcome()
    assert isinstance(Decision.model_validate_json(d.audit_record()), Decision)
