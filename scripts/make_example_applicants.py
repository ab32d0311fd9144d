"""Generate the example applicant sheet examples/applicants_2021.{csv,xlsx}.

Deterministic (random.Random(2021)), stdlib only plus openpyxl for the .xlsx.
Run from the repository root:  python scripts/make_example_applicants.py
"""

from __future__ import annotations

import csv
import math
import random
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

OUT = Path(__file__).resolve().parent.parent / "examples"

# fmt: off
COLUMNS = [
    "企业名称", "统一社会信用代码", "申报年度", "注册地所在区", "税收户管地所在区",
    "是否列入严重失信主体名单", "高新技术企业认定类型", "高新技术企业认定年份", "高新技术企业迁入年份",
    "科技型中小企业入库年份", "上年度研发费用", "前年度研发费用", "成长型企业类别", "成长型企业认定年份",
    "双创载体级别", "双创载体认定年份", "双创载体已获奖励级别", "载体入驻率", "载体入驻企业数",
    "载体入驻高新技术企业数", "为入驻中小微企业减免租金", "新型研发机构级别", "新型研发机构认定年份",
    "新型研发机构已获奖励级别", "研发仪器设备投入", "域外创新中心省级认定年份", "域外创新中心租金",
    "中外合作创新平台运营年份", "技术合同登记成交额", "赛事级别", "赛事获奖等次", "赛事获奖年份",
    "举办创新活动场次", "创新活动费用", "发明专利授权数", "科技贷款利息", "科技创新券兑付额",
    "产学研合作合同支付额", "全职引进博士人数", "注册地所在市", "高新技术企业培育库入库年份",
]
MONEY = {
    "上年度研发费用", "前年度研发费用", "为入驻中小微企业减免租金", "研发仪器设备投入", "域外创新中心租金",
    "技术合同登记成交额", "创新活动费用", "科技贷款利息", "科技创新券兑付额", "产学研合作合同支付额",
}
# GB 32100-2015 administrative division codes used here (大连市 at city level).
DIVISION = {"皇姑区": "210105", "和平区": "210102", "沈河区": "210103", "铁西区": "210106",
            "中山区": "210200"}
# fmt: on

# GB 32100-2015 unified social credit code: weights 3^i mod 31, check = (31 - sum % 31) % 31.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def uscc_check(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def uscc_valid(code: str) -> bool:
    return len(code) == 18 and all(c in USCC_CHARS for c in code) and uscc_check(code[:17]) == code[17]


def org_code(rng: random.Random) -> str:
    """9-char organisation code (GB 11714): 8-char body plus its mod-11 check char."""
    if rng.random() < 0.6:  # post-2015 registrations: MA + 6 chars
        body = "MA" + "".join(rng.choice(USCC_CHARS) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(int(c, 36) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(rng: random.Random, district: str) -> str:
    first17 = "91" + DIVISION[district] + org_code(rng)
    return first17 + uscc_check(first17)


def money(rng: random.Random, yuan: int) -> str:
    """Write an amount in one of the forms applicants use."""
    wan = format(Decimal(yuan).scaleb(-4).normalize(), "f")
    return rng.choice([str(yuan), f"{yuan:,}.00", f"{wan}万", f"{wan}万元"])


def amount(rng: random.Random, low: float, high: float, step: int = 100) -> int:
    """Log-uniform amount in [low, high], rounded to `step` yuan."""
    return round(math.exp(rng.uniform(math.log(low), math.log(high))) / step) * step


# fmt: off
CORES = [
    "华辰", "启明", "航宇", "天研", "凯瑞", "泽林", "博睿", "华盈", "德耀", "嘉禾", "锐铭", "芯源", "翰海",
    "澜图", "星衡", "明川", "立达", "盛京", "北辰", "恒泰", "智源", "博远", "鑫诚", "瑞科", "昊天", "宏图",
    "众诚", "联拓", "金桥", "蓝海", "沃德", "新松", "辽沈", "云帆", "卓越", "精工", "同创", "和信",
]
TRADES = [
    "科技", "信息技术", "智能装备", "生物医药", "新材料", "软件", "电子", "自动化", "环保科技", "数据科技",
    "医疗器械", "光电科技", "机器人", "网络科技",
]
# fmt: on
SUFFIXES = ["有限公司"] * 6 + ["股份有限公司", "有限责任公司"]


def company_name(rng: random.Random, city: str, used: set[str], trade: str = "") -> str:
    while True:
        name = city[:2] + rng.choice(CORES) + (trade or rng.choice(TRADES)) + rng.choice(SUFFIXES)
        if name not in used:
            used.add(name)
            return name


def generic_row(rng: random.Random) -> dict[str, str]:
    """An ordinary 皇姑区 applicant with nothing unusual; special rows override fields."""
    r: dict[str, str] = dict.fromkeys(COLUMNS, "")
    r |= {"申报年度": "2021", "注册地所在市": "沈阳市", "是否列入严重失信主体名单": "否"}
    r["注册地所在区"] = r["税收户管地所在区"] = "皇姑区"
    if rng.random() < 0.45:  # recognised before 2020: no award this year
        r["高新技术企业认定类型"] = rng.choice(["首次认定", "重新认定"])
        r["高新技术企业认定年份"] = str(rng.choice([2017, 2018, 2019]))
    else:
        r["高新技术企业认定类型"] = rng.choice(["无", ""])
        if rng.random() < 0.2:
            r["高新技术企业培育库入库年份"] = "2019"
    x = rng.random()
    r["科技型中小企业入库年份"] = "2020" if x < 0.35 else "2019" if x < 0.55 else ""
    rd = amount(rng, 300_000, 30_000_000)
    r["上年度研发费用"] = money(rng, rd)
    x = rng.random()
    if x < 0.05:
        r["前年度研发费用"] = ""
    else:
        factor = rng.uniform(1.02, 1.3) if x < 0.2 else rng.uniform(0.7, 0.98)
        r["前年度研发费用"] = money(rng, round(rd * factor / 100) * 100)
    for col in ("成长型企业类别", "双创载体级别", "新型研发机构级别"):
        r[col] = rng.choice(["无", "无", ""])
    if rng.random() < 0.15:
        r["赛事级别"] = rng.choice(["国家级", "省级", "省级"])
        r["赛事获奖等次"] = rng.choice(["一等奖", "二等奖", "三等奖", "三等奖"])
        r["赛事获奖年份"] = rng.choice(["2020", "2020", "2019"])
    else:
        r["赛事级别"] = r["赛事获奖等次"] = rng.choice(["无", ""])
    if rng.random() < 0.35:
        r["技术合同登记成交额"] = money(rng, amount(rng, 200_000, 8_000_000, 1000))
    if rng.random() < 0.2:
        r["举办创新活动场次"] = str(rng.randint(1, 3))
        r["创新活动费用"] = money(rng, amount(rng, 20_000, 300_000))
    r["发明专利授权数"] = str(rng.randint(1, 8)) if rng.random() < 0.5 else rng.choice(["0", ""])
    for col, low, high, p in (
        ("科技贷款利息", 10_000, 400_000, 0.2),
        ("科技创新券兑付额", 10_000, 200_000, 0.2),
        ("产学研合作合同支付额", 100_000, 2_000_000, 0.2),
    ):
        if rng.random() < p:
            r[col] = money(rng, amount(rng, low, high))
    if rng.random() < 0.3:
        r["全职引进博士人数"] = str(rng.randint(1, 3))
    return r


HT_FIRST = {"高新技术企业认定类型": "首次认定", "高新技术企业认定年份": 2020}
HT_RE = {"高新技术企业认定类型": "重新认定", "高新技术企业认定年份": 2020}
NO_HT = {"高新技术企业认定类型": "无", "高新技术企业认定年份": ""}
DALIAN = {"注册地所在市": "大连市", "注册地所在区": "中山区", "税收户管地所在区": "中山区"}


def district(name: str) -> dict[str, object]:
    return {"注册地所在区": name, "税收户管地所在区": name}


# fmt: off
CARRIER_KEYS = ("双创载体级别", "双创载体认定年份", "双创载体已获奖励级别", "载体入驻率", "载体入驻企业数",
                "载体入驻高新技术企业数", "为入驻中小微企业减免租金")
NRDI_KEYS = ("新型研发机构级别", "新型研发机构认定年份", "新型研发机构已获奖励级别", "研发仪器设备投入")
# fmt: on


def carrier(*values: object) -> dict[str, object]:
    """level, year, prior awarded level, occupancy, tenants, high-tech tenants, rent reduction."""
    return dict(zip(CARRIER_KEYS, values, strict=True))


def nrdi(*values: object) -> dict[str, object]:
    """level, year, prior awarded level, R&D equipment investment."""
    return dict(zip(NRDI_KEYS, values, strict=True))


# Special rows, keyed by spreadsheet row number (header = row 1). "_trade" shapes the company name.
# int values in money columns are written in a random form; str values are written verbatim.
# fmt: off
SPECIAL: dict[int, dict[str, object]] = {
    2: {"_trade": "智能装备", **HT_RE, "上年度研发费用": 30_000_000, "前年度研发费用": 22_000_000,
        "成长型企业类别": "独角兽", "成长型企业认定年份": 2020,
        **carrier("国家级", 2020, "无", "92%", 48, 21, 4_200_000), **nrdi("省级", 2020, "市级", 12_000_000),
        "域外创新中心省级认定年份": 2020, "域外创新中心租金": 600_000, "中外合作创新平台运营年份": 2020,
        "技术合同登记成交额": 35_000_000, "赛事级别": "国家级", "赛事获奖等次": "一等奖",
        "赛事获奖年份": 2020, "举办创新活动场次": 4, "创新活动费用": 800_000},
    3: HT_FIRST, 7: {**HT_FIRST, "成长型企业类别": "瞪羚", "成长型企业认定年份": 2020},
    8: {**NO_HT, "高新技术企业培育库入库年份": 2020}, 9: HT_RE,
    10: {"_trade": "众创空间管理", **carrier("市级", 2020, "无", "85%", 15, 3, 250_000)},
    11: {**HT_RE, "是否列入严重失信主体名单": "0"},
    12: {**HT_FIRST, "高新技术企业迁入年份": 2020},
    13: {**HT_FIRST, "税收户管地所在区": "铁西区", "成长型企业类别": "瞪羚", "成长型企业认定年份": 2020},
    14: {"_trade": "产业技术研究院", **nrdi("市级", 2020, "无", 3_000_000)},
    16: {"成长型企业类别": "瞪羚", "成长型企业认定年份": 2020},
    17: {"上年度研发费用": ""},
    18: {"上年度研发费用": "186.5万元", "前年度研发费用": ""},
    19: {"_trade": "科技企业孵化器", **carrier("省级", 2020, "市级", "0.85", 10, 4, 180_000)},
    20: {"上年度研发费用": "500000", "前年度研发费用": "420000"},
    21: {"高新技术企业认定类型": "重新认定", "高新技术企业认定年份": 2018, "高新技术企业迁入年份": 2020},
    22: {"是否列入严重失信主体名单": "是", "成长型企业类别": "瞪羚", "成长型企业认定年份": 2020},
    23: {"域外创新中心省级认定年份": 2020, "域外创新中心租金": 300_000},
    24: {"上年度研发费用": "499,999.00", "前年度研发费用": "300000"},
    26: {"_trade": "科技园发展", **carrier("国家级", 2020, "省级", "80%", 22, 8, 900_000)},
    27: {"成长型企业类别": "瞪羚", "成长型企业认定年份": 2019},
    28: {"中外合作创新平台运营年份": 2020},
    29: {**HT_RE, "是否列入严重失信主体名单": "false"},
    30: {"技术合同登记成交额": "1000000"},
    31: {"_trade": "新材料研究院", **nrdi("省级", 2020, "市级", 15_000_000)},
    32: {**NO_HT, "高新技术企业培育库入库年份": 2020},
    33: {**HT_FIRST, **district("和平区")},
    34: {"_trade": "众创空间管理", **carrier("省级", 2019, "省级", "79%", 30, 6, 120_000)},
    35: {"_bad_uscc": True},
    36: {"上年度研发费用": ""},
    37: {"高新技术企业认定类型": "首次认定", "高新技术企业认定年份": 2019, "高新技术企业迁入年份": 2020},
    39: {"域外创新中心省级认定年份": 2019, "域外创新中心租金": 500_000},
    40: {**HT_FIRST, "是否列入严重失信主体名单": ""},
    41: {**HT_FIRST, **DALIAN},
    42: {"上年度研发费用": "12.x万"},
    43: {"_trade": "孵化器管理", **carrier("市级", 2020, "市级", "88%", 9, 2, 60_000)},
    44: district("和平区"),
    45: {"高新技术企业认定类型": "重新认定", "高新技术企业认定年份": 2017, "高新技术企业迁入年份": 2020},
    46: district("铁西区"),
    # prior award 市级: the brief's 新型研发机构已获奖励级别 takes only 无/市级 (省级 would reject the row)
    47: {"_trade": "智能制造研究院", **nrdi("省级", 2019, "市级", 800_000)},
    48: {"是否列入严重失信主体名单": "是"},
    49: district("沈河区"),
    50: {"成长型企业类别": "独角兽", "成长型企业认定年份": 2020},
    51: {**NO_HT, "高新技术企业培育库入库年份": 2020},
    52: {"上年度研发费用": ""},
    53: {"是否列入严重失信主体名单": "false"},
    54: district("铁西区"),
    55: DALIAN,
    56: {"是否列入严重失信主体名单": ""},
    57: {**HT_FIRST, "高新技术企业培育库入库年份": 2020},
    58: {"赛事级别": "国家级", "赛事获奖等次": "一等奖", "赛事获奖年份": 2020},
    59: {"申报年度": ""},
    60: {"技术合同登记成交额": "999,999.00"},
    61: {"_trade": "众创空间管理", **carrier("市级", 2019, "市级", "", 12, 1, "")},
}
# fmt: on
N_ROWS = 60  # spreadsheet rows 2..61


def build_rows(rng: random.Random) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    used: set[str] = set()
    for sheet_row in range(2, N_ROWS + 2):
        special = SPECIAL.get(sheet_row, {})
        row = generic_row(rng)
        for col, value in special.items():
            if col in row:
                row[col] = money(rng, value) if col in MONEY and isinstance(value, int) else str(value)
        trade = str(special.get("_trade", ""))
        row["企业名称"] = company_name(rng, row["注册地所在市"], used, trade)
        code = make_uscc(rng, row["注册地所在区"])
        if special.get("_bad_uscc"):  # deliberately wrong check character
            code = code[:17] + USCC_CHARS[(USCC_CHARS.index(code[17]) + 1) % 31]
        row["统一社会信用代码"] = code
        rows.append(row)
    return rows


def main() -> None:
    assert uscc_valid("91350100M000100Y43"), "check-character algorithm is wrong"
    rows = build_rows(random.Random(2021))
    OUT.mkdir(exist_ok=True)
    with (OUT / "applicants_2021.csv").open("w", encoding="gbk", newline="") as f:
        writer = csv.writer(f)  # default line terminator is CRLF
        writer.writerow(COLUMNS)
        writer.writerows([row[c] for c in COLUMNS] for row in rows)
    wb = Workbook()
    ws = wb.active
    ws.title = "申报企业"
    ws.append(COLUMNS)
    for row in rows:  # text cells only; a blank stays an empty cell
        ws.append([row[c] or None for c in COLUMNS])
    for cells in ws.iter_rows():
        for cell in cells:
            cell.number_format = "@"
    ws.freeze_panes = "C2"
    wb.save(OUT / "applicants_2021.xlsx")
    print(f"wrote {len(rows)} applicants to {OUT}")


if __name__ == "__main__":
    main()
