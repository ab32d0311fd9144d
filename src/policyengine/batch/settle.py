"""Settlement on columns, in the order `policyengine.decide.settlement` fixes: clause cap → exclusive group →
per-applicant cap (one applicant at a time, here every applicant at once) → budget proration (the population).

Column names for a package `p` and clause `c`: `s:p.c` (status code, null = no result), `a:p.c` (amount, yuan),
`r:p.c` (reason listed in `reasons`), `ver:p` (version applied), `pr:p` (why no version applies), `t:p` (total).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from typing import Any

import polars as pl

from policyengine.batch.parse import value_col
from policyengine.engines.columnar import ELIGIBLE, EXCLUDED, I128, int_type
from policyengine.engines.columnar import s_col as s_col
from policyengine.ir.lower import program
from policyengine.ir.program import GroupPlan
from policyengine.model.policy import Package, PolicyVersion


def a_col(pkg: str, clause: str) -> str:
    return f"a:{pkg}.{clause}"


def r_col(pkg: str, clause: str) -> str:
    return f"r:{pkg}.{clause}"


def ver_col(pkg: str) -> str:
    return f"ver:{pkg}"


def why_col(pkg: str) -> str:
    return f"pr:{pkg}"


def total_col(pkg: str) -> str:
    return f"t:{pkg}"


YEAR = value_col("application_year")


def settle_applicants(frame: pl.DataFrame, version: PolicyVersion) -> pl.DataFrame:
    """Clause caps, exclusive groups and the per-applicant cap, for rows all decided under `version`: its
    settlement plan (`Program.settlement`) rendered on columns."""
    plan = program(version).settlement
    pkg = version.package_id
    clauses = [c.id for c in version.clauses]

    def s(cid: str) -> pl.Expr:
        return pl.col(s_col(pkg, cid))

    def a(cid: str) -> pl.Expr:
        return pl.col(a_col(pkg, cid))

    capped = [pl.when((s(cid) == ELIGIBLE) & (a(cid) > cap)).then(pl.lit(cap, dtype=int_type(cap)))
              .otherwise(a(cid)).alias(a_col(pkg, cid)) for cid, cap in plan.caps]
    if capped:
        frame = frame.lazy().with_columns(capped).collect(engine="in-memory")

    for group in plan.groups:
        frame = _settle_group(frame, pkg, group)

    if plan.applicant_cap is not None:
        # only the rows above the cap change: reduce them in the plan's cut order, one clause per step (as
        # `settlement.settle` loops), and put their amounts back in place
        cap = plan.applicant_cap
        total = pl.sum_horizontal([a(cid) for cid in clauses])
        where = frame.select((total > cap).alias("over")).get_column("over").arg_true()
        if where.len():
            names = [a_col(pkg, cid) for cid in clauses]
            before = frame.select(pl.col(names).gather(where))
            over = before.lazy()
            excess = pl.col("__excess")
            over = over.with_columns((total - cap).alias("__excess"))
            for cid in plan.cut_order:
                cut = pl.when((excess != 0) & (a(cid) != 0)).then(pl.min_horizontal(a(cid), excess)) \
                    .otherwise(pl.lit(0, dtype=pl.Int64))
                over = over.with_columns(cut.alias("__cut")).with_columns(
                    (a(cid) - pl.col("__cut")).alias(a_col(pkg, cid)),
                    (excess - pl.col("__cut")).alias("__excess"))
            reduced = over.collect(engine="in-memory")
            changed = [n for n in names if not reduced.get_column(n).equals(before.get_column(n))]
            frame = _put_back(frame, where, reduced, changed)  # only the clauses the cap cut
    return frame.with_columns(pl.sum_horizontal([a(cid) for cid in clauses]).alias(total_col(pkg)))


def _settle_group(frame: pl.DataFrame, pkg: str, group: GroupPlan) -> pl.DataFrame:
    """An exclusive group on the rows where two or more members are eligible: `GroupPlan.winner` on columns
    (the highest amount stands, the first such member in `members` order), the other eligible members
    excluded."""
    members = group.members
    status = {m: pl.col(s_col(pkg, m)) for m in members}
    amount = {m: pl.col(a_col(pkg, m)) for m in members}
    eligible = {m: status[m] == ELIGIBLE for m in members}
    several = pl.sum_horizontal([eligible[m].cast(pl.Int32) for m in members]) >= 2
    # only rows where two or more members are eligible change: settle those, put them back in place
    where = frame.select(several.alias("several")).to_series().arg_true()
    if not where.len():
        return frame
    names = [f(pkg, m) for m in members for f in (s_col, a_col, r_col)]
    sub = frame.select(pl.col(names).gather(where))
    best = pl.max_horizontal([pl.when(eligible[m]).then(amount[m]) for m in members])
    stands: dict[str, pl.Expr] = {}
    for m in members:
        w = eligible[m] & (amount[m] == best)
        for prev in stands.values():
            w = w & ~prev
        stands[m] = w
    winner: Any = pl
    for m in members:
        winner = winner.when(stands[m]).then(pl.lit(m))
    before, after = group.excluded_reason("\x00").split("\x00")
    reason = pl.concat_str([pl.lit(before), winner, pl.lit(after)])
    updates = []
    for m in members:
        out = eligible[m] & ~stands[m]
        updates += [
            pl.when(out).then(pl.lit(EXCLUDED, dtype=pl.UInt8)).otherwise(status[m]).alias(s_col(pkg, m)),
            pl.when(out).then(pl.lit(0, dtype=pl.Int64)).otherwise(amount[m]).alias(a_col(pkg, m)),
            pl.when(out).then(reason.cast(pl.Categorical)).otherwise(pl.col(r_col(pkg, m)).cast(pl.Categorical))
            .alias(r_col(pkg, m)),
        ]
    return _put_back(frame, where, sub.lazy().select(updates).collect(engine="in-memory"), names)


def _put_back(frame: pl.DataFrame, where: pl.Series, changed: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """`frame` with the rows at `where` of columns `names` replaced by those of `changed` (in that order)."""
    columns = []
    for name in names:
        column = frame.get_column(name).cast(changed.get_column(name).dtype).clone()
        column.scatter(where, changed.get_column(name))
        columns.append(column)
    return frame.with_columns(columns)


@dataclass(frozen=True)
class Budget:
    """One package's fund for one version and application year, and what the batch asked of it and paid."""

    package: str
    version: str
    application_year: int
    fund: int | None
    demand: int
    paid: int

    @property
    def prorated(self) -> bool:
        return self.fund is not None and self.demand > self.fund

    @property
    def factor(self) -> Fraction:
        return Fraction(self.fund, self.demand) if self.prorated and self.fund is not None else Fraction(1)


def prorate_population(frame: pl.DataFrame, package: Package, clause_ids: list[str]) -> pl.DataFrame:
    """Scale every award of an over-subscribed (version, application year): `amount * fund // demand`."""
    pkg = package.id
    funds = {v.version: v.annual_fund for v in package.versions if v.annual_fund is not None}
    if not funds or frame.height == 0:
        return frame
    ver = pl.col(ver_col(pkg))
    demands = frame.lazy().select(ver_col(pkg), YEAR, total_col(pkg)).filter(ver.is_in(list(funds))) \
        .group_by(ver_col(pkg), YEAR).agg(pl.col(total_col(pkg)).cast(I128).sum().alias("demand"), pl.len()) \
        .collect(engine="in-memory")
    over_funds = [(v, y, d, funds[v]) for v, y, d, _ in demands.iter_rows() if d > funds[v]]
    if not over_funds:
        return frame
    largest = frame.select(pl.max_horizontal(pl.col(a_col(pkg, c)).abs().max() for c in clause_ids)).item() or 0
    small = max(largest, 1) * max(max(f for _, _, _, f in over_funds), max(d for _, _, d, _ in over_funds)) < 2**62
    money = pl.Int64() if small else I128  # amount × fund computed exactly either way
    if len(over_funds) == 1 and demands.height == 1 and demands.item(0, "len") == frame.height:
        # every row draws on the one over-subscribed fund (the usual case): fund and demand as numbers
        (_, _, d, f), = over_funds
        fund, demand, over = pl.lit(f, dtype=money), pl.lit(d, dtype=money), pl.lit(True)
    elif len(over_funds) <= 16:
        # a few over-subscribed funds (the usual case): their fund and demand as literals, row by condition
        fund_chain: Any = pl
        demand_chain: Any = pl
        for v, y, d, f in over_funds:
            hit = (ver == v) & (pl.col(YEAR) == y)
            fund_chain = fund_chain.when(hit).then(pl.lit(f, dtype=money))
            demand_chain = demand_chain.when(hit).then(pl.lit(d, dtype=money))
        fund = fund_chain.otherwise(pl.lit(None, dtype=money))
        demand = demand_chain.otherwise(pl.lit(None, dtype=money))
        over = fund.is_not_null()
    else:
        fund = ver.replace_strict(list(funds), list(funds.values()), default=None, return_dtype=I128)
        demand = pl.col(total_col(pkg)).cast(I128).sum().over([ver_col(pkg), YEAR])
        over = (ver.is_not_null() & (demand > fund)).fill_null(False)
    scaled = []
    for cid in clause_ids:
        amt = pl.col(a_col(pkg, cid))
        prorated = (amt.cast(money) * fund // demand).cast(pl.Int64, strict=False)  # used only where over
        scaled.append(pl.when(over & (amt != 0)).then(prorated).otherwise(amt).alias(a_col(pkg, cid)))
    out = frame.lazy().with_columns(scaled)
    return out.with_columns(reduce(lambda x, y: x + y, [pl.col(a_col(pkg, c)) for c in clause_ids])
                            .alias(total_col(pkg))).collect(engine="in-memory")


def budgets(before: pl.DataFrame, after: pl.DataFrame, package: Package) -> list[Budget]:
    """Fund, demand (settled totals before proration) and paid, per version and application year."""
    pkg = package.id
    funds = {v.version: v.annual_fund for v in package.versions}
    keys = [ver_col(pkg), YEAR]
    demand = before.lazy().select(*keys, total_col(pkg)).filter(pl.col(ver_col(pkg)).is_not_null()) \
        .group_by(keys).agg(pl.col(total_col(pkg)).cast(I128).sum())
    paid = after.lazy().select(*keys, total_col(pkg)).filter(pl.col(ver_col(pkg)).is_not_null()) \
        .group_by(keys).agg(pl.col(total_col(pkg)).cast(I128).sum().alias("paid"))
    joined = demand.join(paid, on=keys).sort(keys).collect(engine="in-memory")
    return [Budget(pkg, v, int(y), funds.get(v), int(d), int(p)) for v, y, d, p in joined.iter_rows()]
