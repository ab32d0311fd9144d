"""Release blocker: the columnar backend and the reference interpreter agree, clause by clause.

For random populations drawn from each bundled version's fact schema (blanks, spellings of every kind, values
at and around the version's own thresholds, large money values), `score_table` (columnar) must give every
clause the status and amount that `evaluate()` gives, with `settlement.prorate` applied over the population,
the same package totals, the same reasons, and the same rejected rows.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine import FactError, evaluate, prorate
from policyengine.batch.parse import PY_WHITESPACE
from policyengine.batch.read import ROW, Table
from policyengine.batch.reasons import is_listed
from policyengine.batch.score import clause_ids, score_table
from policyengine.facts.money import format_decimal
from policyengine.facts.uscc import CHARSET, check_character
from policyengine.lang import ast as A
from policyengine.lang import traverse
from policyengine.model.bundled import load_bundled
from policyengine.model.policy import Package, PolicyVersion
from policyengine.model.rulefile import FactSpec

PACKAGES = load_bundled()
VERSIONS = [(p, v) for p in PACKAGES for v in p.versions]


def _literals(version: PolicyVersion) -> set[Fraction]:
    out: set[Fraction] = set()
    exprs = [c.amount for c in version.clauses] + [d.expr for c in version.clauses for d in c.conditions]
    exprs += list(version.definitions.values())
    while exprs:
        e = exprs.pop()
        if isinstance(e, A.Num | A.Money):
            out.add(e.value)
        exprs.extend(traverse.children(e))
    out.update(Fraction(c.cap) for c in version.clauses if c.cap is not None)
    return {v for v in out if v > 0}


def _money_text(draw: st.DrawFn, value: Fraction) -> str:
    style = draw(st.sampled_from(["plain", "plain", "commas", "wan", "yuan", "spaced", "fixed"]))
    if style == "commas" and value.denominator == 1:
        return f"{int(value):,}"
    if style == "wan":
        return format_decimal(value / 10_000) + draw(st.sampled_from(["万", "万元"]))
    if style == "yuan":
        return format_decimal(value) + "元"
    if style == "spaced":
        return " " + format_decimal(value) + " "
    if style == "fixed":
        return f"{value.numerator / value.denominator:.2f}" if value < 10**12 else format_decimal(value)
    return format_decimal(value)


def _uscc(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=CHARSET, min_size=17, max_size=17))
    return body + check_character(body)


@st.composite
def _cell(draw: st.DrawFn, spec: FactSpec, version: PolicyVersion, year: int) -> str | None:
    if spec.name == "uscc":
        return _uscc(draw)
    if spec.name == "application_year":
        return str(year)
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from([None, "", "  "]))
    if spec.type == "money":
        thresholds = sorted(_literals(version))
        base = draw(st.one_of(
            st.sampled_from(thresholds).flatmap(
                lambda t: st.sampled_from([t - 1, t, t + 1, t - Fraction(1, 100), t + Fraction(1, 100), 10 * t])),
            st.integers(0, 3_000_000).map(Fraction),
            st.integers(0, 10**8).map(lambda n: Fraction(n, 100)),
            st.integers(10**11, 10**16).map(Fraction),  # large: beyond 10^13 yuan the interpreter decides, from
            # 10^15 yuan the row is rejected
        ))
        return _money_text(draw, max(base, Fraction(0)))
    if spec.type == "rate":
        return draw(st.one_of(
            st.sampled_from(["80%", "79.99%", "80.01%", "0.8", "0.79", "0.7", "70%", "69.9%", "100%", "0", "1"]),
            st.integers(0, 10_000).map(lambda n: format_decimal(Fraction(n, 100)) + "%"),
            st.integers(0, 10**9).map(lambda n: format_decimal(Fraction(n, 10**9))),  # finer than a millionth
        ))
    if spec.type == "integer":
        return draw(st.one_of(st.integers(0, 25).map(str), st.sampled_from(["1,000", "12.0"]),
                              st.integers(10**11, 10**14).map(str)))
    if spec.type == "year":
        return draw(st.sampled_from([str(year + d) for d in (-5, -4, -3, -2, -1, -1, -1, 0, 1)] + [f"{year - 1}年"]))
    if spec.type == "bool":
        return draw(st.sampled_from(["是", "否", "否", "true", "false", "1", "0", " 否 ", "Yes", "N"]))
    if spec.type == "enum":
        values = spec.values or []
        return draw(st.sampled_from([*values, *values, f" {values[-1]} "]))
    if spec.name in ("registered_district", "tax_district"):
        return draw(st.sampled_from(["皇姑区", "皇姑区", "皇姑区", "铁西区", " 皇姑区"]))
    if spec.name == "registered_city":
        return draw(st.sampled_from(["沈阳市", "沈阳市", "大连市"]))
    return draw(st.text(alphabet="企业科技有限公司=+-@ ab", min_size=1, max_size=8))


@st.composite
def populations(draw: st.DrawFn, version: PolicyVersion) -> list[dict[str, str | None]]:
    eff = version.meta.effective
    year = draw(st.integers(eff.from_year, eff.to_year if eff.to_year is not None else eff.from_year + 3))
    n = draw(st.integers(1, 30))
    specs = list(version.facts.values())
    return [{s.name: draw(_cell(s, version, year)) for s in specs} for _ in range(n)]


def _table(rows: list[dict[str, str | None]], names: list[str]) -> Table:
    frame = pl.DataFrame({Table.column_name(i): pl.Series([r[n] for r in rows], dtype=pl.String)
                          for i, n in enumerate(names)})
    frame = frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Table(frame, names, Path("<memory>"), "utf-8")


def check_agreement(package: Package, version: PolicyVersion, rows: list[dict[str, str | None]]) -> None:
    names = list(version.facts)
    scored = score_table(_table(rows, names), [package], version=version.version)
    # the reference: evaluate() per row, then settlement.prorate over the accepted rows
    decisions, rejected = [], []
    for i, r in enumerate(rows):
        try:
            decisions.append((i + 2, evaluate(package, r, version=version.version, backend="interpreter")))
        except FactError:
            rejected.append(i + 2)
    # one applicant, one award: rows sharing a USCC and an application year are all rejected
    keys = [(d.facts["uscc"], d.application_year) for _, d in decisions]
    twice = {k for k in keys if keys.count(k) > 1}
    rejected = sorted(rejected + [row for (row, _), k in zip(decisions, keys, strict=True) if k in twice])
    decisions = [(row, d) for (row, d), k in zip(decisions, keys, strict=True) if k not in twice]
    assert sorted({x.row for x in scored.rejects}) == rejected
    prorated = prorate([d for _, d in decisions])
    out = scored.output
    assert out.height == len(prorated)
    assert scored.rows_in == out.height + scored.rows_rejected
    columnar_rows = scored.accepted.height - scored.interpreted_rows
    assert columnar_rows >= 0
    for (row, plain), d, got in zip(decisions, prorated, out.iter_rows(named=True), strict=True):
        res = d.package(package.id)
        for c in res.clauses:
            where = f"row {row} {version.key} {c.clause}: facts {plain.facts}"
            assert got[f"{package.id}.{c.clause}.status"] == c.status, where
            assert got[f"{package.id}.{c.clause}.amount"] == c.amount, where
        assert got[f"{package.id}.total"] == res.total
        assert got["total"] == d.total
        expected = [c.reason for c in plain.package(package.id).clauses if is_listed(version, c)]
        # every listed reason appears verbatim (grouped clauses share one text)
        for text in expected:
            assert f": {text}" in got["reasons"], (row, text, got["reasons"])
        assert len(set(expected)) == got["reasons"].count(": ") if got["reasons"] else not expected


@pytest.mark.parametrize(("package", "version"), VERSIONS, ids=[v.key for _, v in VERSIONS])
def test_columnar_agrees_with_interpreter(package: Package, version: PolicyVersion) -> None:
    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.data_too_large])
    @given(populations(version))
    def run(rows: list[dict[str, str | None]]) -> None:
        check_agreement(package, version, rows)

    run()


def test_columnar_decides_ordinary_rows_itself() -> None:
    """The agreement above must not come from handing every row to the interpreter."""
    package = next(p for p in PACKAGES if p.id == "huangzuan16")
    version = package.version("3.0")
    rows = [{n: None for n in version.facts} | {"uscc": "91210105MALH7EF96R", "application_year": "2021",
                                                  "rd_expense": "120万", "rd_expense_prev": "1,000,000.00"}]
    scored = score_table(_table(rows, list(version.facts)), [package])
    assert scored.interpreted_rows == 0 and not scored.not_compiled
    rows[0]["rd_expense"] = str(10**14)  # beyond the columnar range (10^13 yuan), below the bound (10^15)
    assert score_table(_table(rows, list(version.facts)), [package]).interpreted_rows == 1


def test_python_whitespace_is_what_strip_removes() -> None:
    import sys

    assert "".join(chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()) == PY_WHITESPACE


def test_population_over_the_fund_agrees_after_proration() -> None:
    package = next(p for p in PACKAGES if p.id == "huangzuan16")
    version = package.version("3.0")
    base = {n: None for n in version.facts} | {
        "application_year": "2021", "registered_district": "皇姑区", "tax_district": "皇姑区",
        "serious_dishonesty": "否", "growth_tier": "独角兽", "growth_tier_year": "2020", "event_count": "3",
        "event_cost": "123457"}
    rows = []
    for i in range(37):
        body = f"9121010500000{i:04d}"
        rows.append(base | {"uscc": body + check_character(body)})
    check_agreement(package, version, rows)
    scored = score_table(_table(rows, list(version.facts)), [package])
    (budget,) = scored.budgets
    assert budget.prorated and budget.paid <= 30_000_000 < budget.demand
    assert len(clause_ids(package)) == 16


@pytest.mark.parametrize(("amount", "why"), [("1万 * staff * staff", "64-bit"),
                                             ("1万 * staff * staff * staff", "128-bit")])
def test_version_whose_amounts_could_overflow_is_decided_by_the_interpreter(
        tmp_path: Path, amount: str, why: str) -> None:
    """A version whose amounts could leave Int64 (or an intermediate Int128) is not compiled: every row is
    decided by the interpreter, exactly, and none fails."""
    from policyengine import load_package

    from .support import FIXTURES, mini_facts

    source = (FIXTURES / "mini" / "1.0" / "policy.yaml").read_text(encoding="utf-8")
    assert source.count("amount: 1万 * staff\n") == 1
    (tmp_path / "1.0").mkdir()
    (tmp_path / "1.0" / "policy.yaml").write_text(source.replace("amount: 1万 * staff\n", f"amount: {amount}\n"),
                                                  encoding="utf-8")
    package = load_package(tmp_path)
    (version,) = package.versions
    rows: list[dict[str, str | None]] = [
        {n: None for n in version.facts} | {k: str(v) for k, v in mini_facts(level="无", staff=s).items()}
        for s in ("0", "3", "100000")]
    rows = _distinct(rows)
    scored = score_table(_table(rows, list(version.facts)), [package])
    assert why in scored.not_compiled[version.key]
    assert scored.interpreted_rows == len(rows) and not scored.rejects
    amounts = scored.output.get_column("mini.c02.amount").to_list()
    statuses = scored.output.get_column("mini.c02.status").to_list()
    power = amount.count("staff")
    assert statuses == ["ineligible", "eligible", "eligible"]
    # c02 stands in group G (c01 is ineligible); 10^14 (or 10^19) yuan is cut to the per-applicant cap of 50万,
    # c03 (the higher article) first
    assert amounts == [0, 10_000 * 3**power, 500_000]
    assert scored.output.get_column("mini.c03.amount").to_list() == [30_000, 30_000, 0]
    check_agreement(package, version, rows)


def _distinct(rows: list[dict[str, str | None]]) -> list[dict[str, str | None]]:
    """The rows as different applicants: each its own valid USCC (one USCC twice in a year is a duplicate)."""
    return [row | {"uscc": f"912101{i:011d}" + check_character(f"912101{i:011d}")} for i, row in enumerate(rows)]


def test_reasons_of_a_large_population_agree(tmp_path: Path) -> None:
    """Reasons are rendered once per distinct combination of the facts they show where those are few (here 64
    rows, a few combinations), a literal drafter's reason included; they are the interpreter's, row by row."""
    from policyengine import load_package

    from .support import FIXTURES, mini_facts

    source = (FIXTURES / "mini" / "1.0" / "policy.yaml").read_text(encoding="utf-8")
    old = "conditions: [E, share >= 80%]"
    assert source.count(old) == 1
    (tmp_path / "1.0").mkdir()
    (tmp_path / "1.0" / "policy.yaml").write_text(
        source.replace(old, 'conditions: [E, {test: share >= 80%, reason: "占比不足八成"}]'), encoding="utf-8")
    package = load_package(tmp_path)
    (version,) = package.versions
    rows: list[dict[str, str | None]] = []
    for i in range(64):
        facts = mini_facts(district=("皇姑区", "铁西区")[i % 2], honest=("是", "否", "是")[i % 3],
                           share=("50%", "90%")[i // 2 % 2], level_year=(None, "2020", "2019")[i % 3])
        rows.append({n: None for n in version.facts} | {k: None if v is None else str(v) for k, v in facts.items()})
    rows = _distinct(rows)
    check_agreement(package, version, rows)
    reasons = score_table(_table(rows, list(version.facts)), [package]).output.get_column("reasons").to_list()
    assert reasons[0] == "c04: 占比不足八成"
    assert reasons[1] == 'c01–c04: district == "皇姑区" is false (注册地所在区=铁西区)'


def test_enum_columns_agree(tmp_path: Path) -> None:
    """Enum facts are Enum columns: compared with each other (different values lists), with text facts and
    literals, chosen between by `if`, shown in reasons — as the interpreter does, on every combination."""
    from itertools import product

    from policyengine import load_package

    from .support import FIXTURES, mini_facts

    source = (FIXTURES / "mini" / "1.0" / "policy.yaml").read_text(encoding="utf-8")
    fact_line = "  - {name: level_year, type: year, label: 认定年份, blank: none}\n"
    assert source.count(fact_line) == 1
    source = source.replace(fact_line, fact_line + (
        "  - {name: prior, type: enum, label: 已获级别, values: [无, 市级], blank: none, none_value: 无}\n"
        "  - {name: wanted, type: text, label: 申报级别, blank: unknown}\n"))
    source += """  - id: c05
    article: 5
    title: 枚举比较
    text: 测试。
    conditions:
      - E
      - level != prior
      - {test: (if honest then level else prior) != "无", reason: "级别{level}，已获{prior}"}
      - level in ["市级", "省级"] or wanted == level
    amount: if level == "省级" then 3万 else 1万
"""
    (tmp_path / "1.0").mkdir()
    (tmp_path / "1.0" / "policy.yaml").write_text(source, encoding="utf-8")
    package = load_package(tmp_path)
    (version,) = package.versions
    rows: list[dict[str, str | None]] = []
    for level, prior, honest, wanted in product(["无", "市级", "省级", None], ["无", "市级", None], ["是", "否", None],
                                               ["市级", "省级", "无", "国家级", None]):
        facts = mini_facts(level=level, prior=prior, honest=honest, wanted=wanted)
        rows.append({n: None for n in version.facts} | {k: None if v is None else str(v) for k, v in facts.items()})
    rows = _distinct(rows)
    check_agreement(package, version, rows)
    scored = score_table(_table(rows, list(version.facts)), [package])
    assert scored.interpreted_rows == 0 and not scored.not_compiled
    statuses = scored.output.get_column("mini.c05.status").value_counts().sort("mini.c05.status")
    assert set(statuses.get_column("mini.c05.status").to_list()) == {"eligible", "ineligible", "undetermined"}


def test_proration_by_fund_and_application_year(mini: Package) -> None:
    """Each (version, application year) is its own fund: one over-subscribed, one within, in one batch."""
    from .support import mini_facts

    (version,) = mini.versions
    rows: list[dict[str, str | None]] = []
    for year, n in (("2021", 3), ("2022", 2)):
        for _ in range(n):
            facts = mini_facts(application_year=year, share="90%", level_year=str(int(year) - 1))
            rows.append({k: None for k in version.facts} | {k: str(v) for k, v in facts.items()})
    rows = _distinct(rows)
    check_agreement(mini, version, rows)
    budgets = {b.application_year: b for b in score_table(_table(rows, list(version.facts)), [mini]).budgets}
    assert budgets[2021].prorated and not budgets[2022].prorated
    assert budgets[2021].paid <= 1_000_000 < budgets[2021].demand
