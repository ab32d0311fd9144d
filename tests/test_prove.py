"""`policyengine prove`: invariants proved for every applicant (z3), counterexamples the interpreter confirms, and
the translation cross-checked against the reference interpreter on random applicants."""

from __future__ import annotations

import time
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine import Package
from policyengine.drafting.check import Evaluator
from policyengine.drafting.strategies import applicants, plan
from policyengine.engines.interpreter import Env
from policyengine.model.loader import load_package
from policyengine.prove.invariants import Space, prove_version
from policyengine.prove.translate import STATUSES, assignment

from .drafting_support import clause, copy_version, run
from .support import ROOT

BUNDLED = [("huangzuan16", "2.0"), ("huangzuan16", "3.0"), ("municipal", "2019")]


@pytest.mark.parametrize(("package", "version"), BUNDLED)
def test_every_bundled_invariant_is_proved_in_time(package: str, version: str) -> None:
    v = load_package(ROOT / "rules" / f"{package}@{version}").versions[0]
    start = time.perf_counter()
    report = prove_version(v)
    assert time.perf_counter() - start < 30
    assert [p.invariant.id for p in report.proofs] == [i.id for i in v.invariants]
    assert {p.status for p in report.proofs} == {"proved"}, [(p.invariant.id, p.status) for p in report.proofs]


def test_cli_prove_bundled_exit_0() -> None:
    result = run("prove", str(ROOT / "rules" / "municipal"))
    assert result.exit_code == 0, result.output
    assert "proved   m01_stated_amount" in result.output
    assert result.output.rstrip().endswith("no violations")


def _raise_a05_cap(data: dict[str, Any]) -> None:
    clause(data, "a05")["cap"] = "60万"


def test_a_raised_cap_is_violated_with_a_counterexample_the_interpreter_confirms(tmp_path: Any) -> None:
    folder = copy_version(tmp_path, edit=_raise_a05_cap, invariants=None, keep_tests=True)
    out = run("prove", str(folder))
    assert out.exit_code == 1, out.output
    assert "violated a05_cap" in out.output and "the interpreter agrees" in out.output
    assert "上年度研发费用" in out.output  # the counterexample row, with Chinese headers
    assert out.output.rstrip().endswith("1 violated")


def test_a_broken_monotonic_invariant_is_violated(tmp_path: Any) -> None:
    def edit(data: dict[str, Any]) -> None:  # pays less above 200万: no longer monotonic
        clause(data, "a05")["amount"] = "if rd_expense > 200万 then 1万 else 10% * (rd_expense - rd_expense_prev)"

    v = load_package(copy_version(tmp_path, edit=edit, invariants=None, keep_tests=True)).versions[0]
    report = prove_version(v)
    broken = {p.invariant.id: p for p in report.violated}
    assert "a05_monotonic_in_rd_expense" in broken
    assert broken["a05_monotonic_in_rd_expense"].confirmed is True


def test_a_raised_fund_breaks_the_batch_invariant(tmp_path: Any) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["settlement"]["annual_fund"] = "4000万"

    v = load_package(copy_version(tmp_path, edit=edit, invariants=None, keep_tests=True)).versions[0]
    proof = next(p for p in prove_version(v).proofs if p.invariant.id == "annual_fund")
    assert proof.status == "violated" and proof.confirmed is True and proof.copies > 1


def _spaces(pkgs: list[Package]) -> list[Space]:
    return [Space(v) for p in pkgs for v in p.versions]


@pytest.fixture(scope="module")
def spaces(huangzuan16: Package, municipal: Package) -> list[Space]:
    return _spaces([huangzuan16, municipal])


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_solver_agrees_with_the_interpreter_on_random_applicants(spaces: list[Space], data: st.DataObject
                                                                   ) -> None:
    space = data.draw(st.sampled_from(spaces))
    row = data.draw(applicants(plan(space.version)))
    facts, result = Evaluator(space.version)(row)
    env = Env(space.version, facts)
    subst = assignment(space.facts, env.values, space.codes)

    def value(term: Any) -> Any:
        return z3.simplify(z3.substitute(term, *subst)) if subst else z3.simplify(term)

    for cid, ct in space.outcome.clauses.items():
        got = result.clause(cid)
        assert STATUSES[value(ct.status).as_long()] == got.status, (cid, row)
        assert value(ct.amount).as_long() == got.amount, (cid, row)
    assert value(space.outcome.total).as_long() == result.total


def test_coverage_names_the_clauses_no_invariant_constrains(tmp_path: Any) -> None:
    folder = copy_version(tmp_path)  # the fixture's invariants: caps and general statements only
    v = load_package(folder).versions[0]
    from policyengine.model.invariants import unconstrained_clauses

    free = unconstrained_clauses(v)
    assert free == ["a06", "a07", "a10"]
    line = f"  coverage: {' '.join(free)} : no invariant states who is eligible or what is paid"
    assert line in run("prove", str(folder)).output.split("\n")
    assert line in run("check", str(folder), "--max-examples", "5").output.split("\n")
