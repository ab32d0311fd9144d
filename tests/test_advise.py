"""`advise`: the cheapest change to an applicant's changeable facts that makes a clause eligible, confirmed by
evaluating the changed facts; unreachable clauses name their blocking condition; unchangeable facts never move."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine import advise, evaluate, load_package
from policyengine.advice import Advice, AdviceReport, AdviseError
from policyengine.batch.read import map_headers
from policyengine.cli import main
from policyengine.decide.evaluate import fact_index
from policyengine.drafting.population import read_sheet
from policyengine.drafting.strategies import SAMPLE_USCC, applicants
from policyengine.facts.cells import canonical_text
from policyengine.facts.values import UNKNOWN
from policyengine.model.policy import PolicyVersion

from .support import ROOT

HZ = load_package(ROOT / "rules" / "huangzuan16")
V3 = HZ.version("3.0")
BASE = {"uscc": "91350100M000100Y43", "application_year": "2021", "registered_district": "皇姑区",
        "tax_district": "皇姑区", "serious_dishonesty": "否"}


def _changed_facts(raw: dict[str, object], a: Advice) -> dict[str, object]:
    """`raw` (fact names → cells) with the advice's changes written in, as a clerk would type them."""
    out = dict(raw)
    for c in a.changes:
        out[c.fact] = canonical_text(c.after) if c.after is not UNKNOWN else None
    return out


def _confirmed(version: PolicyVersion, raw: dict[str, object], a: Advice) -> None:
    """The advice holds when the changed facts are evaluated afresh: the clause is eligible (or eligible and
    excluded by its group) and computes the amount the advice says; only changeable facts moved."""
    assert a.outcome == "reachable", a
    assert a.changes, "a reachable clause that was not eligible needs some change"
    assert all(version.facts[c.fact].changeable for c in a.changes)
    after = evaluate(version, _changed_facts(raw, a), backend="interpreter").packages[0]
    result = after.clause(a.clause)
    assert result.status in ("eligible", "excluded")
    assert result.computed == a.computed and result.computed > 0
    assert result.amount == a.paid and after.total == a.total_after
    assert a.cost == sum((c.cost for c in a.changes), Fraction(0))


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_advice_on_random_applicants_is_confirmed_by_evaluating_the_changed_facts(data: st.DataObject) -> None:
    row: dict[str, object] = dict(data.draw(applicants(V3)))
    row.setdefault("uscc", SAMPLE_USCC)
    if data.draw(st.booleans()):   # mostly in the district: the clauses then turn on the changeable figures
        row.update(registered_district="皇姑区", tax_district="皇姑区", serious_dishonesty="否")
    report = advise(V3, row, timeout_s=5)
    before = evaluate(V3, row, backend="interpreter").packages[0]
    asked = {a.clause for a in report.advices}
    assert asked == {c.clause for c in before.clauses if c.status in ("ineligible", "undetermined")}
    for a in report.advices:
        assert a.outcome in ("reachable", "unreachable", "missing"), a
        if a.outcome == "reachable":
            _confirmed(V3, row, a)
        elif a.outcome == "unreachable":
            # in the bundled rules every blocker is a condition on facts no change moves (a recognition, a year,
            # the district), unchangeable or unknown, and false for this applicant
            (b,) = a.blocking
            assert all(not changeable or value is UNKNOWN for _, _, value, changeable in b.facts), b
            assert next(c for c in before.clauses if c.clause == a.clause).status == "ineligible"
        else:
            assert a.missing and all(row.get(f) in (None, "") for f, _ in a.missing)


def test_raising_rd_expense_to_the_threshold_is_the_cheapest_change() -> None:
    raw = {**BASE, "rd_expense": "45万", "rd_expense_prev": "40万"}
    report = advise(HZ, raw, "a05")
    (a,) = report.advices
    assert [(c.fact, c.before, c.after, c.cost) for c in a.changes] == [
        ("rd_expense", Fraction(450_000), Fraction(500_000), Fraction(50_000))]
    assert (a.computed, a.paid, a.total_before, a.total_after) == (10_000, 10_000, 0, 10_000)
    _confirmed(V3, raw, a)
    assert report.nearest() is a


def test_the_least_change_respects_rounding_and_a_strict_comparison() -> None:
    # rd_expense > rd_expense_prev, and 10% of the increase must round to at least 1 yuan: +5 yuan exactly
    raw = {**BASE, "rd_expense": "60万", "rd_expense_prev": "60万"}
    (a,) = advise(HZ, raw, "a05").advices
    assert [(c.fact, c.after) for c in a.changes] == [("rd_expense", Fraction(600_005))]
    assert (a.cost, a.computed) == (Fraction(5), 1)
    _confirmed(V3, raw, a)


def test_an_unreachable_clause_names_the_condition_that_blocks_it() -> None:
    raw = {**BASE, "registered_district": "铁西区", "rd_expense": "45万", "rd_expense_prev": "40万"}
    report = advise(HZ, raw)
    a05 = next(a for a in report.advices if a.clause == "a05")
    assert a05.outcome == "unreachable" and not a05.changes
    (b,) = a05.blocking
    assert (b.condition, b.part) == ("E", 'registered_district == "皇姑区"')
    assert b.facts == (("registered_district", "注册地所在区", "铁西区", False),)
    line = V3.clause("a05").conditions[0].loc.line
    assert b.where == f"huangzuan16/3.0/policy.yaml:{line}"
    assert all(a.outcome == "unreachable" for a in report.advices)
    assert report.nearest() is None


def test_a_clause_needing_an_unknown_fact_asks_for_it_instead_of_advising() -> None:
    raw = {**BASE, "carrier_level": "市级", "carrier_tenants": "8"}   # 载体入驻率 left blank: unknown
    (a,) = advise(HZ, raw, "a08").advices
    assert (a.outcome, a.missing) == ("missing", (("carrier_occupancy", "载体入驻率"),))
    (a,) = advise(HZ, {**raw, "carrier_occupancy": "85%"}, "a08").advices
    assert [(c.fact, c.after) for c in a.changes] == [("carrier_tenants", Fraction(10))]
    _confirmed(V3, {**raw, "carrier_occupancy": "85%"}, a)


def test_an_eligible_clause_asked_for_says_so_and_an_unknown_clause_id_is_an_error() -> None:
    raw = {**BASE, "rd_expense": "120万", "rd_expense_prev": "80万"}
    (a,) = advise(HZ, raw, "a05").advices
    assert a.outcome == "eligible"
    with pytest.raises(AdviseError, match="clause 'a99': no such clause in huangzuan16"):
        advise(HZ, raw, "a99")


def _custom(tmp_path: Path) -> PolicyVersion:
    """A package whose enum and cap make the solver work: a level moved two steps; a conjunction that no change
    satisfies (the cap is a fact the enterprise cannot change)."""
    folder = tmp_path / "custom" / "2021"
    folder.mkdir(parents=True)
    (folder / "policy.yaml").write_text("""
package: {id: custom, title: 测试, issuer: 测试, document_number: "1", version: "2021", effective: {from: 2021}}
facts:
  - {name: uscc, type: uscc, label: 统一社会信用代码, blank: unknown, required: true, changeable: false}
  - {name: application_year, type: year, label: 申报年度, blank: unknown, required: true, changeable: false}
  - {name: level, type: enum, label: 级别, values: [无, 市级, 省级], blank: none, none_value: 无}
  - {name: spend, type: money, label: 投入, blank: zero}
  - {name: ceiling, type: money, label: 核定上限, blank: zero, changeable: false}
  - {name: certified, type: bool, label: 已认证, blank: unknown}
settlement: {rounding: {unit: yuan, mode: half_up}}
clauses:
  - {id: c1, article: 1, title: 省级奖励, text: 省级给予10万元。, conditions: [level == "省级"], amount: 10万}
  - {id: c2, article: 2, title: 投入补助, text: 投入不低于10万元且不超过核定上限的，补助1万元。,
     conditions: ["spend >= 10万 and spend <= ceiling"], amount: 1万}
  - {id: c3, article: 3, title: 认证奖励, text: 已认证的给予1万元。, conditions: [certified == true], amount: 1万}
""", encoding="utf-8")
    return load_package(tmp_path / "custom").version("2021")


def test_enum_levels_and_booleans_cost_one_step_each_and_a_conflict_is_blocking(tmp_path: Path) -> None:
    v = _custom(tmp_path)
    raw = {"uscc": SAMPLE_USCC, "application_year": "2021", "spend": "2万", "ceiling": "5万", "certified": "否"}
    report = advise(v, raw)
    c1, c2, c3 = report.advices
    assert [(c.fact, c.before, c.after, c.cost) for c in c1.changes] == [("level", "无", "省级", Fraction(2))]
    _confirmed(v, raw, c1)
    assert [(c.fact, c.after, c.cost) for c in c3.changes] == [("certified", True, Fraction(1))]
    _confirmed(v, raw, c3)
    assert c2.outcome == "unreachable"
    assert [b.part for b in c2.blocking] == ["spend >= 10万 and spend <= ceiling"]
    assert ("ceiling", "核定上限", Fraction(50_000), False) in c2.blocking[0].facts
    assert report.nearest() is c3   # one step, against two
    # the cap raised above the threshold: the spend moves to it, the cap (unchangeable) does not
    (c2,) = advise(v, {**raw, "ceiling": "20万"}, "c2").advices
    assert [(c.fact, c.after) for c in c2.changes] == [("spend", Fraction(100_000))]


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["advise", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_advises_a_spreadsheet_row_and_prints_json() -> None:
    sheet = str(ROOT / "examples" / "applicants_2021.csv")
    code, out, _ = _cli(sheet, "--row", "6", "--clause", "a05")
    assert code == 0
    assert "上年度研发费用 39.81万 → 50万 (+10.19万): 可获 18,760 元" in out
    code, out, _ = _cli(sheet, "--row", "6", "--clause", "a05", "--json")
    data = json.loads(out)
    assert code == 0 and data["nearest"] == "huangzuan16.a05"
    assert data["advice"][0]["changes"] == [{"fact": "rd_expense", "label": "上年度研发费用", "before": "398100",
                                              "after": "500000", "cost": "101900"}]


@pytest.mark.parametrize(("args", "message"), [
    (["--row", "999"], "row 999"),
    (["--row", "6", "--clause", "zz"], "clause 'zz': no such clause"),
    ([], "a spreadsheet needs --row N"),
])
def test_cli_errors_are_one_line(args: list[str], message: str) -> None:
    code, out, err = _cli(str(ROOT / "examples" / "applicants_2021.csv"), *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and err.startswith("error: ")


def test_score_advise_adds_one_column_consistent_with_advise(tmp_path: Path) -> None:
    lines = (ROOT / "examples" / "applicants_2021.csv").read_bytes().decode("gb18030").splitlines(keepends=True)
    small = tmp_path / "small.csv"
    small.write_text("".join(lines[:9]), encoding="utf-8")
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, ["score", str(small), "--out", str(out), "--advise", "-q"])
    assert result.exit_code == 0, result.output
    plain = CliRunner().invoke(main, ["score", str(small), "--out", str(tmp_path / "plain.csv"), "-q"])
    assert plain.exit_code == 0
    scored = pl.read_csv(out, infer_schema=False)
    before = pl.read_csv(tmp_path / "plain.csv", infer_schema=False)
    assert scored.columns == [*before.columns[:before.columns.index("reasons") + 1], "advise",
                              *before.columns[before.columns.index("reasons") + 1:]]
    assert scored.drop("advise").equals(before)
    pkgs = [HZ, load_package(ROOT / "rules" / "municipal")]
    cells = scored.get_column("advise").fill_null("").to_list()
    assert any(cells)
    sheet = read_sheet(small, None)
    columns = map_headers(sheet.headers, fact_index(pkgs), [], []).facts
    for number, cell in enumerate(cells, start=2):
        raw = {name: sheet.row(number).values[i] for name, i in columns.items()}
        report: AdviceReport = advise(pkgs, raw, timeout_s=5)
        near = report.nearest()
        assert cell == ("" if near is None else
                        f"{near.key} " + " ".join(f"{c.fact}={canonical_text(c.after)}" for c in near.changes)
                        + f" amount={near.computed} cost={near.cost}")


def test_a_change_the_interpreter_does_not_confirm_is_dropped_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    from policyengine.advice import search

    real = search.Pinned.amount_of
    monkeypatch.setattr(search.Pinned, "amount_of", lambda self, model, clause: real(self, model, clause) + 1)
    raw = {**BASE, "rd_expense": "45万", "rd_expense_prev": "40万"}
    report = advise(HZ, raw, "a05")
    (a,) = report.advices
    assert a.outcome == "unconfirmed" and not a.changes and a.computed is None
    assert "eligible 10001, the interpreter eligible 10000: dropped" in a.note
    assert report.nearest() is None
