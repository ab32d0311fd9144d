"""The lowered program, the one fold and version choice: each consumer reads the same plans."""

from __future__ import annotations

import inspect
import json
from typing import get_args

import pytest

from policyengine import Package, PolicyEngineError, evaluate
from policyengine.decide import versions
from policyengine.engines import interpreter
from policyengine.ir import program
from policyengine.ir.lower import reason_template
from policyengine.ir.program import GroupPlan, Slot, render
from policyengine.lang import ast as A
from policyengine.lang import fold as F
from policyengine.lang import printer, traverse, types
from policyengine.lang.parser import parse

from .support import mini_facts

PROTOCOL_METHODS = {name for name, _ in inspect.getmembers(F.ExprFold, inspect.isfunction) if not name.startswith("_")}


def test_the_protocol_has_one_method_per_node_kind() -> None:
    assert len(PROTOCOL_METHODS) == len(A.NODE_KINDS) == len(get_args(A.Expr))
    # fold dispatches every kind to the method of that kind: a recording fold sees each kind once
    seen: list[str] = []

    class Record:
        def __getattr__(self, name: str) -> object:
            return lambda e: seen.append(f"{name}:{type(e).__name__}")

    samples = [A.Num(1), A.Money(1), A.Percent(1), A.Str("x"), A.Bool(True), A.Name("n"), A.Attr("a", "b"),
               A.Lookup("T", A.Name("k")), A.Neg(A.Num(1)), A.Not(A.Bool(True)), A.Arith("+", A.Num(1), A.Num(2)),
               A.Compare("<", A.Num(1), A.Num(2)), A.BoolOp("and", (A.Bool(True), A.Bool(False))),
               A.In(A.Name("n"), (A.Str("x"),)), A.Call("min", (A.Num(1),)),
               A.IfElse(A.Bool(True), A.Num(1), A.Num(2))]
    assert {type(s) for s in samples} == set(A.NODE_KINDS)
    for s in samples:
        F.fold(s, Record())  # type: ignore[arg-type]
    methods = {entry.split(":")[0] for entry in seen}
    assert methods == PROTOCOL_METHODS
    assert len(seen) == len(samples)


@pytest.mark.parametrize("consumer", [
    printer.SourcePrinter, printer._Precedence, traverse._Children, types._Checker, interpreter._Closures,
])
def test_every_consumer_implements_every_node_kind(consumer: type) -> None:
    missing = {m for m in PROTOCOL_METHODS if not callable(getattr(consumer, m, None))}
    assert not missing, f"{consumer.__name__} lacks {sorted(missing)}"


def test_definitions_are_lowered_in_dependency_order(mini: Package) -> None:
    for v in mini.versions:
        p = program(v)
        assert p is program(v)  # built once per version
        for d in p.definitions:
            assert p.definition_index[d.name] == d.index
            for ref in traverse.names(d.expr):
                if ref in p.definition_index:
                    assert p.definition_index[ref] < d.index, f"{d.name} reads {ref}, lowered after it"


def test_bundled_programs_plan_every_clause_and_settlement(huangzuan16: Package) -> None:
    v = huangzuan16.version("3.0")
    p = program(v)
    assert [c.id for c in p.clauses] == [c.id for c in v.clauses]
    a05 = p.clause("a05")
    assert a05.amount_reads == ("rd_expense", "rd_expense_prev")
    assert a05.cap == 500_000 and a05.amount_type == types.MONEY
    # E is a definition: its deciding parts are the conjunction's operands, each with its own reason
    general = a05.conditions[0]
    assert general.listed and general.template is None
    assert [printer.to_text(x) for x, _ in general.deciding.operands] == [
        'registered_district == "皇姑区"', 'tax_district == "皇姑区"', "serious_dishonesty == false"]
    assert p.settlement.applicant_cap == 5_000_000
    assert p.settlement.cut_order[0] == max(v.clauses, key=lambda c: c.article).id
    (ht,) = p.settlement.groups
    assert ht.members == ("a01", "a02", "a03")


def test_group_tie_goes_to_the_first_member_in_article_order() -> None:
    g = GroupPlan("G", "", ("a01", "a02", "a03"))
    assert g.winner({"a02": 5, "a03": 5}) == "a02"
    assert g.winner({"a01": 1, "a03": 5}) == "a03"


def test_reason_templates_are_parsed_once_into_pieces() -> None:
    pieces = reason_template("证书年份{year}已过期，{unknown}不替换", {"year": None})
    assert pieces == ("证书年份", Slot("year"), "已过期，{unknown}不替换")
    assert render(pieces, lambda n: "2017") == "证书年份2017已过期，{unknown}不替换"


def test_version_choice_is_one_rule(huangzuan16: Package) -> None:
    assert versions.choose(huangzuan16, 2021, None).version == "3.0"  # type: ignore[union-attr]
    assert versions.choose(huangzuan16, 2021, "2.0").version == "2.0"  # type: ignore[union-attr]
    assert versions.choose(huangzuan16, None, None) == versions.UNKNOWN_YEAR
    assert versions.choose(huangzuan16, 1990, None) == versions.no_version_reason(huangzuan16, 1990)
    with pytest.raises(PolicyEngineError, match="no version '9.9'"):
        versions.choose(huangzuan16, 2021, {"huangzuan16": "9.9"})


def test_deferred_trace_is_the_same_whether_read_first_or_serialised_first(mini: Package) -> None:
    facts = mini_facts(spend="120万")
    serialised_first = evaluate(mini, facts, backend="interpreter").model_dump_json()
    d = evaluate(mini, facts, backend="interpreter")
    c = d.package("mini").clauses[0]
    assert c.conditions and c.conditions[0].condition  # read first: built on access
    assert d.model_dump_json() == serialised_first
    assert json.loads(serialised_first)["packages"][0]["clauses"][0]["conditions"]
    facts_first = evaluate(mini, facts, backend="interpreter")   # the facts read first: traces still built later
    assert facts_first.facts_hash.startswith("sha256:") and facts_first.facts["uscc"] == facts["uscc"]
    assert facts_first.model_dump_json() == serialised_first


def test_parse_gives_only_nodes_of_the_language() -> None:
    assert isinstance(parse("a + 1 > 2"), A.NODE_KINDS)
