from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine import Decision, Package, evaluate, prorate
from policyengine.decide.decision import ClauseResult
from policyengine.decide.settlement import fund_use, settle

from .support import mini_facts


def raw(clause: str, article: int, status: str, amount: int) -> ClauseResult:
    return ClauseResult(clause=clause, article=article, title=clause, status=status,  # type: ignore[arg-type]
                        amount=amount if status == "eligible" else 0, computed=amount)


def test_clause_cap(mini: Package) -> None:
    results, steps = settle(mini.versions[0], [raw("c01", 1, "ineligible", 0), raw("c02", 2, "ineligible", 0),
                                               raw("c03", 3, "eligible", 250000), raw("c04", 4, "ineligible", 0)])
    assert results[2].amount == 200000
    assert [s.step for s in steps] == ["clause_cap"]


def test_group_highest_stands_and_tie_goes_to_lower_article(mini: Package) -> None:
    v = mini.versions[0]
    higher, _ = settle(v, [raw("c01", 1, "eligible", 100000), raw("c02", 2, "eligible", 120000),
                           raw("c03", 3, "ineligible", 0), raw("c04", 4, "ineligible", 0)])
    assert [(r.status, r.amount) for r in higher[:2]] == [("excluded", 0), ("eligible", 120000)]
    assert "excluded by c02" in higher[0].reason
    tie, _ = settle(v, [raw("c01", 1, "eligible", 100000), raw("c02", 2, "eligible", 100000),
                        raw("c03", 3, "ineligible", 0), raw("c04", 4, "ineligible", 0)])
    assert [(r.status, r.amount) for r in tie[:2]] == [("eligible", 100000), ("excluded", 0)]


def test_applicant_cap_reduces_from_the_highest_article(mini: Package) -> None:
    results, steps = settle(mini.versions[0], [raw("c01", 1, "eligible", 300000), raw("c02", 2, "ineligible", 0),
                                               raw("c03", 3, "eligible", 150000), raw("c04", 4, "eligible", 400000)])
    # total 850000 > 500000: c04 loses 350000 first, c03 and c01 are untouched
    assert [r.amount for r in results] == [300000, 0, 150000, 50000]
    assert results[3].status == "eligible"
    assert steps[-1].step == "applicant_cap" and steps[-1].clause == "c04"


statuses = st.sampled_from(["eligible", "ineligible", "undetermined"])


@settings(max_examples=300)
@given(st.lists(st.tuples(statuses, st.integers(0, 800000)), min_size=4, max_size=4))
def test_settlement_invariants(mini: Package, rows: list[tuple[str, int]]) -> None:
    v = mini.versions[0]
    results, _ = settle(v, [raw(c.id, c.article, s, a) for c, (s, a) in zip(v.clauses, rows, strict=True)])
    for clause, r in zip(v.clauses, results, strict=True):
        assert r.amount >= 0
        if clause.cap is not None:
            assert r.amount <= clause.cap
        if r.status != "eligible":
            assert r.amount == 0
    assert sum(1 for r in results[:2] if r.status == "eligible") <= 1  # group G
    assert sum(r.amount for r in results) <= (v.applicant_cap or 0)


applicants = st.builds(
    lambda level, staff, spend: mini_facts(level=level, staff=str(staff), spend=f"{spend}万", spend_prev="50万",
                                           share="90%"),
    st.sampled_from(["无", "市级", "省级"]), st.integers(0, 60), st.integers(50, 400),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(applicants, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_proration_total_never_exceeds_the_fund_and_ignores_order(mini: Package, population: list[dict[str, object]],
                                                                  rnd: object) -> None:
    decisions = [evaluate(mini, f, backend="interpreter") for f in population]
    settled = prorate(decisions)
    for (_, _, _), (fund, paid) in fund_use(settled).items():
        assert paid <= fund
    for before, after in zip(decisions, settled, strict=True):
        for pb, pa in zip(before.packages, after.packages, strict=True):
            for cb, ca in zip(pb.clauses, pa.clauses, strict=True):
                assert 0 <= ca.amount <= cb.amount
    order = list(range(len(decisions)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = prorate([decisions[i] for i in order])
    by_row: dict[int, Decision] = defaultdict()
    for i, d in zip(order, shuffled, strict=True):
        by_row[i] = d
    assert [by_row[i].outcome() for i in range(len(decisions))] == [d.outcome() for d in settled]


def test_proration_uses_integer_floor(mini: Package) -> None:
    # three applicants each with 400000 under c04 (share ≥ 80%, no other awards): demand 1,200,000 > fund 1,000,000
    population = [mini_facts(level="无", spend="10万", share="90%") for _ in range(3)]
    settled = prorate([evaluate(mini, f, backend="interpreter") for f in population])
    amounts = [d.package("mini").clause("c04").amount for d in settled]
    assert amounts == [400000 * 1000000 // 1200000] * 3 == [333333] * 3
    assert settled[0].package("mini").steps[-1].step == "proration"


def test_prorating_one_decision_copies_it_or_changes_it_in_place(mini: Package) -> None:
    # a decision no proration touches comes back as it is; one that is touched is a copy (the original kept),
    # or with copy=False the decision itself, changed exactly as the copy is
    from policyengine.decide.settlement import prorate_decision

    facts = mini_facts(level="无", spend="10万", share="90%")
    year = evaluate(mini, facts, backend="interpreter").package("mini")
    key = (year.package, year.version, year.application_year)
    untouched = evaluate(mini, facts, backend="interpreter")
    assert prorate_decision(untouched, {("mini", "other", 1999): (1, 2)}) is untouched
    original = evaluate(mini, facts, backend="interpreter")
    copied = prorate_decision(original, {key: (1000000, 1200000)})
    assert copied is not original and original.model_dump() == untouched.model_dump()
    assert copied.package("mini").clause("c04").amount == 333333
    assert copied.package("mini").steps[-1].step == "proration"
    in_place = evaluate(mini, facts, backend="interpreter")
    assert prorate_decision(in_place, {key: (1000000, 1200000)}, copy=False) is in_place
    assert in_place.model_dump() == copied.model_dump()
    assert in_place.model_dump_json() == copied.model_dump_json()
