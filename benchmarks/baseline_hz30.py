"""A minimal hand-written polars script for 皇钻十六条 3.0: the yardstick `policyengine score` is measured against.

    python benchmarks/baseline_hz30.py applicants.csv out.csv

It knows the synthetic file's plain spellings only (money as whole yuan, rates as `85%`, 是/否), treats blanks
crudely, and writes each clause's status and amount, the total, nothing else: no reasons, no rejects, no
audit, no exactness checks beyond integer arithmetic. It does apply the clause caps, group HT, the
per-applicant cap and the fund proration.
"""

from __future__ import annotations

import sys

import polars as pl

CAP = 5_000_000
FUND = 30_000_000


def main(src: str, dst: str) -> None:
    df = pl.scan_csv(src, infer_schema=False)
    c = pl.col
    y = c("申报年度").cast(pl.Int64)

    def year(name: str) -> pl.Expr:
        return c(name).cast(pl.Int64)

    def money(name: str) -> pl.Expr:
        return c(name).cast(pl.Int64).fill_null(0)

    def count(name: str) -> pl.Expr:
        return c(name).cast(pl.Int64).fill_null(0)

    def enum(name: str) -> pl.Expr:
        return c(name).fill_null("无")

    e = (c("注册地所在区") == "皇姑区") & (c("税收户管地所在区") == "皇姑区") & (c("是否列入严重失信主体名单") == "否")
    hs = enum("高新技术企业认定类型")
    cert = year("高新技术企业认定年份")
    carrier = enum("双创载体级别")
    nrdi = enum("新型研发机构级别")
    level = {"无": 0, "市级": 300_000, "省级": 500_000, "国家级": 1_000_000}
    nlevel = {"无": 0, "市级": 200_000, "省级": 500_000}
    prize = {"无": 0, "一等奖": 200_000, "二等奖": 100_000, "三等奖": 50_000}
    rd, rdp = c("上年度研发费用").cast(pl.Int64), c("前年度研发费用").cast(pl.Int64)
    occ = c("载体入驻率").str.strip_suffix("%").cast(pl.Int64)
    l_now = carrier.replace_strict(level, return_dtype=pl.Int64)
    l_prior = enum("双创载体已获奖励级别").replace_strict(level, return_dtype=pl.Int64)
    n_now = nrdi.replace_strict(nlevel, return_dtype=pl.Int64)
    n_prior = enum("新型研发机构已获奖励级别").replace_strict(nlevel, return_dtype=pl.Int64)
    off = year("域外创新中心省级认定年份")
    rent = money("域外创新中心租金")
    comp = enum("赛事级别")
    rank = enum("赛事获奖等次").replace_strict(prize, return_dtype=pl.Int64)
    events, cost = count("举办创新活动场次"), money("创新活动费用")

    def half_up(num: pl.Expr, den: int) -> pl.Expr:
        return (2 * num + den) // (2 * den)

    clauses: dict[str, tuple[pl.Expr, pl.Expr, int | None]] = {
        "a01": ((hs == "首次认定") & (cert == y - 1), pl.lit(100_000), None),
        "a02": ((hs == "重新认定") & (cert == y - 1), pl.lit(50_000), None),
        "a03": ((hs != "无") & (cert >= y - 3) & (year("高新技术企业迁入年份") == y - 1), pl.lit(200_000), None),
        "a04": (year("科技型中小企业入库年份") == y - 1, pl.lit(20_000), None),
        "a05": ((rd >= 500_000) & (rd > rdp), half_up(rd - rdp, 10), 500_000),
        "a06": ((enum("成长型企业类别") != "无") & (year("成长型企业认定年份") == y - 1),
                enum("成长型企业类别").replace_strict({"无": 0, "瞪羚": 300_000, "独角兽": 1_000_000},
                                                return_dtype=pl.Int64), None),
        "a07": ((carrier != "无") & (year("双创载体认定年份") == y - 1) & (l_now > l_prior), l_now - l_prior, None),
        "a08": ((carrier != "无") & (occ >= 80) & (count("载体入驻企业数") >= 10),
                50_000 + 10_000 * count("载体入驻高新技术企业数"), 500_000),
        "a09": ((carrier != "无") & (money("为入驻中小微企业减免租金") > 0),
                half_up(3 * money("为入驻中小微企业减免租金"), 10), 1_000_000),
        "a10": ((nrdi != "无") & (year("新型研发机构认定年份") == y - 1) & (n_now > n_prior), n_now - n_prior, None),
        "a11": ((nrdi != "无") & (money("研发仪器设备投入") > 0),
                half_up(2 * money("研发仪器设备投入"), 10), 2_000_000),
        "a12": ((off <= y - 1) & ((off == y - 1) | (rent > 0)),
                pl.when(off == y - 1).then(300_000).otherwise(0) + pl.min_horizontal(half_up(rent, 2), 200_000),
                None),
        "a13": (year("中外合作创新平台运营年份") == y - 1, pl.lit(500_000), None),
        "a14": (money("技术合同登记成交额") >= 1_000_000, half_up(money("技术合同登记成交额"), 100), 200_000),
        "a15": ((comp != "无") & (c("赛事获奖等次").fill_null("无") != "无") & (year("赛事获奖年份") == y - 1),
                pl.when(comp == "国家级").then(rank).otherwise(half_up(rank, 2)), None),
        "a16": ((events >= 1) & (cost > 0), pl.min_horizontal(half_up(cost, 2), 100_000 * events), 300_000),
    }
    cols = []
    for cid, (cond, amount, cap) in clauses.items():
        ok = (e & cond).fill_null(False)
        amt = pl.when(ok).then(amount if cap is None else pl.min_horizontal(amount, cap)).otherwise(0)
        cols += [ok.alias(f"{cid}.ok"), amt.alias(cid)]
    df = df.with_columns(cols)
    # group HT: the highest stands, ties to the lower article
    a1, a2, a3 = c("a01"), c("a02"), c("a03")
    df = df.with_columns(
        pl.when((a2 > a1) & (a2 >= a3) | (a3 > a1) & (a3 > a2)).then(0).otherwise(a1).alias("a01"),
        pl.when((a1 >= a2) & c("a01.ok") | (a3 > a2) & c("a03.ok")).then(0).otherwise(a2).alias("a02"),
        pl.when((a1 >= a3) & c("a01.ok") | (a2 >= a3) & c("a02.ok")).then(0).otherwise(a3).alias("a03"),
    )
    ids = list(clauses)
    total = pl.sum_horizontal(ids)
    df = df.with_columns(pl.max_horizontal(total - CAP, 0).alias("excess"))
    for cid in reversed(ids):
        df = df.with_columns(pl.min_horizontal(c(cid), c("excess")).alias("cut")).with_columns(
            (c(cid) - c("cut")).alias(cid), (c("excess") - c("cut")).alias("excess"))
    df = df.with_columns(pl.sum_horizontal(ids).alias("total"))
    demand = c("total").sum().over("申报年度")
    df = df.with_columns([pl.when(demand > FUND).then(c(i) * FUND // demand).otherwise(c(i)).alias(i) for i in ids])
    status = [pl.when(c(f"{i}.ok")).then(pl.lit("eligible")).otherwise(pl.lit("ineligible")).alias(f"{i}.status")
              for i in ids]
    df.select(c("统一社会信用代码"), c("企业名称"), *status, *ids, pl.sum_horizontal(ids).alias("total")) \
        .collect().write_csv(dst, include_bom=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
