"""`policyengine check`: invariants searched with hypothesis; planted faults are caught, clean rules pass."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import find
from hypothesis import strategies as st

from policyengine import evaluate, load_package
from policyengine.decide.settlement import prorate
from policyengine.drafting.check import Budget, Evaluator, check_version, finding_lines
from policyengine.drafting.strategies import _weighted, applicants, hints, plan, sweep
from policyengine.facts.applicant import FactIndex, Facts, read_facts
from policyengine.model.policy import PolicyVersion

from .drafting_support import clause, copy_version, run
from .support import ROOT

FAST = Budget.scaled(60)


def raise_cap(d: dict[str, Any]) -> None:
    assert clause(d, "a14")["cap"] == "20万"
    clause(d, "a14")["cap"] = "30万"


def drop_group_member(d: dict[str, Any]) -> None:
    d["settlement"]["groups"]["HT"]["members"].remove("a03")
    del clause(d, "a03")["group"]


def invert_threshold(d: dict[str, Any]) -> None:
    conds = clause(d, "a05")["conditions"]
    conds[conds.index("rd_expense >= 50万")] = "rd_expense <= 50万"


def change_rate(d: dict[str, Any]) -> None:
    c = clause(d, "a15")
    assert "then 100% else" in c["amount"]
    c["amount"] = c["amount"].replace("then 100% else", "then 150% else")


def allow_negative(d: dict[str, Any]) -> None:
    conds = clause(d, "a07")["conditions"]
    guard = next(x for x in conds if isinstance(x, dict) and "CARRIER[carrier_level] >" in x["test"])
    conds.remove(guard)


def raise_fund(d: dict[str, Any]) -> None:
    d["settlement"]["annual_fund"] = "4000万"


def raise_applicant_cap(d: dict[str, Any]) -> None:
    d["settlement"]["applicant_cap"] = "600万"


Fault = Callable[[dict[str, Any]], None]
FAULTS: dict[str, tuple[Fault, str]] = {
    "cap raised (a14 20万 → 30万)": (raise_cap, "cap_a14"),
    "group member removed (a03 out of HT)": (drop_group_member, "one_ht_award"),
    "threshold inverted (a05 >= 50万 → <= 50万)": (invert_threshold, "a05_monotonic"),
    "rate changed (a15 国家级 100% → 150%)": (change_rate, "cap_a15"),
    "amount can go negative (a07 guard removed)": (allow_negative, "amounts_not_negative"),
    "annual fund raised (3000万 → 4000万)": (raise_fund, "fund"),
    "per-applicant cap raised (500万 → 600万)": (raise_applicant_cap, "applicant_total"),
}


def _version(folder: Path) -> PolicyVersion:
    return load_package(folder).versions[0]


def _typed(version: PolicyVersion, row: dict[str, str]) -> Facts:
    """A searched row as typed facts: like a drafter's case it may leave out the required facts (read as blank)."""
    return read_facts(FactIndex(version.facts.values()), row)


def _confirm(version: PolicyVersion, invariant: str, rows: list[dict[str, str]], copies: list[int]) -> None:
    """Re-check a counterexample independently of the search, through evaluate()."""
    decisions = [evaluate(version, _typed(version, row), version=version.version) for row in rows]
    results = [d.package(version.package_id) for d in decisions]
    if invariant == "cap_a14":
        assert results[0].clause("a14").amount > 200_000
    elif invariant == "cap_a15":
        assert results[0].clause("a15").amount > 200_000
    elif invariant == "one_ht_award":
        assert sum(results[0].clause(c).amount > 0 for c in ("a01", "a02", "a03")) >= 2
    elif invariant == "amounts_not_negative":
        assert min(r.amount for r in results[0].clauses) < 0
    elif invariant == "applicant_total":
        assert results[0].total > 5_000_000
    elif invariant == "a05_monotonic":
        low, high = (r.clause("a05").amount for r in results)
        assert Fraction(rows[1]["rd_expense"]) > Fraction(rows[0]["rd_expense"]) and high < low
    elif invariant == "fund":
        population = [d for d, n in zip(decisions, copies, strict=True) for _ in range(n)]
        assert sum(d.total for d in prorate(population)) > 30_000_000
    else:  # pragma: no cover
        raise AssertionError(invariant)


def test_clean_copy_passes(tmp_path: Path) -> None:
    report = check_version(_version(copy_version(tmp_path)), FAST)
    assert report.ok, [f.message for f in report.findings]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_planted_fault_is_caught(tmp_path: Path, fault: str) -> None:
    edit, invariant = FAULTS[fault]
    version = _version(copy_version(tmp_path, edit=edit))
    report = check_version(version, FAST)
    hit = [f for f in report.findings if f.invariant is not None and f.invariant.id == invariant]
    assert hit, f"{fault}: not caught; found {[f.message for f in report.findings]}"
    _confirm(version, invariant, hit[0].rows, hit[0].copies)
    text = "\n".join(finding_lines(report, hit[0]))
    assert f"VIOLATED huangzuan16@3.0 :: {invariant}" in text
    assert "counterexample" in text or "applicant with the lower value" in text
    if invariant == "fund":
        assert f"annual fund {40_000_000}" in text and "× this applicant" in text


def test_the_random_search_alone_finds_a_raised_cap(tmp_path: Path) -> None:
    version = _version(copy_version(tmp_path, edit=raise_cap))
    report = check_version(version, Budget(applicants=400, pairs=1, populations=1, sweep=False))
    assert [f.invariant.id for f in report.findings if f.invariant] == ["cap_a14"]
    row = report.findings[0].rows[0]
    assert Fraction(row["tech_contract_turnover"]) > 20_000_000  # 1% of it is over the cap of 200,000


def test_a_run_is_deterministic(tmp_path: Path) -> None:
    version = _version(copy_version(tmp_path, edit=change_rate))
    first, second = check_version(version, Budget.scaled(30)), check_version(version, Budget.scaled(30))
    assert [(f.message, f.rows) for f in first.findings] == [(f.message, f.rows) for f in second.findings]
    assert first.findings


def test_counterexample_is_small_and_shown_as_a_row_with_chinese_labels(tmp_path: Path) -> None:
    folder = copy_version(tmp_path, edit=raise_cap)
    result = run("check", str(folder), "--max-examples", "60")
    assert result.exit_code == 1, result.output
    out = result.output
    assert "VIOLATED huangzuan16@3.0 :: cap_a14" in out and "invariant: a14.amount <= 200000" in out
    header = next(line for line in out.splitlines() if "技术合同登记成交额" in line and "," in line)
    cells = out.splitlines()[out.splitlines().index(header) + 1].strip().split(",")
    row = dict(zip(header.strip().split(","), cells, strict=True))
    # the smallest counterexample keeps only what the violation needs: general eligibility and the turnover
    assert set(row) == {"申报年度", "注册地所在区", "税收户管地所在区", "是否列入严重失信主体名单",
                        "技术合同登记成交额"}
    assert "第14条 a14 技术合同登记奖励: eligible" in out
    assert "1% * 技术合同登记成交额 = 1% * " in out  # the trace of the amount, with numbers
    assert out.strip().endswith("1 violation found")


def test_evaluation_errors_are_findings(tmp_path: Path) -> None:
    def divide(d: dict[str, Any]) -> None:
        clause(d, "a14")["amount"] = "tech_contract_turnover / event_count"

    report = check_version(_version(copy_version(tmp_path, edit=divide)), FAST)
    errors = [f for f in report.findings if f.kind == "error"]
    assert len(errors) == 1 and "division by zero" in errors[0].message
    assert errors[0].rows[0].get("event_count", "0") in ("0", None) or "event_count" not in errors[0].rows[0]


def test_no_invariants_still_searches_for_errors(tmp_path: Path) -> None:
    report = check_version(_version(copy_version(tmp_path, invariants=None)), FAST)
    assert report.ok and sum(report.counts().values()) == 0


def test_bundled_versions_hold_their_invariants() -> None:
    result = run("check", str(ROOT / "rules" / "huangzuan16"), str(ROOT / "rules" / "municipal"),
                 "--max-examples", "100")
    assert result.exit_code == 0, result.output
    for key in ("huangzuan16@2.0", "huangzuan16@3.0", "municipal@2019"):
        assert f"{key}: " in result.output
    assert result.output.strip().endswith("no violations found")


def test_non_numeric_monotonic_fact_is_skipped(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump({"invariants": [{"id": "m", "kind": "monotonic", "monotonic": {
        "output": "a06.amount", "increasing_in": "growth_tier"}}]}, allow_unicode=True), encoding="utf-8")
    report = check_version(_version(copy_version(tmp_path, invariants=inv)), FAST)
    assert report.skipped and "growth_tier is enum" in report.skipped[0]


# -- the strategies --------------------------------------------------------------------------------

def test_hints_are_the_packages_own_thresholds_and_neighbours() -> None:
    v = load_package(ROOT / "rules" / "huangzuan16@3.0").versions[0]
    h = hints(v)
    assert {Fraction(499_999), Fraction(500_000), Fraction(500_001)} <= h.absolute["rd_expense"]
    assert {Fraction(79, 100), Fraction(80, 100), Fraction(81, 100)} <= h.absolute["carrier_occupancy"]
    assert {Fraction(9), Fraction(10), Fraction(11)} <= h.absolute["carrier_tenants"]
    assert {-4, -3, -2} <= h.relative["hightech_cert_year"]  # certificate valid back to Y-3
    assert Fraction(20_000_000) in h.absolute["tech_contract_turnover"]  # where 1% reaches the 20万 cap
    assert h.literals["registered_district"] == {"皇姑区"}
    assert h.partners["rd_expense"] == {"rd_expense_prev"}


def test_drawn_applicants_are_readable_rows_of_covered_years() -> None:
    v = load_package(ROOT / "rules" / "huangzuan16@2.0").versions[0]
    seen: list[dict[str, str]] = []

    def record(row: dict[str, str]) -> bool:
        seen.append(row)
        return len(seen) >= 50

    find(applicants(plan(v)), record)
    evaluate_row = Evaluator(v)
    for row in seen:
        assert v.covers(int(row["application_year"]))
        evaluate_row(row)  # every cell reads as its fact's type


def test_the_sweep_reaches_every_clause() -> None:
    for ref in ("rules/huangzuan16@2.0", "rules/huangzuan16@3.0", "rules/municipal@2019"):
        v = load_package(ROOT / ref).versions[0]
        evaluate_row = Evaluator(v)
        eligible = {r.clause for row in sweep(plan(v)) for r in evaluate_row(row)[1].clauses
                    if r.status in ("eligible", "excluded")}
        assert eligible == {c.id for c in v.clauses}, ref


def test_weighted_choice_shrinks_to_its_first_option() -> None:
    strategy = _weighted([(1, [None]), (5, ["a", "b"]), (3, st.integers(10, 20))])
    assert find(strategy, lambda x: True) is None
    assert find(strategy, lambda x: isinstance(x, int)) == 10


def test_remembered_clause_results_equal_evaluate() -> None:
    """The search remembers clause results by the facts each clause reads; that must change nothing."""
    for ref in ("rules/huangzuan16@2.0", "rules/huangzuan16@3.0", "rules/municipal@2019"):
        v = load_package(ROOT / ref).versions[0]
        remembered = Evaluator(v)
        for case in v.tests:
            if "application_year" not in case.facts and "申报年度" not in case.facts:
                continue
            row = {k: str(val) for k, val in case.facts.items() if val is not None}
            plain = evaluate(v, _typed(v, row), version=v.version).package(v.package_id)
            for _ in range(2):  # the second time every clause result comes from memory
                assert remembered(row)[1] == plain, (ref, case.name)
                remembered._cache.clear()
