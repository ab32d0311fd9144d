"""The diff report as one self-contained HTML file, for a bureau director.

Everything is inline: CSS, and the charts as SVG drawn here (no script, no external asset, no network).
The page is UTF-8 with Chinese text and a Chinese font stack the reader's system already has. It renders the
same data the JSON report holds (`impact.report`), so the two always show the same numbers. No clock is
read, so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from html import escape
from typing import Any

from policyengine import __version__
from policyengine.drafting.impact import percent
from policyengine.drafting.render import money

OLD_COLOUR, NEW_COLOUR, GAIN, LOSS, INK, GRID = "#8c9bab", "#1f5fa8", "#2e7d32", "#c62828", "#222", "#d8dde3"

CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",
 "Helvetica Neue",Arial,sans-serif;color:#222;max-width:1080px;margin:24px auto;padding:0 20px;line-height:1.55}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid #1f5fa8;padding-bottom:4px}
h3{font-size:16px;margin:18px 0 6px}.sub{color:#555;margin:0 0 16px}.en{color:#666;font-weight:normal;font-size:.85em}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{flex:1 1 180px;border:1px solid #d8dde3;
 border-radius:6px;padding:10px 14px;background:#f7f9fb}.card .k{color:#555;font-size:13px}.card .v{font-size:22px;
 font-weight:600}.card .d{font-size:12px;color:#666}.up{color:#2e7d32}.down{color:#c62828}
.banner{background:#fff4e5;border:1px solid #f0b45b;border-radius:6px;padding:10px 14px;margin:12px 0}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:8px 0}th,td{border-bottom:1px solid #e3e7eb;
 padding:5px 8px;text-align:left;vertical-align:top}th{background:#eef2f6}td.n,th.n{text-align:right;
 font-variant-numeric:tabular-nums;white-space:nowrap}.muted{color:#666;font-size:12.5px}svg{max-width:100%;height:auto}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px -1px 12px}footer{margin-top:36px;color:#666;
 font-size:12px;border-top:1px solid #d8dde3;padding-top:8px;word-break:break-all}
"""


def _wan(amount: int) -> str:
    """Yuan as 万元 with two decimals (`1234.57`), rounded half up for display; the tables keep the exact yuan."""
    value = Decimal(amount) / Decimal(10_000)
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def _signed(amount: int) -> str:
    return ("+" if amount > 0 else "") + money(amount)


def _cls(amount: int) -> str:
    return "up" if amount > 0 else "down" if amount < 0 else ""


def _scale(value: int, top: int, width: int) -> int:
    """Pixels for `value` on an axis whose largest value `top` spans `width` (integers only)."""
    return 0 if top <= 0 else abs(value) * width // top


def bar_pairs(rows: Sequence[tuple[str, int, int]], *, label_width: int = 380, width: int = 400) -> str:
    """Horizontal bars, old and new side by side for each labelled row."""
    top = max([max(a, b) for _, a, b in rows] + [1])
    row_h, bar_h = 34, 12
    height = row_h * len(rows) + 24
    total_w = label_width + width + 120
    parts = [f'<svg viewBox="0 0 {total_w} {height}" width="{total_w}" '
             f'height="{height}" role="img" font-size="12">']
    for i, (label, a, b) in enumerate(rows):
        y = 8 + i * row_h
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" fill="{INK}">{escape(label)}</text>')
        for j, (value, colour) in enumerate(((a, OLD_COLOUR), (b, NEW_COLOUR))):
            w = _scale(value, top, width)
            yy = y + 3 + j * (bar_h + 2)
            parts.append(f'<rect x="{label_width}" y="{yy}" width="{max(w, 1) if value else 0}" height="{bar_h}" '
                         f'fill="{colour}"><title>{escape(label)}: {money(value)}</title></rect>')
            parts.append(f'<text x="{label_width + w + 4}" y="{yy + 10}" fill="#444">{money(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def totals_chart(imp: dict[str, Any], old_key: str, new_key: str) -> str:
    """Total paid under each version against its demand and its annual fund."""
    rows = [(old_key, imp["old"]), (new_key, imp["new"])]
    top = max([max(f["demand"], f["fund"] or 0, f["paid"]) for _, f in rows] + [1])
    label_w, width, row_h = 150, 600, 56
    height = row_h * 2 + 30
    parts = [f'<svg viewBox="0 0 {label_w + width + 40} {height}" '
             f'width="{label_w + width + 40}" height="{height}" role="img" font-size="12">']
    for i, (key, f) in enumerate(rows):
        y = 10 + i * row_h
        colour = OLD_COLOUR if i == 0 else NEW_COLOUR
        parts.append(f'<text x="{label_w - 8}" y="{y + 20}" text-anchor="end" fill="{INK}">{escape(key)}</text>')
        if f["demand"] > f["paid"]:
            parts.append(f'<rect x="{label_w}" y="{y + 6}" width="{_scale(f["demand"], top, width)}" height="22" '
                         f'fill="none" stroke="{colour}" stroke-dasharray="4 3"><title>申请需求 demand '
                         f'{money(f["demand"])}</title></rect>')
        w = _scale(f["paid"], top, width)
        parts.append(f'<rect x="{label_w}" y="{y + 6}" width="{w}" height="22" fill="{colour}"><title>兑付 paid '
                     f'{money(f["paid"])}</title></rect>')
        parts.append(f'<text x="{label_w + 4}" y="{y + 44}" fill="#444">兑付 {_wan(f["paid"])} 万元'
                     + (f' · 需求 {_wan(f["demand"])} 万元' if f["demand"] != f["paid"] else "") + "</text>")
        if f["fund"] is not None:
            x = label_w + _scale(f["fund"], top, width)
            parts.append(f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + 34}" stroke="{LOSS}" stroke-width="2"/>')
            parts.append(f'<text x="{x - 4}" y="{y + 2}" text-anchor="end" fill="{LOSS}" font-size="11">'
                         f'年度资金 {_wan(f["fund"])} 万元</text>')
    parts.append("</svg>")
    return "".join(parts)


def change_chart(per_applicant: Sequence[dict[str, Any]]) -> str:
    """Every applicant's change in award, sorted: gains up, losses down; the axes labelled (元, 企业)."""
    changes = sorted(per_applicant, key=lambda p: (-p["change"], p["row"]))
    n = max(len(changes), 1)
    top = max([abs(p["change"]) for p in changes] + [1])
    left, width, half = 120, 860, 110
    bar_w = max(width // n, 2)
    height = 2 * half + 56
    zero = half + 14
    most = max([p["change"] for p in changes] + [0])
    least = min([p["change"] for p in changes] + [0])
    parts = [f'<svg viewBox="0 0 {left + width + 20} {height}" width="{left + width + 20}" '
             f'height="{height}" role="img" font-size="11">',
             f'<line x1="{left}" y1="4" x2="{left}" y2="{2 * half + 24}" stroke="{INK}"/>',
             f'<line x1="{left}" y1="{zero}" x2="{left + width + 10}" y2="{zero}" stroke="{GRID}"/>',
             f'<text x="{left - 6}" y="{zero - half + 4}" text-anchor="end" fill="{GAIN}">+{_wan(top)}</text>',
             f'<text x="{left - 6}" y="{zero + 4}" text-anchor="end" fill="{INK}">0</text>',
             f'<text x="{left - 6}" y="{zero + half + 4}" text-anchor="end" fill="{LOSS}">-{_wan(top)}</text>',
             f'<text x="14" y="{zero}" text-anchor="middle" fill="{INK}" transform="rotate(-90 14 {zero})">'
             "奖励变化（万元） change in award</text>",
             f'<text x="{left + width // 2}" y="{height - 6}" text-anchor="middle" fill="{INK}">'
             f"企业，按变化从大到小排列（共 {len(changes)} 家） applicants, sorted by change</text>"]
    for i, p in enumerate(changes):
        h = _scale(p["change"], top, half)
        x = left + 4 + i * bar_w
        y = zero - h if p["change"] > 0 else zero
        colour = GAIN if p["change"] > 0 else LOSS
        parts.append(f'<rect x="{x}" y="{y}" width="{max(bar_w - 1, 1)}" height="{h}" fill="{colour}"><title>'
                     f'第{p["row"]}行 {escape(p["name"])}: {_signed(p["change"])}</title></rect>')
    # gains are drawn on the left and losses on the right: each note goes in the corner the other leaves free
    parts.append(f'<text x="{left + width}" y="14" text-anchor="end" fill="{GAIN}">最多增加 +{money(most)} 元</text>'
                 f'<text x="{left + 8}" y="{2 * half + 22}" fill="{LOSS}">最多减少 {money(least)} 元</text>')
    parts.append("</svg>")
    return "".join(parts)


BAND_COLOURS = {"gain_over": GAIN, "gain_within": "#81c784", "same": "#9e9e9e", "lose_within": "#e57373",
                "lose_over": LOSS}


def bands_chart(bands: Sequence[dict[str, Any]]) -> str:
    """How many applicants fall in each band of change, as labelled horizontal bars."""
    top = max([b["count"] for b in bands] + [1])
    label_w, width, row_h = 200, 500, 26
    height = row_h * len(bands) + 30
    parts = [f'<svg viewBox="0 0 {label_w + width + 80} {height}" width="{label_w + width + 80}" '
             f'height="{height}" role="img" font-size="12">']
    for i, b in enumerate(bands):
        y = 6 + i * row_h
        w = _scale(b["count"], top, width)
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" fill="{INK}">{escape(b["label"])} '
                     f'({escape(b["label_en"])})</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{max(w, 1) if b["count"] else 0}" height="16" '
                     f'fill="{BAND_COLOURS[b["band"]]}"><title>{escape(b["label"])}: {b["count"]}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4}" y="{y + 14}" fill="#444">{b["count"]} 家</text>')
    parts.append(f'<text x="{label_w + width // 2}" y="{height - 4}" text-anchor="middle" fill="{INK}">'
                 "企业数（家） applicants</text></svg>")
    return "".join(parts)


STATE_ZH = {"added": "新增 added", "removed": "删除 removed", "changed": "修改 changed", "unchanged": ""}


def _change_rows(changes: Sequence[dict[str, Any]]) -> str:
    out = []
    for c in changes:
        old, new = c.get("old"), c.get("new")
        if old is None and new is None:
            out.append(f"<tr><td>{escape(c['what'])}</td><td colspan=2>{escape(c.get('note') or '')}</td></tr>")
            continue
        note = f'<div class="muted">{escape(c["note"])}</div>' if c.get("note") else ""
        out.append(f"<tr><td>{escape(c['what'])}</td><td>{escape(old) if old is not None else '—'}</td>"
                   f"<td>{escape(new) if new is not None else '—'}{note}</td></tr>")
    return "".join(out)


def _structural(s: dict[str, Any]) -> str:
    out = []
    if s["package"]:
        out.append("<h3>政策参数 <span class=en>Package parameters</span></h3><table><tr><th>项目 item</th>"
                   "<th>原 old</th><th>新 new</th></tr>" + _change_rows(s["package"]) + "</table>")
    for key, title in (("clauses_changed", "修改的条款 <span class=en>Clauses changed</span>"),
                       ("clauses_added", "新增的条款 <span class=en>Clauses added</span>"),
                       ("clauses_removed", "删除的条款 <span class=en>Clauses removed</span>")):
        if not s[key]:
            continue
        out.append(f"<h3>{title}</h3>")
        for c in s[key]:
            out.append(f"<p><b>{escape(c['heading'])}</b></p>")
            if c["changes"]:
                out.append("<table><tr><th>项目 item</th><th>原 old</th><th>新 new</th></tr>"
                           + _change_rows(c["changes"]) + "</table>")
    if s["clauses_unchanged"]:
        out.append(f"<p class=muted>未修改 unchanged: {escape(', '.join(s['clauses_unchanged']))}</p>")
    return "".join(out)


def _undetermined_text(f: dict[str, Any]) -> str:
    n = f.get("applicants_undetermined") or 0
    return (f"另有 {n} 家企业有条款待补充（缺少须由企业补报的事实），补报后可能增加兑付。" if n else "")


def _fund_text(key: str, f: dict[str, Any]) -> str:
    return _fund_sentence(key, f).replace("</li>", _undetermined_text(f) + "</li>")


def _fund_sentence(key: str, f: dict[str, Any]) -> str:
    if f["fund"] is None:
        return f"<li>{escape(key)}：无年度资金上限 (no annual fund)；兑付 {money(f['paid'])} 元。</li>"
    if not f["prorated"]:
        return (f"<li>{escape(key)}：申请需求 {money(f['demand'])} 元，未超过年度资金 {money(f['fund'])} 元，"
                f"全额兑付，无需按比例核减。</li>")
    return (f"<li>{escape(key)}：申请需求 {money(f['demand'])} 元超过年度资金 {money(f['fund'])} 元，每笔奖励乘以 "
            f"{f['factor']}（{f['factor_percent']}%）后向下取整到元，核减 {money(f['cut_by_proration'])} 元，"
            f"实际兑付 {money(f['paid'])} 元。</li>")


def _summary(imp: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> str:
    """One sentence for the reader in a hurry."""
    change, before = imp["change"], imp["old"]["paid"]
    way = "多" if change > 0 else "少" if change < 0 else "同样"
    rel = f"（{'+' if change > 0 else ''}{percent(Fraction(change, before))}%）" if before and change else ""
    amount = f"{_wan(abs(change))} 万元" if change else ""
    funds = [f"{side['version']}版{'超过年度资金、按比例核减' if imp[key]['prorated'] else '未超过年度资金'}"
             for key, side in (("old", old), ("new", new))]
    a = imp["applicants"]
    return (f"结论：在同一批 {a['compared']} 家企业上，{new['version']}版比{old['version']}版{way}兑付 {amount}{rel}；"
            f"{a['winners']['count']} 家增加、{a['losers']['count']} 家减少、{a['unchanged']} 家不变；"
            + "，".join(funds) + "。")


def _semantic(findings: list[dict[str, Any]]) -> str:
    """`diff --prove`: each clause and the total, proved the same or shown different with the smallest witness."""
    rows = []
    for f in findings:
        if f["verdict"] == "differs":
            labels = f.get("witness_labels") or {}
            witness = "，".join(f"{labels.get(k, k)}={v}" for k, v in (f.get("witness") or {}).items())
            old, new = f.get("old") or {}, f.get("new") or {}
            change = (f"{old.get('status', '')} {old.get('amount', '')} → "
                      f"{new.get('status', '')} {new.get('amount', '')}")
            if f.get("copies", 1) > 1:
                change += f"（{f['copies']} 户同样企业 × {f['copies']} copies）"
            rows.append(f"<tr><td>{escape(f['title'])}</td><td class=down>不同 differs</td><td>{escape(change)}</td>"
                        f"<td>{escape(witness)}</td></tr>")
        else:
            verdict = "对所有企业相同（已证明） same for every applicant" if f["verdict"] == "same" else "未知 unknown"
            rows.append(f"<tr><td>{escape(f['title'])}</td><td>{verdict}</td><td></td><td></td></tr>")
    return ("<h2>语义比较（SMT 证明） <span class=en>Semantic diff, proved for every applicant</span></h2><table><tr>"
            "<th>条款 clause</th><th>结论 verdict</th><th>原 → 新 old → new</th><th>最小反例 smallest witness</th>"
            "</tr>" + "".join(rows) + "</table>")


def render(data: dict[str, Any]) -> str:
    """The report page for `impact.report(...)` data."""
    old, new = data["old"], data["new"]
    imp = data.get("impact")
    title = f"政策修订影响评估：{old['title']} → {new['version']}版"
    body = [f"<h1>{escape(title)}</h1>",
            f"<p class=sub>{escape(old['label'])} → {escape(new['label'])} · 适用年度 {escape(old['years'])} → "
            f"{escape(new['years'])}<br><span class=en>Impact of revising the policy, version {escape(old['version'])}"
            f" → {escape(new['version'])}</span></p>"]
    if old["unverified_clauses"] or new["unverified_clauses"]:
        body.append("<div class=banner>注意：本报告按规则文件计算。条款标注 verified: false 的数字为重构值，"
                    "待对照官方文件核实后才能作为决策依据。<span class=en> Numbers of clauses marked verified: false "
                    "are reconstructions pending the official text.</span></div>")
    if imp:
        pop, a = imp["population"], imp["applicants"]
        body.append(f"<p>测算样本：{escape(pop['file'])}，共 {pop['rows_in']} 行，两版均适用于全部申报企业"
                    f"（{len(pop['rejected'])} 行无法读取，未计入）。<span class=en>Both versions are applied to every "
                    "row, whatever its application year.</span></p>")
        cards = [("原版兑付总额", "Paid under " + old["version"], f"{_wan(imp['old']['paid'])} 万元", ""),
                 ("新版兑付总额", "Paid under " + new["version"], f"{_wan(imp['new']['paid'])} 万元", ""),
                 ("变化", "Change", f"{'+' if imp['change'] > 0 else ''}{_wan(imp['change'])} 万元",
                  _cls(imp["change"])),
                 ("受益企业", "Winners", f"{a['winners']['count']} 家",
                  "up"), ("受损企业", "Losers", f"{a['losers']['count']} 家", "down")]
        body.append("<div class=cards>" + "".join(
            f'<div class=card><div class=k>{k} <span class=en>{e}</span></div><div class="v {c}">{escape(v)}</div>'
            "</div>" for k, e, v, c in cards) + "</div>")
        body.append(f"<p><b>{escape(_summary(imp, old, new))}</b></p>")
        for m in imp.get("missing_columns") or []:
            facts = "、".join(f"{f['label']}（{f['name']}）" for f in m["facts"])
            body.append(f"<div class=banner>注意：{escape(m['heading'])} 读取 {escape(facts)}，测算样本没有这一列，"
                        "所有企业按空白处理，本条的影响未能测算（表中 0 不是它的成本）。"
                        "<span class=en> The population has no column for a fact this clause reads: its cost is not "
                        "measured here.</span></div>")
        body.append("<h2>兑付总额与年度资金 <span class=en>Total paid and the annual fund</span></h2>")
        same = old["key"] == new["key"]
        body.append(totals_chart(imp, "原 old" if same else old["key"], "新 new" if same else new["key"]))
        body.append("<ul>" + _fund_text(old["label"], imp["old"]) + _fund_text(new["label"], imp["new"]) + "</ul>")
        body.append("<h2>分条款兑付 <span class=en>Paid per clause</span></h2><p class=legend>"
                    f'<span style="background:{OLD_COLOUR}"></span>{escape(old["label"])}'
                    f'<span style="background:{NEW_COLOUR}"></span>{escape(new["label"])}</p>')
        rows = [(c["heading"], c["old_paid"], c["new_paid"]) for c in imp["clauses"]]
        body.append(bar_pairs(rows))
        body.append("<table><tr><th>条款 clause</th><th class=n>原版 old</th><th class=n>新版 new</th>"
                    "<th class=n>变化 change</th><th class=n>获奖企业 paid (old → new)</th>"
                    "<th class=n>待补充 undetermined (old → new)</th></tr>")
        for c in imp["clauses"]:
            state = f' <span class=muted>{STATE_ZH[c["state"]]}</span>' if STATE_ZH[c["state"]] else ""
            body.append(f"<tr><td>{escape(c['heading'])}{state}</td><td class=n>{money(c['old_paid'])}</td>"
                        f"<td class=n>{money(c['new_paid'])}</td><td class='n {_cls(c['change'])}'>"
                        f"{_signed(c['change'])}</td><td class=n>{c['old_count']} → {c['new_count']}</td>"
                        f"<td class=n>{c['old_undetermined']} → {c['new_undetermined']}</td></tr>")
        body.append(f"<tr><th>合计 total</th><th class=n>{money(imp['old']['paid'])}</th><th class=n>"
                    f"{money(imp['new']['paid'])}</th><th class='n {_cls(imp['change'])}'>{_signed(imp['change'])}"
                    f"</th><th></th><th class=n>{imp['old']['applicants_undetermined']} → "
                    f"{imp['new']['applicants_undetermined']} 家</th></tr></table>")
        body.append("<h2>受益与受损企业 <span class=en>Winners and losers</span></h2>")
        body.append(f"<p>比较 {a['compared']} 家：{a['winners']['count']} 家增加，合计 "
                    f"+{money(a['winners']['amount'])} 元；{a['losers']['count']} 家减少，合计 "
                    f"{money(a['losers']['amount'])} 元；{a['unchanged']} 家不变。</p>")
        body.append(change_chart(imp["per_applicant"]))
        body.append("<h3>按变化幅度 <span class=en>By size of change (relative to the old award)</span></h3>")
        body.append(bands_chart(a["bands"]))
        body.append("<table><tr><th>幅度 band</th><th class=n>企业 applicants</th><th class=n>合计变化 change</th></tr>"
                    + "".join(f"<tr><td>{escape(b['label'])} <span class=en>{escape(b['label_en'])}</span></td>"
                              f"<td class=n>{b['count']}</td><td class='n {_cls(b['amount'])}'>{_signed(b['amount'])}"
                              "</td></tr>" for b in a["bands"]) + "</table>")
        body.append("<h3>变化最大的企业 <span class=en>Largest changes per applicant</span></h3><table><tr>"
                    "<th>行 row</th><th>企业 applicant</th><th class=n>原版 old</th><th class=n>新版 new</th>"
                    "<th class=n>变化 change</th><th>主要原因 main cause</th></tr>")
        for p in imp["largest_changes"]:
            detail = "; ".join(f"{c['id']} {_signed(c['change'])}" for c in p["clauses"][:4])
            body.append(f"<tr><td>{p['row']}</td><td>{escape(p['name'])}</td><td class=n>{money(p['old'])}</td>"
                        f"<td class=n>{money(p['new'])}</td><td class='n {_cls(p['change'])}'>{_signed(p['change'])}"
                        f"</td><td>{escape(p['cause_title'] or '')}<div class=muted>"
                        f"{escape(detail)}</div></td></tr>")
        body.append("</table>")
        if pop["rejected"]:
            body.append("<h3>未计入的行 <span class=en>Rows not scored</span></h3><table><tr><th>行 row</th>"
                        "<th>列 column</th><th>内容 value</th><th>原因 reason</th></tr>" + "".join(
                            f"<tr><td>{r['row']}</td><td>{escape(r['column'])}</td><td>{escape(r['value'])}</td>"
                            f"<td>{escape(r['reason'])}</td></tr>" for r in pop["rejected"]) + "</table>")
    body.append("<h2>条款修改明细 <span class=en>What changed in the rules</span></h2>")
    body.append(_structural(data["structural"]))
    if data.get("semantic") is not None:
        body.append(_semantic(data["semantic"]))
    foot = [f"{escape(v['key'])} {escape(v['content_hash'])}" for v in (old, new)]
    if imp:
        foot.append(f"{escape(imp['population']['file'])} {escape(imp['population']['sha256'])}")
    body.append("<footer>由 policyengine " + escape(__version__) + " 生成 (generated by policyengine diff); "
                "the JSON report holds the same numbers.<br>" + "<br>".join(foot) + "</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>" + "".join(body) + "</body></html>\n")
