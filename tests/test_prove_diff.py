"""`policyengine diff OLD NEW --prove`: planted edits each found with a witness the interpreter confirms; an
identical copy proved the same for every applicant."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from policyengine.model.loader import load_package
from policyengine.prove.semdiff import semantic_diff

from .drafting_support import Edit, clause, copy_version, run


def _cond(cid: str, old: str, new: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        conds = clause(data, cid)["conditions"]
        i = conds.index(old)
        conds[i] = new
    return edit


def _drop(cid: str, cond: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        clause(data, cid)["conditions"].remove(cond)
    return edit


def _set(cid: str, key: str, value: object) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        clause(data, cid)[key] = value
    return edit


def _table(data: dict[str, Any]) -> None:
    data["tables"]["CARRIER"]["values"]["市级"] = "35万"


def _paste(data: dict[str, Any]) -> None:
    twin = copy.deepcopy(clause(data, "a13"))
    twin.update(id="a17", article=17)
    data["clauses"].append(twin)


def _settle(key: str, value: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["settlement"][key] = value
    return edit


def _window(data: dict[str, Any]) -> None:
    data["package"]["effective"]["to"] = 2025


PLANTED: list[tuple[str, str, Edit, str]] = [
    ("== Y - 1 widened to >= Y - 1", "huangzuan16",
     _cond("a13", "intl_platform_start_year == Y - 1", "intl_platform_start_year >= Y - 1"), "a13"),
    ("1% written 1", "huangzuan16", _set("a14", "amount", "1 * tech_contract_turnover"), "a14"),
    ("50万 written 50", "huangzuan16", _cond("a05", "rd_expense >= 50万", "rd_expense >= 50"), "a05"),
    ("eligibility E dropped", "huangzuan16", _drop("a04", "E"), "a04"),
    ("> written >=", "huangzuan16", _cond("a05", "rd_expense > rd_expense_prev", "rd_expense >= rd_expense_prev"),
     "a05"),
    ("a table value changed", "huangzuan16", _table, "a07"),
    ("a clause pasted twice under a new id", "huangzuan16", _paste, "a17"),
    ("the fund lowered", "huangzuan16", _settle("annual_fund", "2000万"), "annual_fund"),
    ("a validity window widened", "municipal", _window, "m01"),
    ("a cap raised", "huangzuan16", _set("a05", "cap", "60万"), "a05"),
    ("the per-applicant cap lowered", "huangzuan16", _settle("applicant_cap", "400万"), "total"),
    ("Y - 3 written Y - 4", "huangzuan16",
     _cond("a12", "offshore_center_year <= Y - 1", "offshore_center_year <= Y"), "a12"),
]


def _pair(tmp: Path, package: str, edit: Edit | None) -> tuple[Path, Path]:
    version = "3.0" if package == "huangzuan16" else "2019"
    old = copy_version(tmp / "old", package, version, invariants=None)
    new = copy_version(tmp / "new", package, version, edit=edit, invariants=None)
    return old, new


@pytest.mark.parametrize(("what", "package", "edit", "changed"), PLANTED, ids=[p[0] for p in PLANTED])
def test_a_planted_edit_is_found_with_a_witness_the_interpreter_confirms(tmp_path: Path, what: str, package: str,
                                                                        edit: Edit, changed: str) -> None:
    old, new = _pair(tmp_path, package, edit)
    # no time spent making witnesses smaller (not asserted here; the CLI test below keeps the default minimising)
    d = semantic_diff(load_package(old).versions[0], load_package(new).versions[0], minimise_s=0.0)
    found = {f.what: f for f in d.differences}
    assert changed in found, (what, [f.what for f in d.differences])
    assert all(f.verdict == "differs" and f.confirmed for f in d.differences), [
        (f.what, f.verdict, f.solver, f.interpreter, f.row) for f in d.differences if not f.confirmed]
    f = found[changed]
    assert f.row is not None and f.interpreter is not None and f.interpreter[0] != f.interpreter[1]


def test_cli_diff_prove_exit_status(tmp_path: Path) -> None:
    old, new = _pair(tmp_path, "huangzuan16", _cond("a13", "intl_platform_start_year == Y - 1",
                                                    "intl_platform_start_year >= Y - 1"))
    same = run("diff", str(old), str(old), "--prove")
    assert same.exit_code == 0, same.output
    assert "every clause and the total are the same for every applicant (proved)" in same.output
    assert "same     第13条 a13 中外合作创新平台奖励: the same for every applicant (proved)" in same.output
    differs = run("diff", str(old), str(new), "--prove", "--report", str(tmp_path / "r.html"))
    assert differs.exit_code == 1, differs.output
    assert "differs  第13条 a13 中外合作创新平台奖励" in differs.output
    assert "the interpreter agrees" in differs.output
    assert "中外合作创新平台运营年份" in differs.output  # the witness row, Chinese headers
    assert "Semantic diff, proved for every applicant" in (tmp_path / "r.html").read_text(encoding="utf-8")
    broken = run("diff", str(old), str(tmp_path / "nowhere"), "--prove")
    assert broken.exit_code == 2, broken.output
