"""`policyengine diff`: the structural diff, the impact on a population, and the HTML and JSON reports."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .drafting_support import clause, copy_version, run
from .support import ROOT

HZ = ROOT / "rules" / "huangzuan16"
SHEET = ROOT / "examples" / "applicants_2021.csv"


def _report(tmp: Path, old: str, new: str, population: Path | None = SHEET) -> tuple[str, dict[str, Any], str]:
    args = ["diff", old, new, "--json", str(tmp / "r.json"), "--report", str(tmp / "r.html")]
    if population is not None:
        args += ["--population", str(population)]
    result = run(*args)
    assert result.exit_code == 0, result.output
    return (result.output, json.loads((tmp / "r.json").read_text(encoding="utf-8")),
            (tmp / "r.html").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def hz(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], str]:
    return _report(tmp_path_factory.mktemp("diff"), f"{HZ}@2.0", f"{HZ}@3.0")


def _score(tmp: Path, package: str, version: str, sheet: Path = SHEET) -> list[dict[str, str]]:
    out = tmp / f"score-{version}.csv"
    result = run("score", str(sheet), "--package", package, "--version", version, "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _change(data: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in data["structural"]["clauses_changed"] if c["id"] == cid)


def test_structural_changes_in_the_drafters_words(hz: tuple[str, dict[str, Any], str]) -> None:
    text, data, _ = hz
    package = {c["what"]: c for c in data["structural"]["package"]}
    # the brief: per-applicant cap 300万 → 500万, annual fund 2000万 → 3000万
    assert (package["单户上限 per-applicant cap"]["old"], package["单户上限 per-applicant cap"]["new"]) == ("300万",
                                                                                                          "500万")
    assert (package["年度资金 annual fund"]["old"], package["年度资金 annual fund"]["new"]) == ("2000万", "3000万")
    assert package["适用年度 application years"]["new"] == "2021–"
    a05 = {c["what"]: c for c in _change(data, "a05")["changes"]}
    # a05: threshold 1,000,000 → 500,000, rate 5% → 10%, cap 300,000 → 500,000
    assert a05["门槛 threshold"]["old"] == "上年度研发费用 >= 100万"
    assert a05["门槛 threshold"]["new"] == "上年度研发费用 >= 50万"
    assert a05["门槛 threshold"]["note"] == "100万 → 50万"
    assert a05["金额 amount"]["note"] == "5% → 10%"
    assert (a05["上限 cap"]["old"], a05["上限 cap"]["new"]) == ("30万", "50万")
    # a09 is another article in 3.0 (发明专利资助 → 载体租金减免补贴): paired by article and title, not by the reused id
    removed = {c["key"]: c for c in data["structural"]["clauses_removed"]}
    added = {c["key"]: c for c in data["structural"]["clauses_added"]}
    assert removed["a09 (old)"]["old_title"] == "发明专利资助" and added["a09 (new)"]["new_title"] == "载体租金减免补贴"
    assert sorted(removed) == [f"a{n:02d} (old)" for n in range(9, 14)]
    assert sorted(added) == [f"a{n:02d} (new)" for n in range(9, 14)]
    assert "  - 第9条 a09 发明专利资助" in text and "  + 第9条 a09 载体租金减免补贴" in text
    a07 = {c["what"]: c for c in _change(data, "a07")["changes"]}
    assert "市级 20万 → 30万" in a07["表 table CARRIER"]["note"]  # the table it reads changed
    assert {c["id"] for c in data["structural"]["clauses_changed"]}.isdisjoint(
        data["structural"]["clauses_unchanged"])
    assert "~ 第5条 a05 研发投入增量补助" in text
    assert "门槛 threshold: 上年度研发费用 >= 100万 → 上年度研发费用 >= 50万" in text


def test_clauses_added_and_removed(tmp_path: Path) -> None:
    def swap(d: dict[str, Any]) -> None:
        a16 = clause(d, "a16")
        d["clauses"].remove(a16)
        d["clauses"].append({**a16, "id": "a17", "article": 17, "title": "新条款"})

    new = copy_version(tmp_path, edit=swap, invariants=None)
    result = run("diff", f"{HZ}@3.0", str(new))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "clauses added (1):\n  + 第17条 a17 新条款" in out
    assert "clauses removed (1):\n  - 第16条 a16 创新活动组织补贴" in out
    assert "clauses changed" not in out  # nothing else moved


def test_impact_equals_the_sums_of_score(hz: tuple[str, dict[str, Any], str], tmp_path: Path) -> None:
    _, data, _ = hz
    imp = data["impact"]
    for side, version in (("old", "2.0"), ("new", "3.0")):
        rows = _score(tmp_path, f"{HZ}@{version}", version)
        assert imp[side]["applicants_scored"] == len(rows)
        assert imp[side]["paid"] == sum(int(r["huangzuan16.total"]) for r in rows)
        for c in imp["clauses"]:
            cid = c[f"{side}_id"]
            column = f"huangzuan16.{cid}.amount"
            assert c[f"{side}_paid"] == (sum(int(r[column]) for r in rows if r.get(column)) if cid else 0), \
                (side, c["id"])
            undetermined = sum(r.get(f"huangzuan16.{cid}.status") == "undetermined" for r in rows) if cid else 0
            assert c[f"{side}_undetermined"] == undetermined, (side, c["id"])
        by_row = {p["row"]: p[side] for p in imp["per_applicant"]}
        assert sorted(by_row.values()) == sorted(int(r["huangzuan16.total"]) for r in rows)


def test_winners_losers_and_largest_changes_add_up(hz: tuple[str, dict[str, Any], str]) -> None:
    _, data, _ = hz
    imp = data["impact"]
    people = imp["per_applicant"]
    a = imp["applicants"]
    assert a["winners"]["count"] == sum(p["change"] > 0 for p in people)
    assert a["losers"]["count"] == sum(p["change"] < 0 for p in people)
    assert a["winners"]["amount"] + a["losers"]["amount"] == imp["change"] == imp["new"]["paid"] - imp["old"]["paid"]
    assert sum(c["change"] for c in imp["clauses"]) == imp["change"]
    top = imp["largest_changes"]
    assert [abs(p["change"]) for p in top] == sorted((abs(p["change"]) for p in top), reverse=True)
    assert abs(top[-1]["change"]) >= max(abs(p["change"]) for p in people if p["row"] not in {t["row"] for t in top})
    for p in top:
        assert sum(c["change"] for c in p["clauses"]) == p["change"]
        cause = next(c for c in p["clauses"] if c["id"] == p["cause"])
        assert (cause["change"] > 0) == (p["change"] > 0)
    # 2.0 does not cover 2021: both versions were forced onto the whole population
    assert imp["old"]["applicants_scored"] == imp["new"]["applicants_scored"] > 0
    assert {r["row"] for r in imp["population"]["rejected"]} == {35, 42, 59}


def test_the_fund_cap_prorates(tmp_path: Path) -> None:
    def small_fund(d: dict[str, Any]) -> None:
        d["settlement"]["annual_fund"] = "500万"

    folder = copy_version(tmp_path, edit=small_fund, invariants=None)
    _, data, html = _report(tmp_path, f"{HZ}@3.0", str(folder))
    new = data["impact"]["new"]
    assert new["prorated"] and new["fund"] == 5_000_000 and new["paid"] <= 5_000_000 < new["demand"]
    numerator, denominator = (int(x) for x in new["factor"].split("/"))
    assert numerator * new["demand"] == denominator * new["fund"]
    assert new["cut_by_proration"] == new["demand"] - new["paid"]
    assert not data["impact"]["old"]["prorated"]
    assert data["impact"]["change_before_proration"] == 0  # only the fund differs
    rows = _score(tmp_path, str(folder), "3.0")
    assert new["paid"] == sum(int(r["huangzuan16.total"]) for r in rows)
    assert f"{new['factor']}（{new['factor_percent']}%）" in html


def test_html_is_self_contained_and_shows_the_json_numbers(hz: tuple[str, dict[str, Any], str]) -> None:
    _, data, html = hz
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    for outside in ("http:", "https:", "<script", "<link", "src=", "url(", "@import", "<img"):
        assert outside not in html, outside
    assert html.count("<svg") >= 3 and "兑付总额与年度资金" in html
    parser = _Tags()
    parser.feed(html)
    assert parser.open == [], parser.open  # every element closed
    imp = data["impact"]
    for c in imp["clauses"]:
        assert f"{c['old_paid']:,}" in html and f"{c['new_paid']:,}" in html
    for p in imp["largest_changes"]:
        assert p["name"] in html and f"{abs(p['change']):,}" in html
    assert f"{imp['old']['paid']:,}" in html and f"{imp['new']['paid']:,}" in html


class _Tags(HTMLParser):
    VOID: ClassVar[frozenset[str]] = frozenset({"meta", "br", "rect", "line", "input", "img"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        return

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open and self.open[-1] == tag, (self.open[-3:], tag)
        self.open.pop()


def test_two_folders_and_no_population(tmp_path: Path) -> None:
    text, data, html = _report(tmp_path, str(HZ / "2.0"), str(HZ / "3.0"), population=None)
    assert data["impact"] is None and data["old"]["key"] == "huangzuan16@2.0"
    assert "impact on" not in text and "条款修改明细" in html


def test_a_package_with_several_versions_must_name_one() -> None:
    result = run("diff", str(HZ), f"{HZ}@3.0")
    assert result.exit_code == 2
    assert "holds versions 2.0, 3.0: name one, as DIR@VERSION" in result.stderr


def test_docs_report_is_up_to_date(tmp_path: Path) -> None:
    result = run("diff", f"{HZ}@2.0", f"{HZ}@3.0", "--population", str(SHEET), "--report",
                 str(tmp_path / "d.html"), "--json", str(tmp_path / "d.json"))
    assert result.exit_code == 0
    docs = ROOT / "docs"
    fresh_json = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    shipped_json = json.loads((docs / "diff-2.0-3.0.json").read_text(encoding="utf-8"))
    # the population's path differs (absolute here); everything else is the same
    assert fresh_json == shipped_json, "regenerate docs/diff-2.0-3.0.* (see docs/drafting.md)"
    fresh = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert fresh == (docs / "diff-2.0-3.0.html").read_text(encoding="utf-8")
    assert re.search(r"applicants_2021\.csv sha256:[0-9a-f]{64}", fresh)


def test_an_xlsx_population_gives_the_same_numbers(hz: tuple[str, dict[str, Any], str], tmp_path: Path) -> None:
    _, data, _ = _report(tmp_path, f"{HZ}@2.0", f"{HZ}@3.0", population=SHEET.with_suffix(".xlsx"))
    _, csv_data, _ = hz
    for key in ("old", "new", "change", "clauses", "applicants", "per_applicant"):
        assert data["impact"][key] == csv_data["impact"][key], key
