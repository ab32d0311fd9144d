"""The library as a service builds on it: catalogue facts, bundled packages by name, errors for a form,
introspection (issue 10, item 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policyengine import (
    FactError,
    FactErrors,
    Package,
    PolicyEngineError,
    bundled_packages,
    evaluate,
    load_package,
    replay,
)

from .support import ROOT, VALID_USCC

FACTS = {"统一社会信用代码": VALID_USCC, "申报年度": "2021", "注册地所在区": "皇姑区", "税收户管地所在区": "皇姑区",
         "是否列入严重失信主体名单": "否", "上年度研发费用": "120万", "前年度研发费用": "800,000.00"}


# -- facts of the shared catalogue that the packages given do not read ----------------------------------------

def test_a_catalogue_fact_no_package_reads_is_accepted_and_listed_unused(huangzuan16: Package) -> None:
    plain = evaluate(huangzuan16, FACTS)
    d = evaluate(huangzuan16, {**FACTS, "registered_city": "沈阳市", "成长型企业类别": "无"})
    assert d.unused_facts == ["registered_city"]        # growth_tier is read by huangzuan16: not unused
    assert d.package("huangzuan16").clause("a05").amount == 40000
    assert d.outcome() == evaluate(huangzuan16, {**FACTS, "成长型企业类别": "无"}).outcome()
    assert "registered_city" not in d.facts            # ignored: not a fact of the decision, nor of its hash
    record = json.loads(d.audit_record())
    assert record["unused_facts"] == ["registered_city"]
    assert "unused_facts" not in json.loads(plain.audit_record())  # records without any stay as they were
    assert plain.unused_facts == []
    assert replay(d.audit_record()).ok


def test_an_ignored_fact_is_found_by_label_and_its_value_is_not_read(huangzuan16: Package) -> None:
    d = evaluate(huangzuan16, {**FACTS, "注册地所在市": "not read at all", "高新技术企业培育库入库年份": "20x"})
    assert d.unused_facts == ["cultivation_pool_year", "registered_city"]


def test_the_same_fact_read_by_another_package_is_read(huangzuan16: Package, municipal: Package) -> None:
    d = evaluate([huangzuan16, municipal], {**FACTS, "注册地所在市": "沈阳市"})
    assert d.unused_facts == [] and d.facts["registered_city"] == "沈阳市"
    with pytest.raises(FactError, match=r"^registered_city \(注册地所在市\): expected text"):
        evaluate([huangzuan16, municipal], {**FACTS, "注册地所在市": 5})


def test_a_key_in_no_catalogue_is_still_an_error_with_a_suggestion(huangzuan16: Package) -> None:
    with pytest.raises(FactError) as caught:
        evaluate(huangzuan16, {**FACTS, "registerd_city": "沈阳市"})
    assert str(caught.value) == "registerd_city: no such fact (did you mean registered_city or registered_district?)"
    assert (caught.value.fact, caught.value.label, caught.value.value) == ("registerd_city", None, "沈阳市")


def test_a_catalogue_fact_given_twice_is_an_error(huangzuan16: Package) -> None:
    with pytest.raises(FactError, match=r"^registered_city \(注册地所在市\): given twice"):
        evaluate(huangzuan16, {**FACTS, "registered_city": "沈阳市", "注册地所在市": "沈阳市"})


# -- every bad fact at once, each for a form field -----------------------------------------------------------

def test_three_bad_facts_are_three_problems_each_with_id_label_value_and_message(huangzuan16: Package) -> None:
    bad = {**FACTS, "上年度研发费用": "12.x万", "高新技术企业认定年份": "20年", "是否列入严重失信主体名单": "maybe"}
    with pytest.raises(FactErrors) as caught:
        evaluate(huangzuan16, bad)
    errors = caught.value.errors
    assert [(e.fact, e.label, e.value, e.message) for e in errors] == [
        ("serious_dishonesty", "是否列入严重失信主体名单", "maybe", "expected 是/否, true/false or 1/0"),
        ("rd_expense", "上年度研发费用", "12.x万",
         "cannot read '12.x万' as money (write 1234567, 1,234,567.00, 123.4567万 or 85万元)"),
        ("hightech_cert_year", "高新技术企业认定年份", "20年", "expected a year such as 2020"),
    ]
    assert str(caught.value).splitlines() == [str(e) for e in errors]
    assert str(errors[1]) == ("rd_expense (上年度研发费用): cannot read '12.x万' as money "
                              "(write 1234567, 1,234,567.00, 123.4567万 or 85万元) (value '12.x万')")
    # one handler for one bad fact still works: FactErrors is a FactError that reads as its first problem
    assert isinstance(caught.value, FactError) and isinstance(caught.value, PolicyEngineError)
    assert (caught.value.fact, caught.value.label) == ("serious_dishonesty", "是否列入严重失信主体名单")


def test_unknown_keys_bad_values_and_missing_required_facts_are_reported_together(huangzuan16: Package) -> None:
    facts = {"申报年度": "2021", "上年度研发费用": 1.5, "rd_expens": "1"}
    with pytest.raises(FactErrors) as caught:
        evaluate(huangzuan16, facts)
    assert str(caught.value).splitlines() == [
        "rd_expense (上年度研发费用): floats are not accepted (money is exact): pass text, int or Decimal (value 1.5)",
        "rd_expens: no such fact (did you mean rd_expense or rd_expense_prev?)",
        "uscc (统一社会信用代码): required, not given",
    ]


@pytest.mark.parametrize("given", [{}, {"uscc": None}, {"统一社会信用代码": "  "}])
def test_a_required_fact_missing_none_or_blank_has_one_wording(huangzuan16: Package, given: dict[str, object]
                                                               ) -> None:
    facts = {k: v for k, v in FACTS.items() if k != "统一社会信用代码"} | given
    with pytest.raises(FactErrors) as caught:
        evaluate(huangzuan16, facts)
    assert str(caught.value) == "uscc (统一社会信用代码): required, not given"
    assert (caught.value.fact, caught.value.label, caught.value.value) == ("uscc", "统一社会信用代码",
                                                                           next(iter(given.values()), None))


# -- years and counts given as numbers ----------------------------------------------------------------------

def test_an_integral_float_year_is_that_year(huangzuan16: Package) -> None:
    by_float = evaluate(huangzuan16, {**FACTS, "申报年度": 2021.0, "高新技术企业认定年份": 2020.0})
    assert by_float.application_year == 2021 and by_float.facts["hightech_cert_year"] == "2020"
    assert by_float.outcome() == evaluate(huangzuan16, {**FACTS, "高新技术企业认定年份": "2020"}).outcome()


def test_a_fractional_year_is_refused_in_words_about_years(huangzuan16: Package) -> None:
    with pytest.raises(FactError) as caught:
        evaluate(huangzuan16, {**FACTS, "申报年度": 2021.5})
    assert str(caught.value) == "application_year (申报年度): a year must be a whole number, got 2021.5 (value 2021.5)"


def test_counts_take_integral_floats_and_money_never_takes_floats(huangzuan16: Package) -> None:
    d = evaluate(huangzuan16, {**FACTS, "举办创新活动场次": 3.0})
    assert d.facts["event_count"] == "3"
    with pytest.raises(FactError, match=r"a count must be a whole number, got 2\.5"):
        evaluate(huangzuan16, {**FACTS, "举办创新活动场次": 2.5})
    with pytest.raises(FactError, match=r"floats are not accepted \(money is exact\)"):
        evaluate(huangzuan16, {**FACTS, "上年度研发费用": 1200000.0})


# -- what is given instead of packages or facts ---------------------------------------------------------------

def test_no_package_is_a_clear_error() -> None:
    with pytest.raises(PolicyEngineError, match=r"^no package given: pass a Package from load_package"):
        evaluate([], FACTS)


def test_a_package_name_instead_of_a_package_says_what_to_pass() -> None:
    with pytest.raises(PolicyEngineError, match=r"pass load_package\('huangzuan16'\)"):
        evaluate("huangzuan16", FACTS)  # type: ignore[arg-type]


def test_facts_as_a_list_of_pairs_is_a_clear_error(huangzuan16: Package) -> None:
    with pytest.raises(PolicyEngineError) as caught:
        evaluate(huangzuan16, list(FACTS.items()))  # type: ignore[arg-type]
    assert str(caught.value) == ("facts must be a mapping (a dict) of fact names or Chinese labels to values, "
                                 "not a list")


# -- bundled packages, by name, from any working directory ---------------------------------------------------

def test_bundled_packages_load_by_name_from_another_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.chdir(tmp_path)
    hz, city = load_package("huangzuan16"), load_package("municipal@2019")
    assert hz.source == ROOT / "rules" / "huangzuan16"
    assert [v.version for v in hz.versions] == ["2.0", "3.0"] and [v.version for v in city.versions] == ["2019"]
    d = evaluate([hz, city], {**FACTS, "注册地所在市": "沈阳市", "高新技术企业认定类型": "首次认定",
                              "高新技术企业认定年份": "2020"})
    assert d.total == 340000
    assert replay(d.audit_record()).ok
    assert [p.id for p in bundled_packages()] == ["huangzuan16", "municipal"]


def test_a_folder_that_exists_wins_over_the_bundled_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "rules" / "municipal", tmp_path / "huangzuan16")  # a folder of that name, here
    shutil.copy(ROOT / "rules" / "facts.yaml", tmp_path / "facts.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_package("huangzuan16").id == "municipal"


def test_an_unknown_name_lists_the_bundled_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PolicyEngineError) as caught:
        load_package("huangzuan17")
    assert str(caught.value) == ("huangzuan17: no such package folder "
                                 "(bundled packages, loaded by name: huangzuan16, municipal)")
    with pytest.raises(PolicyEngineError, match="no such package folder"):
        load_package("nowhere/huangzuan16")  # a path is never looked up among the bundled packages


# -- introspection -------------------------------------------------------------------------------------------

def test_a_clause_lists_the_facts_it_reads_and_an_undetermined_one_those_to_supply(huangzuan16: Package) -> None:
    v3 = huangzuan16.version("3.0")
    assert v3.clause("a05").reads == ("registered_district", "tax_district", "serious_dishonesty", "rd_expense",
                                      "rd_expense_prev")
    assert huangzuan16.version("2.0").clause("a10").reads[-1] == "tech_loan_interest"
    a05 = evaluate(huangzuan16, {**FACTS, "前年度研发费用": ""}).package("huangzuan16").clause("a05")
    assert a05.status == "undetermined" and a05.unknown_facts == ["rd_expense_prev"]
    assert set(a05.unknown_facts) <= set(v3.clause("a05").reads)
