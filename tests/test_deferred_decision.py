"""What `evaluate()` leaves until it is read (an ineligible clause's reason and trace, the facts' canonical text
and digest) reads the same whenever, and in whatever order, it is read; and a condition after a false one is
still computed where it could fail."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest

from policyengine import Package, evaluate
from policyengine.errors import EvaluationError

from .rete_support import build_version
from .support import mini_facts

APPLICANTS = [mini_facts(), mini_facts(district="和平区"), mini_facts(honest=...), mini_facts(spend="90万"),
              mini_facts(level="省级", staff="40", share="90%")]


@pytest.mark.parametrize("facts", APPLICANTS)
def test_the_record_does_not_depend_on_what_was_read_first(mini: Package, facts: dict[str, object]) -> None:
    untouched = evaluate(mini, facts, backend="interpreter").audit_record()
    read = evaluate(mini, facts, backend="interpreter")
    reasons = {c.clause: c.reason for c in read.package("mini").clauses}   # reasons before anything else
    digest, shown = read.facts_hash, read.facts
    assert read.audit_record() == untouched   # the same text: the same fields in the same order
    record = json.loads(untouched)
    assert {c["clause"]: c["reason"] for c in record["packages"][0]["clauses"]} == reasons
    assert (record["facts_hash"], record["facts"]) == (digest, shown)
    assert list(record) == ["format", "facts", "facts_hash", "application_year", "packages", "total", "audit"]
    assert [list(c)[:9] for c in record["packages"][0]["clauses"]] == [
        ["clause", "article", "title", "status", "amount", "computed", "reason", "unknown_facts", "settlement"]] * 4
    # copied (deeply, or through pickle) before anything is read: the same record
    assert copy.deepcopy(evaluate(mini, facts, backend="interpreter")).audit_record() == untouched
    assert pickle.loads(pickle.dumps(evaluate(mini, facts, backend="interpreter"))).audit_record() == untouched


def test_a_general_condition_false_gives_every_clause_its_reason(mini: Package) -> None:
    decision = evaluate(mini, mini_facts(district="和平区"), backend="interpreter")
    clauses = decision.package("mini").clauses
    assert {c.status for c in clauses} == {"ineligible"}
    assert len({c.reason for c in clauses}) == 1 and "和平区" in clauses[0].reason
    # the conditions after the false one are in the trace all the same
    assert [t.result for t in clauses[2].conditions] == ["false", "true", "true"]


def test_a_condition_that_can_fail_is_computed_after_a_false_one(tmp_path: Path) -> None:
    facts = [{"name": "a", "type": "money", "blank": "zero"}, {"name": "b", "type": "money", "blank": "zero"}]
    version = build_version(tmp_path, [{"id": "c1", "conditions": ["a > 100", "a / b > 2"]},
                                       {"id": "c2", "conditions": ["a > 100", "a / 2 > b"]}], facts)
    with pytest.raises(EvaluationError, match="division by zero"):
        evaluate(version, {"application_year": "2021", "a": "5", "b": "0"}, backend="interpreter")
    safe = build_version(tmp_path, [{"id": "c2", "conditions": ["a > 100", "a / 2 > b"]}], facts)
    decision = evaluate(safe, {"application_year": "2021", "a": "5", "b": "0"}, backend="interpreter")
    only = decision.packages[0].clauses[0]
    assert only.status == "ineligible" and [t.result for t in only.conditions] == ["false", "true"]
