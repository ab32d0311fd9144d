from __future__ import annotations

import dataclasses
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from policyengine import Package, evaluate
from policyengine.decide.evaluate import fact_index
from policyengine.engines.interpreter import Env, evaluate_clause, evaluate_expr
from policyengine.facts.applicant import Facts, read_facts
from policyengine.facts.values import UNKNOWN, Value
from policyengine.lang import ast as A

from .support import mini_facts

TRI = st.sampled_from([True, False, UNKNOWN])


def _env(mini: Package, values: list[Value]) -> tuple[Env, list[A.Expr]]:
    names = [f"v{i}" for i in range(len(values))]
    env = Env(mini.versions[0], Facts({}), extra=dict(zip(names, values, strict=True)))
    return env, [A.Name(n) for n in names]


@given(st.lists(TRI, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_kleene_and_or(mini: Package, values: list[Value], rnd: object) -> None:
    env, refs = _env(mini, values)
    conj = evaluate_expr(A.BoolOp("and", tuple(refs)), env) if len(refs) > 1 else evaluate_expr(refs[0], env)
    disj = evaluate_expr(A.BoolOp("or", tuple(refs)), env) if len(refs) > 1 else evaluate_expr(refs[0], env)
    if False in values:
        assert conj is False  # a false conjunct decides, whatever else is unknown
    elif UNKNOWN in values:
        assert conj is UNKNOWN
    else:
        assert conj is True
    if True in values:
        assert disj is True
    elif UNKNOWN in values:
        assert disj is UNKNOWN
    else:
        assert disj is False
    shuffled = list(refs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    if len(shuffled) > 1:
        assert evaluate_expr(A.BoolOp("and", tuple(shuffled)), env) is conj
        assert evaluate_expr(A.BoolOp("or", tuple(shuffled)), env) is disj


def test_not_and_comparisons_with_unknown_and_none(mini: Package) -> None:
    env, (u, n, y) = _env(mini, [UNKNOWN, None, Fraction(2020)])
    assert evaluate_expr(A.Not(u), env) is UNKNOWN
    assert evaluate_expr(A.Compare(">=", u, y), env) is UNKNOWN
    # an event that did not happen: never equal, never ordered, always different
    assert evaluate_expr(A.Compare("==", n, y), env) is False
    assert evaluate_expr(A.Compare(">=", n, y), env) is False
    assert evaluate_expr(A.Compare("<=", n, y), env) is False
    assert evaluate_expr(A.Compare("!=", n, y), env) is True


# which facts an applicant leaves blank; district is set to make E false
BLANKABLE = ["honest", "level", "level_year", "spend", "spend_prev", "share"]


@given(st.lists(st.sampled_from(BLANKABLE), unique=True))
def test_a_false_condition_decides_whatever_is_unknown(mini: Package, blanks: list[str]) -> None:
    facts = mini_facts(district="和平区", **{b: ... for b in blanks})
    decision = evaluate(mini, facts, backend="interpreter")
    for clause in decision.package("mini").clauses:
        assert clause.status == "ineligible", clause
        assert "district" in clause.reason and "和平区" in clause.reason


@given(st.lists(st.sampled_from(BLANKABLE), unique=True), st.permutations(range(3)))
def test_outcome_does_not_depend_on_condition_order(mini: Package, blanks: list[str],
                                                    order: list[int]) -> None:
    version = mini.versions[0]
    clause = version.clause("c03")
    permuted = dataclasses.replace(clause, conditions=tuple(clause.conditions[i] for i in order))
    typed = read_facts(fact_index([mini]), mini_facts(**{b: ... for b in blanks}))
    a = evaluate_clause(clause, Env(version, typed))
    b = evaluate_clause(permuted, Env(version, typed))
    assert (a.status, a.amount, sorted(a.unknown_facts)) == (b.status, b.amount, sorted(b.unknown_facts))


def test_eligible_clause_traces_its_formula(mini: Package) -> None:
    c03 = evaluate(mini, mini_facts(spend="100万", spend_prev="80万")).package("mini").clause("c03")
    assert c03.status == "eligible" and c03.amount == 30000
    assert c03.formula == "15% * (spend - spend_prev) = 15% * (1000000 - 800000) = 30000"
    assert [t.result for t in c03.conditions] == ["true", "true", "true"]


def test_half_up_rounding_is_shown(mini: Package) -> None:
    # 15% * 3.30 = 0.495 rounds to 0; 15% * 3.40 = 0.51 rounds to 1;
    # 15% * 30 = 4.5 rounds half up to 5 (half-to-even would give 4)
    c03 = evaluate(mini, mini_facts(spend="500003.30", spend_prev="500000")).package("mini").clause("c03")
    assert c03.amount == 0 and "0.495 → 0" in (c03.formula or "")
    c03 = evaluate(mini, mini_facts(spend="500003.40", spend_prev="500000")).package("mini").clause("c03")
    assert c03.amount == 1 and "0.51 → 1" in (c03.formula or "")
    c03 = evaluate(mini, mini_facts(spend="500030", spend_prev="500000")).package("mini").clause("c03")
    assert c03.amount == 5 and "4.5 → 5" in (c03.formula or "")


def test_undetermined_names_the_missing_facts(mini: Package) -> None:
    c03 = evaluate(mini, mini_facts(spend_prev=...)).package("mini").clause("c03")
    assert c03.status == "undetermined"
    assert c03.unknown_facts == ["spend_prev"]
    assert c03.reason == "前年度研发费用 unknown"


def test_drafter_reason_is_used_for_a_false_condition(mini: Package) -> None:
    c03 = evaluate(mini, mini_facts(spend="80万", spend_prev="90万")).package("mini").clause("c03")
    assert c03.status == "ineligible"
    assert c03.reason == "研发费用未增长（900000 → 800000）"


def test_deciding_part_goes_into_definitions(mini: Package) -> None:
    c01 = evaluate(mini, mini_facts(honest="是", district="铁西区")).package("mini").clause("c01")
    assert c01.conditions[0].deciding == 'district == "皇姑区"'
    assert c01.reason == 'district == "皇姑区" is false (注册地所在区=铁西区)'
