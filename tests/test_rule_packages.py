"""The bundled rule packages (皇钻十六条 2.0/3.0, Shenyang municipal 2019) against their briefs.

Lint, the drafters' test cases, the declared invariants, clause coverage, the municipal calibration and the
example applicant sheet. Expected numbers come from the briefs (computed by hand), never from the engine.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine import Decision, FactError, PolicyVersion, evaluate, load_package, prorate
from policyengine.cli import main
from policyengine.decide.settlement import fund_use
from policyengine.drafting.testcases import CaseResult, run_case
from policyengine.facts.applicant import FactIndex, Facts, read_facts
from policyengine.facts.money import parse_money
from policyengine.model.invariants import applicant_violations, batch_violations, monotonic_violation
from policyengine.model.policy import Package
from policyengine.model.rulefile import ExpectedClause
from policyengine.model.rulefile import TestCase as RuleCase

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
EXAMPLES = ROOT / "examples"
PACKAGE_NAMES = ("huangzuan16", "municipal")
COVERED_STATUSES = ("eligible", "ineligible", "undetermined")
USCC = "91350100M000100Y43"  # a valid 统一社会信用代码: evaluate() needs the required facts given


@cache
def package(name: str) -> Package:
    return load_package(RULES / name)


def all_versions() -> list[PolicyVersion]:
    return [v for name in PACKAGE_NAMES for v in package(name).versions]


def version_dirs() -> list[Path]:
    return sorted(d for p in RULES.iterdir() if p.is_dir() for d in p.iterdir() if d.is_dir())


def _ascii_id(text: str) -> str:
    """pytest escapes non-ASCII ids; keep the readable ASCII part (the full name is in every message)."""
    words = re.sub(r"[^\x20-\x7e]+", " ", text).split()
    return " ".join(w for w in words if re.search(r"[A-Za-z0-9=+]", w))


def all_cases() -> list[pytest.ParameterSet]:
    return [pytest.param(v, i, id=f"{v.key}::{i:03d} {_ascii_id(case.name)}")
            for v in all_versions() for i, case in enumerate(v.tests)]


@cache
def case_result(key: str, index: int) -> CaseResult:
    name, _, version = key.partition("@")
    v = package(name).version(version)
    return run_case(v, v.tests[index])


def _typed_facts(v: PolicyVersion, case: RuleCase) -> Facts:
    return read_facts(FactIndex(v.facts.values()), case.facts)


# -- lint ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("folder", version_dirs(), ids=lambda d: f"{d.parent.name}@{d.name}")
def test_every_bundled_version_lints_clean(folder: Path) -> None:
    ref = f"{folder.parent}@{folder.name}"
    result = CliRunner().invoke(main, ["lint", ref])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{folder.parent.name}@{folder.name}: ok"), result.output


def test_every_bundled_version_has_cases_and_invariants() -> None:
    keys = {v.key for v in all_versions()}
    assert keys == {"huangzuan16@2.0", "huangzuan16@3.0", "municipal@2019"}
    for v in all_versions():
        assert v.tests, f"{v.key} has no test cases"
        assert any(inv.kind == "applicant" for inv in v.invariants), f"{v.key} declares no invariants"


# -- drafter test cases ----------------------------------------------------------------------------

@pytest.mark.parametrize(("version", "index"), all_cases())
def test_drafter_case(version: PolicyVersion, index: int) -> None:
    result = case_result(version.key, index)
    case = version.tests[index]
    assert result.passed, f"{version.key} :: {case.name}\n    " + "\n    ".join(result.failures)


@pytest.mark.parametrize(("version", "index"), all_cases())
def test_invariants_hold_on_drafter_case(version: PolicyVersion, index: int) -> None:
    case = version.tests[index]
    result = case_result(version.key, index).result
    assert result is not None, f"{version.key} :: {case.name} could not be evaluated"
    violations = applicant_violations(version, result, _typed_facts(version, case))
    assert not violations, f"{version.key} :: {case.name}: " + "; ".join(map(str, violations))


@pytest.mark.parametrize("version", [v for v in all_versions() if v.package_id == "huangzuan16"],
                         ids=lambda v: v.key)
def test_a05_monotonic_around_every_case(version: PolicyVersion) -> None:
    """The monotonic invariant, probed from every case that gives 上年度研发费用, raised by small and large steps."""
    inv = next(i for i in version.invariants if i.kind == "monotonic")
    index = FactIndex(version.facts.values())
    probed = 0
    for case in version.tests:
        key = next((k for k in case.facts if index.resolve(k).name == "rd_expense"), None)
        raw = case.facts.get(key) if key else None
        if not isinstance(raw, str) or not raw.strip():
            continue
        base = parse_money(raw)
        for step in (1, 10, 499_999, 5_000_000):
            facts = {index.resolve(k).name: v for k, v in case.facts.items()}
            violation = monotonic_violation(version, inv, facts, str(base + step))
            assert violation is None, f"{case.name}: {violation}"
            probed += 1
    assert probed >= 20


# -- coverage: every clause has an eligible, an ineligible and an undetermined case --------------

@pytest.mark.parametrize("version", all_versions(), ids=lambda v: v.key)
def test_every_clause_is_covered_by_each_status(version: PolicyVersion) -> None:
    seen: dict[str, set[str]] = {c.id: set() for c in version.clauses}
    for case in version.tests:
        for clause_id, want in case.expect.items():
            seen[clause_id].add(want.status if isinstance(want, ExpectedClause) else want)
    missing = {cid: [s for s in COVERED_STATUSES if s not in got] for cid, got in seen.items()}
    missing = {cid: m for cid, m in missing.items() if m}
    assert not missing, f"{version.key}: clauses lacking a test case with these outcomes: {missing}"


def test_group_conflict_cases_exist() -> None:
    """Each huangzuan16 version has a case where a group member is excluded."""
    for v in package("huangzuan16").versions:
        excluded = [c.name for c in v.tests for w in c.expect.values()
                    if (w.status if isinstance(w, ExpectedClause) else w) == "excluded"]
        assert excluded, f"{v.key} has no 就高不重复 case"


# -- the municipal calibration -----------------------------------------------------------------------

def test_municipal_calibration_2020() -> None:
    """54 enterprises recognised in 2019 (40 首次认定, 14 重新认定), pre-reviewed in 2020: 940万元 paid."""
    municipal = package("municipal")
    population = [{"统一社会信用代码": USCC, "申报年度": "2020", "注册地所在市": "沈阳市",
                   "是否列入严重失信主体名单": "否", "高新技术企业认定类型": status, "高新技术企业认定年份": "2019"}
                  for status in ["首次认定"] * 40 + ["重新认定"] * 14]
    decisions = [evaluate(municipal, facts) for facts in population]
    assert len(decisions) == 54
    assert {d.package("municipal").version for d in decisions} == {"2019"}
    paid = Counter(c.clause for d in decisions for c in d.package("municipal").clauses if c.status == "eligible")
    assert paid == {"m01": 40, "m02": 14}
    assert sum(d.total for d in decisions) == 9_400_000


# -- version choice, not-in-force, and a municipal + district stack ------------------------------------

def _hg(**more: str) -> dict[str, str]:
    """A 皇姑区 enterprise (so also in 沈阳市), honest, with `more` facts."""
    base = {"统一社会信用代码": USCC, "注册地所在区": "皇姑区", "税收户管地所在区": "皇姑区",
            "注册地所在市": "沈阳市", "是否列入严重失信主体名单": "否"}
    return {**base, **more}


def test_application_year_2018_is_not_in_force() -> None:
    facts = _hg(申报年度="2018", 高新技术企业认定类型="首次认定", 高新技术企业认定年份="2017")
    decision = evaluate([package("huangzuan16"), package("municipal")], facts)
    for pid in PACKAGE_NAMES:
        result = decision.package(pid)
        assert result.status == "not_in_force", result
        assert result.version is None and result.total == 0 and not result.clauses
        assert "2018" in result.reason
    assert decision.total == 0


@pytest.mark.parametrize(("year", "district_version", "district_award"),
                         [("2019", "2.0", 100_000), ("2020", "2.0", 100_000), ("2021", "3.0", 100_000)])
def test_municipal_and_district_awards_stack(year: str, district_version: str, district_award: int) -> None:
    facts = _hg(申报年度=year, 高新技术企业认定类型="首次认定", 高新技术企业认定年份=str(int(year) - 1))
    decision = evaluate([package("huangzuan16"), package("municipal")], facts)
    district, city = decision.package("huangzuan16"), decision.package("municipal")
    assert district.version == district_version and city.version == "2019"
    assert district.clause("a01").status == "eligible" and district.clause("a01").amount == district_award
    assert city.clause("m01").status == "eligible" and city.clause("m01").amount == 200_000
    assert decision.total == district_award + 200_000


# -- the example applicant sheet ----------------------------------------------------------------------

# examples/README.md: the rows that are wrong on purpose, and the fact each one gets wrong
BAD_ROWS = {35: "uscc", 42: "rd_expense", 59: "application_year"}


def example_rows() -> dict[int, dict[str, str]]:
    with (EXAMPLES / "applicants_2021.csv").open(encoding="gbk", newline="") as f:
        return {n: row for n, row in enumerate(csv.DictReader(f), start=2)}  # the header is row 1


@cache
def example_outcomes() -> dict[int, Decision | FactError]:
    packages = [package("huangzuan16"), package("municipal")]
    out: dict[int, Decision | FactError] = {}
    for n, row in example_rows().items():
        try:
            out[n] = evaluate(packages, row)
        except FactError as exc:
            out[n] = exc
    return out


def _decided(row: int) -> Decision:
    outcome = example_outcomes()[row]
    assert isinstance(outcome, Decision), f"row {row} was rejected: {outcome}"
    return outcome


def test_readme_lists_the_bad_rows() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    listed = {int(n) for n in re.findall(r"^\| (\d+) \|", readme, flags=re.MULTILINE)}
    assert listed == set(BAD_ROWS)


def test_example_sheet_rejects_exactly_the_bad_rows() -> None:
    outcomes = example_outcomes()
    assert len(outcomes) == 60
    rejected = {n: o for n, o in outcomes.items() if isinstance(o, FactError)}
    assert sorted(rejected) == sorted(BAD_ROWS), {n: str(e) for n, e in rejected.items()}
    for n, fact in BAD_ROWS.items():
        assert rejected[n].fact.startswith(fact), f"row {n}: {rejected[n]}"
    for n, outcome in outcomes.items():
        if isinstance(outcome, Decision):
            assert [(p.package, p.version, p.status) for p in outcome.packages] == \
                [("huangzuan16", "3.0", "evaluated"), ("municipal", "2019", "evaluated")], f"row {n}"


def test_example_row_2_hits_the_per_applicant_cap() -> None:
    result = _decided(2).package("huangzuan16")
    assert result.total == 5_000_000
    cut = [s.clause for s in result.steps if s.step == "applicant_cap"]
    assert cut == ["a16", "a15", "a14", "a13", "a12", "a11"]  # from the highest article down
    assert result.clause("a11").amount == 890_000  # 781万 before the cap: a16..a12 → 0, a11 200万 → 89万


def test_example_row_12_group_conflict() -> None:
    decision = _decided(12)
    district = decision.package("huangzuan16")
    assert district.clause("a01").status == "excluded" and district.clause("a01").amount == 0
    assert district.clause("a03").status == "eligible" and district.clause("a03").amount == 200_000
    assert decision.package("municipal").clause("m01").amount == 200_000  # the city pays on top


@pytest.mark.parametrize(("row", "clause", "status", "amount"), [
    (20, "a05", "eligible", 8_000),    # 研发费用 500000, 前年度 420000: 10% × 80000
    (24, "a05", "ineligible", 0),      # 研发费用 499,999.00
    (30, "a14", "eligible", 10_000),   # 成交额 1000000: 1%
    (60, "a14", "ineligible", 0),      # 成交额 999,999.00
    (26, "a08", "eligible", 130_000),  # 入驻率 80%, 22 家, 8 家高企: 5万 + 8万
    (34, "a08", "ineligible", 0),      # 入驻率 79%
    (19, "a08", "eligible", 90_000),   # 入驻 10 家 (入驻率 0.85), 4 家高企
    (43, "a08", "ineligible", 0),      # 入驻 9 家
    (19, "a07", "eligible", 200_000),  # 省级, 已获市级: 50万 − 30万
    (40, "a01", "undetermined", 0),    # 失信名单空白
    (17, "a05", "undetermined", 0),    # 研发费用空白
    (61, "a08", "undetermined", 0),    # 入驻率空白
])
def test_example_spot_checks(row: int, clause: str, status: str, amount: int) -> None:
    result = _decided(row).package("huangzuan16").clause(clause)
    assert (result.status, result.amount) == (status, amount), result.reason


def test_example_row_40_municipal_undetermined() -> None:
    assert _decided(40).package("municipal").clause("m01").status == "undetermined"


# -- batch invariants -----------------------------------------------------------------------------------

def test_batch_invariants_on_the_example_sheet() -> None:
    decisions = prorate([o for o in example_outcomes().values() if isinstance(o, Decision)])
    for (pid, version, _year), (_fund, paid) in fund_use(decisions).items():
        v = package(pid).version(version)
        assert not batch_violations(v, paid)


def test_batch_invariant_catches_an_oversubscribed_year_and_proration_fixes_it() -> None:
    """Seven applicants at the 5,000,000 cap ask for 35,000,000 of a 30,000,000 fund."""
    v3 = package("huangzuan16").version("3.0")
    facts = _hg(申报年度="2021", 成长型企业类别="独角兽", 成长型企业认定年份="2020", 双创载体级别="国家级",
                双创载体认定年份="2020", 为入驻中小微企业减免租金="500万", 新型研发机构级别="省级",
                新型研发机构认定年份="2019", 研发仪器设备投入="1000万")
    del facts["注册地所在市"]  # a fact of the municipal package only
    decisions = [evaluate(v3, facts) for _ in range(7)]
    asked = sum(d.total for d in decisions)
    assert asked == 35_000_000
    assert [str(x.invariant.id) for x in batch_violations(v3, asked)] == ["annual_fund"]
    paid = sum(d.total for d in prorate(decisions))
    assert paid <= 30_000_000 and not batch_violations(v3, paid)
