"""A direct, hand-written Python computation of the decisions `evaluate()` makes with the two bundled packages.

    python benchmarks/handwritten_evaluate.py [--synthetic 3000] [--edge 3000] [--seed 2021]

The yardstick for issue 9's "evaluate() median within 6× a hand-written computation": 皇钻十六条 (2.0 for
application years 2019–2020, 3.0 from 2021) and the municipal package (2019–2021), coded clause by clause
with if/else from the rule files (rules/huangzuan16/*/policy.yaml, rules/municipal/2019/policy.yaml,
rules/facts.yaml) the way an engineer would hand-code these specific rules: no expression tree, no trace,
no reasons, no pydantic.

Input: parsed facts, as `read_facts(index, row).values` gives them (exact `Fraction`s for money, rates,
integers and years; `bool`; `str`; `None` for an event that did not happen; `UNKNOWN` for an unknown
fact); an absent fact reads as its blank (`BLANKS`). Output: per package its version (None when no version
applies), every clause's `[id, status, amount]` after settlement, and its total; and the grand total.

Semantics written out by hand, as docs/authoring.md states them:
- three-valued conditions: a clause is ineligible when any condition is false, else undetermined when any is
  unknown, else eligible. Only facts declared `blank: unknown` can be unknown (the districts, the city, 严重失信,
  the two R&D expenses, the occupancy rate); every other fact always has a value;
- a year that did not happen (None) equals no year and has no order (`x <= Y - 1` is false);
- the clause amount is rounded once, half up to the yuan, then capped; then group HT (a01–a03, 就高不重复:
  the highest amount stands, a tie goes to the lower article; the others are excluded); then the
  per-applicant cap, cut from the highest article down.

`check(packages, rows)` compares this with `evaluate(packages, row, backend="interpreter")` and returns the
mismatches; run as a script, it checks the example sheet, synthetic rows and edge-case rows.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

from policyengine.facts.values import UNKNOWN as U

ELIGIBLE, INELIGIBLE, UNDETERMINED, EXCLUDED = "eligible", "ineligible", "undetermined", "excluded"

# What an absent (blank) fact means, from rules/facts.yaml: blank unknown → U, zero → 0, none → None (a year
# that did not happen) or the enum's none value 无. `uscc` and `application_year` are required (never blank).
_UNKNOWN_BLANK = ("name", "uscc", "application_year", "registered_district", "tax_district", "registered_city",
                  "serious_dishonesty", "rd_expense", "rd_expense_prev", "carrier_occupancy")
_ZERO_BLANK = ("carrier_tenants", "carrier_hightech_tenants", "rent_reduction", "rd_equipment_investment",
               "offshore_center_rent", "tech_contract_turnover", "event_count", "event_cost", "invention_patents",
               "tech_loan_interest", "voucher_redeemed", "univ_contract_payments", "phd_hires")
_NONE_ENUM = ("hightech_status", "growth_tier", "carrier_level", "carrier_prior_awarded_level", "nrdi_level",
              "nrdi_prior_awarded_level", "competition_level", "competition_rank")
_NONE_YEAR = ("hightech_cert_year", "hightech_moved_in_year", "cultivation_pool_year", "tech_sme_year",
              "growth_tier_year", "carrier_level_year", "nrdi_year", "offshore_center_year",
              "intl_platform_start_year", "competition_year")
BLANKS: dict[str, Any] = {**dict.fromkeys(_UNKNOWN_BLANK, U), **dict.fromkeys(_ZERO_BLANK, Fraction(0)),
                          **dict.fromkeys(_NONE_ENUM, "无"), **dict.fromkeys(_NONE_YEAR, None)}

Clause = list[Any]  # [clause id, status, amount in yuan]


def _half_up(x: Fraction | int) -> int:
    """Round a non-negative exact amount half up to the yuan (facts are never negative, nor are amounts)."""
    if isinstance(x, int):
        return x
    n, d = x.numerator, x.denominator
    return (2 * n + d) // (2 * d)


def _gate(e: Any, ok: bool) -> str:
    """Status from a three-valued general condition E and the clause's own conditions, all two-valued."""
    if e is False or not ok:
        return INELIGIBLE
    return UNDETERMINED if e is U else ELIGIBLE


def _status(*conds: Any) -> str:
    """Status from three-valued conditions (True, False or U): one false one decides."""
    unknown = False
    for c in conds:
        if c is False:
            return INELIGIBLE
        if c is U:
            unknown = True
    return UNDETERMINED if unknown else ELIGIBLE


def _e_huanggu(f: Mapping[str, Any]) -> Any:
    """皇钻十六条 E: registered_district == "皇姑区" and tax_district == "皇姑区" and serious_dishonesty == false."""
    rd, td, sd = f["registered_district"], f["tax_district"], f["serious_dishonesty"]
    a = U if rd is U else rd == "皇姑区"
    b = U if td is U else td == "皇姑区"
    c = U if sd is U else sd is False
    if a is False or b is False or c is False:
        return False
    if a is U or b is U or c is U:
        return U
    return True


def _e_shenyang(f: Mapping[str, Any]) -> Any:
    """Municipal E: registered_city == "沈阳市" and serious_dishonesty == false."""
    city, sd = f["registered_city"], f["serious_dishonesty"]
    a = U if city is U else city == "沈阳市"
    c = U if sd is U else sd is False
    if a is False or c is False:
        return False
    if a is U or c is U:
        return U
    return True


class _HZ20:
    """皇钻十六条 2.0's numbers."""

    A03 = 100_000
    RD_FLOOR, RD_RATE, RD_CAP = 1_000_000, Fraction(5, 100), 300_000
    GROWTH: ClassVar[dict[str, int]] = {"无": 0, "瞪羚": 200_000, "独角兽": 500_000}
    CARRIER: ClassVar[dict[str, int]] = {"无": 0, "市级": 200_000, "省级": 400_000, "国家级": 800_000}
    OCCUPANCY, OPS_BASE, OPS_PER, OPS_CAP = Fraction(70, 100), 30_000, 5_000, 300_000
    TURNOVER_RATE, TURNOVER_CAP = Fraction(5, 1000), 100_000
    APPLICANT_CAP = 3_000_000


class _HZ30:
    """皇钻十六条 3.0's numbers."""

    A03 = 200_000
    RD_FLOOR, RD_RATE, RD_CAP = 500_000, Fraction(10, 100), 500_000
    GROWTH: ClassVar[dict[str, int]] = {"无": 0, "瞪羚": 300_000, "独角兽": 1_000_000}
    CARRIER: ClassVar[dict[str, int]] = {"无": 0, "市级": 300_000, "省级": 500_000, "国家级": 1_000_000}
    NRDI: ClassVar[dict[str, int]] = {"无": 0, "市级": 200_000, "省级": 500_000}
    OCCUPANCY, OPS_BASE, OPS_PER, OPS_CAP = Fraction(80, 100), 50_000, 10_000, 500_000
    TURNOVER_RATE, TURNOVER_CAP = Fraction(1, 100), 200_000
    APPLICANT_CAP = 5_000_000


_PRIZE = {"无": 0, "一等奖": 200_000, "二等奖": 100_000, "三等奖": 50_000}


def _huangzuan16(f: Mapping[str, Any], y: int, v3: bool) -> tuple[list[Clause], int]:
    """皇钻十六条 (2.0 or 3.0) for one applicant: clauses in article order, settled, and the total."""
    p: type[_HZ20] | type[_HZ30] = _HZ30 if v3 else _HZ20
    e = _e_huanggu(f)
    y1 = y - 1
    out: list[Clause] = []

    hs, cert = f["hightech_status"], f["hightech_cert_year"]
    s = _gate(e, hs == "首次认定" and cert == y1)                                      # a01 首次认定 10万
    out.append(["a01", s, 100_000 if s is ELIGIBLE else 0])
    s = _gate(e, hs == "重新认定" and cert == y1)                                      # a02 重新认定 5万
    out.append(["a02", s, 50_000 if s is ELIGIBLE else 0])
    s = _gate(e, hs != "无" and cert is not None and cert >= y - 3                     # a03 迁入
              and f["hightech_moved_in_year"] == y1)
    out.append(["a03", s, p.A03 if s is ELIGIBLE else 0])
    s = _gate(e, f["tech_sme_year"] == y1)                                             # a04 科技型中小企业 2万
    out.append(["a04", s, 20_000 if s is ELIGIBLE else 0])

    rd, prev = f["rd_expense"], f["rd_expense_prev"]                                   # a05 研发投入增量
    s = _status(e, U if rd is U else rd >= p.RD_FLOOR, U if rd is U or prev is U else rd > prev)
    out.append(["a05", s, min(_half_up(p.RD_RATE * (rd - prev)), p.RD_CAP) if s is ELIGIBLE else 0])

    tier = f["growth_tier"]                                                            # a06 瞪羚、独角兽
    s = _gate(e, tier != "无" and f["growth_tier_year"] == y1)
    out.append(["a06", s, p.GROWTH[tier] if s is ELIGIBLE else 0])

    level, prior = f["carrier_level"], f["carrier_prior_awarded_level"]               # a07 双创载体晋级补差
    s = _gate(e, level != "无" and f["carrier_level_year"] == y1 and p.CARRIER[level] > p.CARRIER[prior])
    out.append(["a07", s, p.CARRIER[level] - p.CARRIER[prior] if s is ELIGIBLE else 0])

    occupancy = f["carrier_occupancy"]                                                 # a08 载体运营补贴
    s = _status(e, level != "无", U if occupancy is U else occupancy >= p.OCCUPANCY, f["carrier_tenants"] >= 10)
    out.append(["a08", s, min(_half_up(p.OPS_BASE + p.OPS_PER * f["carrier_hightech_tenants"]), p.OPS_CAP)
                if s is ELIGIBLE else 0])

    if v3:
        _hz30_a09_a13(f, e, y1, level, out)
    else:
        _hz20_a09_a13(f, e, out)

    turnover = f["tech_contract_turnover"]                                             # a14 技术合同登记
    s = _gate(e, turnover >= 1_000_000)
    out.append(["a14", s, min(_half_up(p.TURNOVER_RATE * turnover), p.TURNOVER_CAP) if s is ELIGIBLE else 0])

    comp, rank = f["competition_level"], f["competition_rank"]                         # a15 赛事获奖
    s = _gate(e, comp != "无" and rank != "无" and f["competition_year"] == y1)
    out.append(["a15", s, (_PRIZE[rank] if comp == "国家级" else _half_up(Fraction(_PRIZE[rank], 2)))
                if s is ELIGIBLE else 0])

    events, cost = f["event_count"], f["event_cost"]                                   # a16 创新活动
    s = _gate(e, events >= 1 and cost > 0)
    out.append(["a16", s, min(_half_up(min(cost / 2, 100_000 * events)), 300_000) if s is ELIGIBLE else 0])

    # group HT (a01–a03): the highest amount stands, a tie goes to the lower article
    ht = [c for c in out[:3] if c[1] is ELIGIBLE]
    if len(ht) > 1:
        best = max(c[2] for c in ht)
        winner = next(c for c in ht if c[2] == best)
        for c in ht:
            if c is not winner:
                c[1], c[2] = EXCLUDED, 0
    # per-applicant cap, cut from the highest article down
    total = sum(c[2] for c in out)
    if total > p.APPLICANT_CAP:
        excess = total - p.APPLICANT_CAP
        for c in reversed(out):
            if excess <= 0:
                break
            if c[2]:
                cut = min(c[2], excess)
                c[2] -= cut
                excess -= cut
        total = sum(c[2] for c in out)
    return out, total


def _hz20_a09_a13(f: Mapping[str, Any], e: Any, out: list[Clause]) -> None:
    n = f["invention_patents"]                                                         # a09 发明专利
    s = _gate(e, n >= 1)
    out.append(["a09", s, min(_half_up(5_000 * n), 100_000) if s is ELIGIBLE else 0])
    x = f["tech_loan_interest"]                                                        # a10 科技贷款贴息
    s = _gate(e, x > 0)
    out.append(["a10", s, min(_half_up(x / 2), 200_000) if s is ELIGIBLE else 0])
    x = f["voucher_redeemed"]                                                          # a11 科技创新券
    s = _gate(e, x > 0)
    out.append(["a11", s, min(_half_up(x), 100_000) if s is ELIGIBLE else 0])
    x = f["univ_contract_payments"]                                                    # a12 产学研合作
    s = _gate(e, x > 0)
    out.append(["a12", s, min(_half_up(x / 5), 300_000) if s is ELIGIBLE else 0])
    n = f["phd_hires"]                                                                 # a13 博士引进
    s = _gate(e, n >= 1)
    out.append(["a13", s, min(_half_up(30_000 * n), 150_000) if s is ELIGIBLE else 0])


def _hz30_a09_a13(f: Mapping[str, Any], e: Any, y1: int, level: str, out: list[Clause]) -> None:
    x = f["rent_reduction"]                                                            # a09 载体租金减免
    s = _gate(e, level != "无" and x > 0)
    out.append(["a09", s, min(_half_up(x * 3 / 10), 1_000_000) if s is ELIGIBLE else 0])
    nrdi, prior = f["nrdi_level"], f["nrdi_prior_awarded_level"]                       # a10 新型研发机构晋级补差
    s = _gate(e, nrdi != "无" and f["nrdi_year"] == y1 and _HZ30.NRDI[nrdi] > _HZ30.NRDI[prior])
    out.append(["a10", s, _HZ30.NRDI[nrdi] - _HZ30.NRDI[prior] if s is ELIGIBLE else 0])
    x = f["rd_equipment_investment"]                                                   # a11 新型研发机构建设
    s = _gate(e, nrdi != "无" and x > 0)
    out.append(["a11", s, min(_half_up(x / 5), 2_000_000) if s is ELIGIBLE else 0])
    year, rent = f["offshore_center_year"], f["offshore_center_rent"]                  # a12 域外创新中心
    s = _gate(e, year is not None and year <= y1 and (year == y1 or rent > 0))
    out.append(["a12", s, _half_up((300_000 if year == y1 else 0) + min(rent / 2, 200_000)) if s is ELIGIBLE else 0])
    s = _gate(e, f["intl_platform_start_year"] == y1)                                  # a13 中外合作创新平台
    out.append(["a13", s, 500_000 if s is ELIGIBLE else 0])


def _municipal(f: Mapping[str, Any], y: int) -> tuple[list[Clause], int]:
    """沈阳市高新技术企业专项补助 2019: no group, no caps."""
    e = _e_shenyang(f)
    y1 = y - 1
    hs, cert = f["hightech_status"], f["hightech_cert_year"]
    out: list[Clause] = []
    s = _gate(e, hs == "首次认定" and cert == y1)
    out.append(["m01", s, 200_000 if s is ELIGIBLE else 0])
    s = _gate(e, hs == "重新认定" and cert == y1)
    out.append(["m02", s, 100_000 if s is ELIGIBLE else 0])
    s = _gate(e, f["cultivation_pool_year"] == y1 and hs == "无")
    out.append(["m03", s, 100_000 if s is ELIGIBLE else 0])
    return out, out[0][2] + out[1][2] + out[2][2]


Result = tuple[dict[str, tuple[str | None, list[Clause], int]], int]


def decide(values: Mapping[str, Any]) -> Result:
    """Both packages for one applicant's parsed facts: ({package: (version, clauses, total)}, grand total)."""
    f = {**BLANKS, **values}
    year = f["application_year"]
    if year is U:
        return {"huangzuan16": (None, [], 0), "municipal": (None, [], 0)}, 0
    y = int(year)
    out: dict[str, tuple[str | None, list[Clause], int]] = {}
    if y >= 2019:
        v3 = y >= 2021
        clauses, total = _huangzuan16(f, y, v3)
        out["huangzuan16"] = ("3.0" if v3 else "2.0", clauses, total)
    else:
        out["huangzuan16"] = (None, [], 0)
    if 2019 <= y <= 2021:
        clauses, total = _municipal(f, y)
        out["municipal"] = ("2019", clauses, total)
    else:
        out["municipal"] = (None, [], 0)
    return out, out["huangzuan16"][2] + out["municipal"][2]


# -- checking it against the library ----------------------------------------------------------------

def library_blanks(packages: Sequence[Any]) -> dict[str, Any]:
    """Each fact's blank as the library reads it (to check `BLANKS` against)."""
    from policyengine.decide.evaluate import fact_index
    from policyengine.facts.cells import blank_value

    return {name: blank_value(spec) for name, spec in fact_index(packages).specs.items()}


def check(packages: Sequence[Any], rows: Sequence[Mapping[str, object]]) -> list[str]:
    """Where `decide` and `evaluate(packages, row, backend="interpreter")` disagree (versions, clause statuses
    and amounts, package totals, the grand total): one line per difference, naming the row and the clause."""
    from policyengine import evaluate
    from policyengine.decide.evaluate import fact_index
    from policyengine.facts.applicant import read_facts

    problems: list[str] = []
    if library_blanks(packages) != BLANKS:
        problems.append(f"BLANKS differ from the catalogue: {library_blanks(packages)} != {BLANKS}")
    index = fact_index(packages)
    for i, row in enumerate(rows):
        mine, grand = decide(read_facts(index, row).values)
        d = evaluate(packages, row, backend="interpreter")
        where = f"row {i} {dict(row)}"
        if d.total != grand:
            problems.append(f"{where}: grand total: library {d.total}, hand-written {grand}")
        if sorted(p.package for p in d.packages) != sorted(mine):
            problems.append(f"{where}: packages: library {[p.package for p in d.packages]}, hand-written {list(mine)}")
            continue
        for p in d.packages:
            version, clauses, total = mine[p.package]
            if p.version != version:
                problems.append(f"{where}: {p.package} version: library {p.version}, hand-written {version}")
                continue
            if p.total != total:
                problems.append(f"{where}: {p.package}@{version} total: library {p.total}, hand-written {total}")
            lib = [[c.clause, c.status, c.amount] for c in p.clauses]
            if [c[0] for c in lib] != [c[0] for c in clauses]:
                problems.append(f"{where}: {p.package}@{version} clauses: library {[c[0] for c in lib]}, "
                                f"hand-written {[c[0] for c in clauses]}")
                continue
            for a, b in zip(lib, clauses, strict=True):
                if a != b:
                    problems.append(f"{where}: {p.package}@{version} {a[0]}: library ({a[1]}, {a[2]}), "
                                    f"hand-written ({b[1]}, {b[2]})")
    return problems


def _fen(k: int) -> str:
    """`k` fen as yuan text with two decimals."""
    return f"{k // 100}.{k % 100:02d}"


def maxed_rows() -> list[dict[str, object]]:
    """For each application year 2019–2022: an applicant who qualifies for every clause at its top amount (so
    the per-applicant cap binds), and the same applicant with each fact blank in turn."""
    rows: list[dict[str, object]] = []
    for year in (2019, 2020, 2021, 2022):
        last = str(year - 1)
        full: dict[str, object] = {
            "registered_district": "皇姑区", "tax_district": "皇姑区", "registered_city": "沈阳市",
            "serious_dishonesty": "否", "hightech_status": "首次认定", "hightech_cert_year": last,
            "hightech_moved_in_year": last, "cultivation_pool_year": last, "tech_sme_year": last,
            "rd_expense": "5000万", "rd_expense_prev": "100万", "growth_tier": "独角兽", "growth_tier_year": last,
            "carrier_level": "国家级", "carrier_level_year": last, "carrier_prior_awarded_level": "无",
            "carrier_occupancy": "95%", "carrier_tenants": "50", "carrier_hightech_tenants": "50",
            "rent_reduction": "1000万", "nrdi_level": "省级", "nrdi_year": last, "nrdi_prior_awarded_level": "无",
            "rd_equipment_investment": "2000万", "offshore_center_year": last, "offshore_center_rent": "100万",
            "intl_platform_start_year": last, "tech_contract_turnover": "5000万", "competition_level": "国家级",
            "competition_rank": "一等奖", "competition_year": last, "event_count": "5", "event_cost": "100万",
            "invention_patents": "30", "tech_loan_interest": "100万", "voucher_redeemed": "100万",
            "univ_contract_payments": "500万", "phd_hires": "10"}
        head = {"uscc": "91350100M000100Y43", "application_year": str(year)}
        rows.append({**head, **full})
        rows.extend({**head, **{k: v for k, v in full.items() if k != dropped}} for dropped in full)
    return rows


def edge_rows(packages: Sequence[Any], n: int, seed: int) -> list[dict[str, object]]:
    """Random applicants aimed at the boundaries: many cells blank, years around every Y - k, thresholds met
    exactly, fen and half-yuan amounts, application years outside every version; and one in four a "rich"
    applicant (general conditions met, events last year, large amounts) so that the per-applicant caps bind;
    after the `maxed_rows`."""
    from policyengine.decide.evaluate import fact_index

    rng = random.Random(seed)
    specs = fact_index(packages).specs
    thresholds = ["50万", "100万", "1000000", "499999.99", "500000.01", "0.01", "0.5", "1.5", "0.99", "3.33",
                  "333.35", "0"]
    rows = maxed_rows()
    for i in range(n):
        year = rng.choice([2017, 2018, 2019, 2020, 2020, 2021, 2021, 2021, 2022, 2023])
        row: dict[str, object] = {"uscc": "91350100M000100Y43", "application_year": str(year)}
        rich = rng.random() < 0.25
        blank = 0.05 if rich else 0.3
        for name, spec in specs.items():
            if name in row or rng.random() < blank:
                continue
            if spec.type == "enum":
                values = spec.values or [""]
                row[name] = rng.choice(values[1:] if rich and "prior" not in name else values)
            elif spec.type == "bool":
                row[name] = "否" if rich else rng.choice(["否", "否", "是", "0", "false"])
            elif spec.type == "year":
                row[name] = str(year - (1 if rich and rng.random() < 0.8 else rng.choice([-1, 0, 1, 1, 2, 3, 4, 5])))
            elif spec.type == "money":
                row[name] = (rng.choice(["1000万", "5000万", "20000000", "3333334", "3333333.33", "2000000.01"])
                             if rich else rng.choice([*thresholds, f"{rng.randint(0, 3000)}万",
                                                      _fen(rng.randint(0, 10**8))]))
            elif spec.type == "rate":
                row[name] = ("90%" if rich else
                             rng.choice(["70%", "80%", "79.99%", "0.8", "0.7", "100%", f"{rng.randint(0, 100)}%"]))
            elif spec.type == "integer":
                row[name] = str(rng.choice([10, 30, 60] if rich else [0, 1, 9, 10, 11, rng.randint(0, 60)]))
            elif name == "registered_city":
                row[name] = "沈阳市" if rich else rng.choice(["沈阳市", "沈阳市", "大连市"])
            elif spec.type == "text" and name != "name":
                row[name] = "皇姑区" if rich else rng.choice(["皇姑区", "皇姑区", "和平区"])
            else:
                row[name] = f"企业{i}"
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="check the hand-written computation against evaluate()")
    ap.add_argument("--synthetic", type=int, default=3000, help="rows from bench_evaluate.synthetic_rows")
    ap.add_argument("--edge", type=int, default=3000, help="edge-case rows")
    ap.add_argument("--seed", type=int, default=2021)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_evaluate import example_rows, synthetic_rows

    from policyengine.model.bundled import load_bundled

    packages = load_bundled()
    populations = {"example": example_rows(packages),
                   "synthetic": synthetic_rows(packages, args.synthetic, args.seed),
                   "edge": edge_rows(packages, args.edge, args.seed)}
    bad = 0
    for label, rows in populations.items():
        problems = check(packages, rows)
        bad += len(problems)
        print(f"{label}: {len(rows)} rows, {len(problems)} mismatches")
        for line in problems[:20]:
            print("  " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
