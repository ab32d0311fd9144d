"""One regression test per durable_rules 2.0.28 hazard (DESIGN.md, "One meaning, three evaluators").

Each test fails if its fence is removed; the docstring names the hazard and the fence.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("durable_rules_engine")

from policyengine import InternalConsistencyError, Package, PolicyVersion, evaluate
from policyengine.decide.evaluate import fact_index
from policyengine.engines.interpreter import evaluate_clauses
from policyengine.engines.rete import (
    ReteCompileError,
    ReteEngineError,
    ReteUnsupportedValue,
    compile_version,
    driver,
    prepare,
)
from policyengine.engines.rete.encode import encode_facts
from policyengine.engines.rete.fields import FACT_ID, SID, TAG_FIELD, TAG_VALUE, fnv1a32
from policyengine.errors import FactError
from policyengine.facts.applicant import Facts, read_facts
from policyengine.facts.values import UNKNOWN

from .rete_support import Spy, both, build_version, status
from .support import ROOT, VALID_USCC

BASE: dict[str, object] = {
    "uscc": VALID_USCC, "application_year": "2021", "registered_district": "皇姑区", "tax_district": "皇姑区",
    "serious_dishonesty": "否", "hightech_status": "首次认定", "hightech_cert_year": "2020", "tech_sme_year": "2020",
    "rd_expense": "120万", "rd_expense_prev": "80万",
}
INELIGIBLE: dict[str, object] = {**BASE, "tax_district": "和平区"}


@pytest.fixture(scope="module")
def hz30(huangzuan16: Package) -> PolicyVersion:
    return huangzuan16.version("3.0")


def _typed(version: PolicyVersion, raw: dict[str, object]) -> Facts:
    return read_facts(fact_index([Package(version.package_id, (version,), version.source)]), raw)


def _fired(version: PolicyVersion, raw: dict[str, object]) -> Counter[str]:
    prepared = prepare(version)
    return prepared.engine.fire(encode_facts(prepared.compiled, version, _typed(version, raw)))


def _eligible(version: PolicyVersion, raw: dict[str, object]) -> set[str]:
    return {r.clause for r in evaluate_clauses(version, _typed(version, raw)) if r.status == "eligible"}


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    """Route every engine call of rulesets created from here on through a recording proxy."""
    s = Spy(driver.engine())
    monkeypatch.setattr(driver, "_engine", s)
    return s


def test_no_threads_are_started(tmp_path: Path) -> None:
    """Hazard: durable's Host starts timer threads that race with delete_state. Fence: no Host, the C
    extension is driven synchronously from the caller's thread."""
    before = {t.ident for t in threading.enumerate()}
    version = build_version(tmp_path, [{"id": "c1", "conditions": ["n >= 1"]}],
                            [{"name": "n", "type": "integer", "blank": "zero"}])
    for n in ("0", "1", "2"):
        both(version, {"application_year": "2021", "n": n})
    assert {t.ident for t in threading.enumerate()} == before


def test_applicants_never_share_a_state(spy: Spy, tmp_path: Path) -> None:
    """Hazard: sids and fact ids are identified by a 32-bit hash, so two applicants' ids can collide and
    share a state. Fence: one fixed sid and fact id for everyone, the fact retracted after each applicant."""
    a, b = "企业461849", "企业1130654"            # distinct names, one FNV-1a-32 hash
    assert a != b and fnv1a32(a) == fnv1a32(b)
    version = build_version(tmp_path, [{"id": "c1", "conditions": ["rd >= 1万"]}],
                            [{"name": "name", "type": "text", "blank": "unknown"},
                             {"name": "rd", "type": "money", "blank": "unknown"}])
    engine = prepare(version).engine
    for _ in range(10):
        rete_a, _ = both(version, {"application_year": "2021", "name": a, "rd": "2万"})
        assert engine.live_facts() == []
        rete_b, _ = both(version, {"application_year": "2021", "name": b, "rd": "0"})
        assert engine.live_facts() == []
        assert status(rete_a, "c1") == "eligible" and status(rete_b, "c1") == "ineligible"
    asserted = [json.loads(args[1]) for name, args in spy.calls if name == "assert_fact"]
    assert len(asserted) == 20
    assert {(m["sid"], m["id"]) for m in asserted} == {(SID, FACT_ID)}
    assert "retract_fact" in spy.names()


def test_a_leftover_fact_is_detected(hz30: PolicyVersion) -> None:
    """Hazard: a fact left in the engine would make the next applicant 'already observed' and match
    nothing. Fence: that answer is an internal error; the fact is retracted in `finally` anyway."""
    prepared = prepare(hz30)
    engine = prepared.engine
    stale = json.loads(encode_facts(prepared.compiled, hz30, _typed(hz30, BASE)))
    driver.engine().assert_fact(engine._handle, json.dumps(stale, ensure_ascii=False))
    assert engine.live_facts() != []
    with pytest.raises(ReteEngineError, match="earlier applicant"):
        evaluate(hz30, BASE, version="3.0", backend="rete")
    assert engine.live_facts() == []
    assert _fired(hz30, BASE).keys() == _eligible(hz30, BASE)


def test_more_applicants_than_the_engine_has_sessions(spy: Spy, tmp_path: Path) -> None:
    """Hazard: at most 1,024 live sids per ruleset. Fence: one sid for every applicant, cleaned by retraction."""
    version = build_version(tmp_path, [{"id": "c1", "conditions": ["n >= 5"]}],
                            [{"name": "n", "type": "integer", "blank": "zero"}])
    prepared = prepare(version)
    for i in range(1100):
        raw = {"application_year": "2021", "n": str(i % 10)}
        fired = prepared.engine.fire(encode_facts(prepared.compiled, version, _typed(version, raw)))
        assert set(fired) == ({"c1"} if i % 10 >= 5 else set())
    assert {json.loads(args[1])["sid"] for name, args in spy.calls if name == "assert_fact"} == {SID}


def test_rulesets_are_created_once_and_never_deleted(spy: Spy, tmp_path: Path) -> None:
    """Hazard: delete_state followed by create_ruleset can corrupt the heap. Fence: one ruleset per
    package version per process, created on first use and kept; no state is ever deleted."""
    version = build_version(tmp_path, [{"id": "c1", "conditions": ["n >= 1"]}],
                            [{"name": "n", "type": "integer", "blank": "zero"}])
    assert prepare(version) is prepare(version)
    for n in range(5):
        both(version, {"application_year": "2021", "n": str(n)})
    names = spy.names()
    assert names.count("create_ruleset") == 1
    assert not {"delete_state", "delete_ruleset"} & set(names)


_RECOVERY_SCRIPT = r"""
import json, sys, tempfile
from pathlib import Path
from policyengine import evaluate
from policyengine.engines.rete import ReteEngineError, prepare
from tests.rete_support import Spy, build_version

version = build_version(Path(tempfile.mkdtemp()), [{"id": f"c{i}", "conditions": [f"n >= {i}"]} for i in range(4)],
                        [{"name": "n", "type": "integer", "blank": "zero"}])
facts = {"application_year": "2021", "n": "3"}
out = {}
engine = prepare(version).engine
real = engine._dre

def boom(*args):
    raise RuntimeError("injected failure while draining the action queue")

# 1. a failure in the middle of the action queue
spy = Spy(real)
spy.fail["complete_and_start_action"] = boom
engine._dre = spy
try:
    evaluate(version, facts, backend="rete")
    out["raised"] = None
except RuntimeError as exc:
    out["raised"] = str(exc)
out["calls"] = spy.names()
engine._dre = real
out["live"] = engine.live_facts()
out["next"] = [[c.clause, c.status] for c in evaluate(version, facts, backend="rete").packages[0].clauses]

# 2. the recovery fails as well: the ruleset is never used again, a new one takes over
class Worse(Spy):
    starts = 0
    def __getattr__(self, name):
        if name == "start_action_for_state":
            def start(*args):
                self.starts += 1
                if self.starts == 2:
                    raise RuntimeError("injected failure during recovery")
                return real.start_action_for_state(*args)
            return start
        return super().__getattr__(name)

worse = Worse(real)
worse.fail["complete_and_start_action"] = boom
engine._dre = worse
try:
    evaluate(version, facts, backend="rete")
except ReteEngineError as exc:
    out["poisoned"] = str(exc)
out["replaced"] = prepare(version).engine is not engine
out["after"] = [[c.clause, c.status] for c in evaluate(version, facts, backend="rete").packages[0].clauses]
print(json.dumps(out, ensure_ascii=False))
"""


def test_an_exception_inside_the_engine_loop_surfaces() -> None:
    """Hazard: durable swallows exceptions raised in actions; an action left leased keeps later matches
    from being delivered, and an abandoned one, once its fact is retracted, makes the next completion
    segfault (measured). Fence: no Python actions; an error while draining is raised after the queue is
    emptied (abandon, then take and complete every queued action); if that fails too, the ruleset is never
    used again. Runs in a child process, so that a regression shows as a failed test, not a crashed run."""
    child = subprocess.run([sys.executable, "-c", _RECOVERY_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 0, f"child exited {child.returncode}: {child.stderr[-2000:]}"
    out = json.loads(child.stdout)
    assert out["raised"] == "injected failure while draining the action queue"
    assert "abandon_action" in out["calls"] and out["calls"].count("start_action_for_state") == 2
    assert out["live"] == []
    expected = [["c0", "eligible"], ["c1", "eligible"], ["c2", "eligible"], ["c3", "eligible"]]
    assert out["next"] == expected
    assert "recovery after" in out["poisoned"] and out["replaced"] is True
    assert out["after"] == expected


def test_an_engine_error_surfaces(tmp_path: Path) -> None:
    """Hazard: an engine error code must not read as 'nothing matched'. Fence: the driver raises it."""
    rules = {f"r{i}": {"all": [{"m": {"$and": [{"$eq": {TAG_FIELD: TAG_VALUE}}, {"$gte": {"v_n": i}}]}}]}
             for i in range(70)}                   # 70 matching siblings overflow the engine's 64-entry stack
    engine = driver.EngineRuleset("stack-overflow-check", rules)
    message = json.dumps({"sid": SID, "id": FACT_ID, TAG_FIELD: TAG_VALUE, "v_n": 100})
    with pytest.raises(ReteEngineError, match="303"):
        engine.fire(message)
    assert engine.live_facts() == []


def test_the_match_stack_limit_is_checked_when_compiling(tmp_path: Path) -> None:
    """Fence for the same limit: a ruleset whose facts could overflow the stack is refused at compile time."""
    clauses = [{"id": f"c{i}", "conditions": [f"n >= {i}"]} for i in range(70)]
    version = build_version(tmp_path, clauses, [{"name": "n", "type": "integer", "blank": "zero"}])
    with pytest.raises(ReteCompileError, match="match stack"):
        compile_version(version)


@pytest.mark.parametrize(("fact", "value"), [
    ("rd_expense", "600000"),          # a numeric string: the engine would compare it as text
    ("rd_expense", 600000.0),          # a float
    ("rd_expense", True),              # a bool is not a number
    ("rd_expense", None),              # 'did not happen' is not a value of a money fact
    ("rd_expense", Fraction(1, 1000)),  # finer than a fen
    ("serious_dishonesty", "false"),   # the engine reads "false" == false == 0
    ("serious_dishonesty", 0),
    ("hightech_status", "首次"),        # not a value of the enum
    ("hightech_cert_year", "2020"),
    ("registered_district", 1),
])
def test_facts_are_type_checked_before_the_engine(hz30: PolicyVersion, fact: str, value: object) -> None:
    """Hazard: strings and numbers compare lexicographically, `1 == true == "true"`. Fence: every value is
    checked against its fact's type before anything is asserted."""
    prepared = prepare(hz30)
    spy = Spy(prepared.engine._dre)
    prepared.engine._dre = spy
    try:
        facts = Facts({**_typed(hz30, BASE).values, fact: value})
        with pytest.raises(FactError, match=fact):
            evaluate(hz30, facts, version="3.0", backend="rete")
    finally:
        prepared.engine._dre = spy.real
    assert "assert_fact" not in spy.names()


def test_numbers_reach_the_engine_as_exact_integers(hz30: PolicyVersion) -> None:
    """Fence detail: money in fen, years as ints, booleans as booleans, text as text."""
    prepared = prepare(hz30)
    message = json.loads(encode_facts(prepared.compiled, hz30, _typed(hz30, {**BASE, "rd_expense": "12.34"})))
    assert message["v_rd_expense"] == 1234 and type(message["v_rd_expense"]) is int
    assert message["v_application_year"] == 2021 and message["v_serious_dishonesty"] is False
    assert message["v_registered_district"] == "皇姑区"
    assert "v_rd_expense" not in json.loads(encode_facts(prepared.compiled, hz30, _typed(hz30, {
        **BASE, "rd_expense": ""})))   # unknown: absent


def test_a_missing_field_is_undetermined_not_fired(hz30: PolicyVersion) -> None:
    """Hazard: a `$m` reference to a missing field evaluates to garbage and fires the rule (a05 compares
    rd_expense with rd_expense_prev). Fence: `$ex` guards on every field of such a comparison."""
    for rd in ("0", "1", "60万", "120万", "1000000万"):
        raw = {**BASE, "rd_expense": rd, "rd_expense_prev": ""}
        rete, _ = both(hz30, raw)
        assert status(rete, "a05") in ("undetermined", "ineligible")
        assert "a05" not in _fired(hz30, raw)
    rete, _ = both(hz30, {k: v for k, v in BASE.items() if k != "tax_district"})
    assert status(rete, "a01") == "undetermined" and status(rete, "a05") == "undetermined"


def test_not_equal_and_order_on_none_match_the_interpreter(tmp_path: Path) -> None:
    """Hazard: in the engine a missing field makes every comparison false, `$neq` too; for the interpreter
    `none != x` is true, `none >= x` false and `none == none` true. Fence: none is a flag field of its own
    and each comparison is compiled for every combination of unknown, none and value."""
    facts = [{"name": "y", "type": "year", "blank": "none"}, {"name": "z", "type": "year", "blank": "none"}]
    version = build_version(tmp_path, [
        {"id": "ne", "conditions": ["y != 2019"]},
        {"id": "ge", "conditions": ["y >= 2019"]},
        {"id": "lt", "conditions": ["y < 2019"]},
        {"id": "not_ge", "conditions": ["not (y >= 2019)"]},
        {"id": "eq_nn", "conditions": ["y == z"]},
        {"id": "ne_nn", "conditions": ["y != z"]},
        {"id": "not_in", "conditions": ["y not in [2019, 2020]"]},
    ], facts)
    expect = {
        "none": {"ne": "eligible", "ge": "ineligible", "lt": "ineligible", "not_ge": "eligible",
                 "eq_nn": "eligible", "ne_nn": "ineligible", "not_in": "eligible"},
        "2019": {"ne": "ineligible", "ge": "eligible", "lt": "ineligible", "not_ge": "ineligible",
                 "eq_nn": "ineligible", "ne_nn": "eligible", "not_in": "ineligible"},
    }
    for y, statuses in expect.items():
        raw = {"application_year": "2021", "y": "" if y == "none" else y, "z": ""}
        rete, _ = both(version, raw)
        assert {c: status(rete, c) for c in statuses} == statuses
        assert {f.clause for f in rete.audit.firings} == {c for c, s in statuses.items() if s == "eligible"}
    rete, _ = both(version, Facts({"application_year": Fraction(2021), "y": UNKNOWN, "z": None}))
    assert {c.status for c in rete.packages[0].clauses} == {"undetermined"}


def test_chinese_strings_match(spy: Spy, tmp_path: Path) -> None:
    """Hazard: the engine compares raw JSON bytes, so 皇姑区 matches only if rule and fact were serialised
    alike. Fence: `ensure_ascii=False` on both sides."""
    version = build_version(tmp_path, [{"id": "c1", "conditions": ['d == "皇姑区"', 'k != "无"']}],
                            [{"name": "d", "type": "text", "blank": "unknown"},
                             {"name": "k", "type": "enum", "values": ["无", "市级"], "blank": "none",
                              "none_value": "无"}])
    rete, _ = both(version, {"application_year": "2021", "d": "皇姑区", "k": "市级"})
    assert status(rete, "c1") == "eligible"
    rete, _ = both(version, {"application_year": "2021", "d": "和平区", "k": "市级"})
    assert status(rete, "c1") == "ineligible"
    ruleset_text = next(args[1] for name, args in spy.calls if name == "create_ruleset")
    assert "皇姑区" in ruleset_text and "\\u" not in ruleset_text
    assert all("\\u" not in args[1] for name, args in spy.calls if name == "assert_fact")


def test_large_money_compares_exactly(hz30: PolicyVersion) -> None:
    """Hazard: values outside int64 saturate silently, doubles lose fen. Fence: money as integer fen within
    ±10^16, refused beyond."""
    for rd, prev, fires in [("100000000000000", "99999999999999.99", True), ("10000000000", "10000000000", False),
                            ("10000000000.01", "10000000000", True)]:
        raw = {**BASE, "rd_expense": rd, "rd_expense_prev": prev}
        rete, _ = both(hz30, raw)
        assert (status(rete, "a05") == "eligible") is fires
    huge = {**BASE, "rd_expense": "1180591620717411303424", "rd_expense_prev": "1"}
    with pytest.raises(FactError, match="rd_expense.*too large"):  # a cell is read only below 10^15 yuan
        evaluate(hz30, huge, version="3.0", backend="rete")
    typed = _typed(hz30, {**huge, "rd_expense": "1"})  # then a value no cell can give, typed directly
    with pytest.raises(ReteUnsupportedValue, match="rd_expense"):
        evaluate(hz30, Facts({**typed.values, "rd_expense": Fraction(1180591620717411303424)}), version="3.0",
                 backend="rete")


def test_field_name_hash_collisions_are_refused(tmp_path: Path) -> None:
    """Hazard: field names are identified by a 32-bit hash: a rule on one field fires for a fact that only
    has the other. Fence: the compiler refuses a version whose engine field names collide."""
    assert fnv1a32("v_fact42009") == fnv1a32("v_fact200092")
    facts = [{"name": "fact42009", "type": "integer", "blank": "zero"},
             {"name": "fact200092", "type": "integer", "blank": "zero"}]
    version = build_version(tmp_path, [{"id": "c1", "conditions": ["fact42009 >= 1"]},
                                       {"id": "c2", "conditions": ["fact200092 >= 1"]}], facts)
    with pytest.raises(ReteCompileError, match="v_fact42009.*v_fact200092"):
        compile_version(version)
    alone = build_version(tmp_path, [{"id": "c1", "conditions": ["fact42009 >= 1"]}], facts)
    assert compile_version(alone).fields.keys() == {"fact42009"}


def test_too_many_fields_are_refused(tmp_path: Path) -> None:
    """Hazard: the engine takes at most 254 properties per fact (error 302). Fence: the compiler counts the
    fields the rules read (a none-able fact takes two) and refuses beyond 251 (sid, id and tag are ours)."""
    facts = [{"name": f"y{i}", "type": "year", "blank": "none"} for i in range(126)]
    ok = build_version(tmp_path, [{"id": "c1", "conditions": [" and ".join(f"y{i} >= 2020" for i in range(125))]}],
                       facts)
    assert len(compile_version(ok).fields) == 125            # 250 engine fields
    too_many = build_version(tmp_path, [{"id": "c1", "conditions": [" and ".join(f"y{i} >= 2020"
                                                                             for i in range(126))]}], facts)
    with pytest.raises(ReteCompileError, match="at most 251"):
        compile_version(too_many)


def test_division_by_a_fact_is_refused(tmp_path: Path) -> None:
    """Hazard: an integer division by zero kills the process (SIGFPE). Fence: only division by a non-zero
    constant is compiled."""
    facts = [{"name": "a", "type": "money", "blank": "zero"}, {"name": "b", "type": "money", "blank": "zero"}]
    version = build_version(tmp_path, [{"id": "c1", "conditions": ["a / b > 2"]}], facts)
    with pytest.raises(ReteCompileError, match="c1.*division by a fact"):
        compile_version(version)
    halved = build_version(tmp_path, [{"id": "c1", "conditions": ["a / 3 > b"]}], facts)
    statuses = [status(both(halved, {"application_year": "2021", "a": a, "b": b})[0], "c1")
                for a, b in (("3", "0.99"), ("3", "1"), ("3.01", "1"))]
    assert statuses == ["eligible", "ineligible", "eligible"]


def test_every_rule_is_one_pattern_over_the_applicant(huangzuan16: Package, municipal: Package) -> None:
    """Hazard: joins mixing an equality reference with a second cross-fact comparison can segfault. Fence:
    each clause is one rule with one pattern; `$m` only names fields of that same fact."""
    def refs(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$m"] + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for package in (huangzuan16, municipal):
        for version in package.versions:
            compiled = compile_version(version)
            engine_fields = {f for fs in compiled.fields.values() for f in (fs.value_field, fs.none_field) if f}
            assert set(compiled.definition) == {c.id for c in version.clauses}
            for rule in compiled.definition.values():
                assert list(rule) == ["all"] and len(rule["all"]) == 1 and list(rule["all"][0]) == ["m"]
                assert all(isinstance(r, str) and r in engine_fields for r in refs(rule))


def test_a_rule_without_conditions_fires_once(tmp_path: Path) -> None:
    """Hazard: the engine keeps a state record per session that a rule of only `$nex` tests also matches.
    Fence: every rule path tests the applicant tag first."""
    version = build_version(tmp_path, [{"id": "always", "conditions": []},
                                       {"id": "c1", "conditions": ["n >= 1"]}],
                            [{"name": "n", "type": "integer", "blank": "zero"}])
    prepared = prepare(version)
    for n in ("0", "3"):
        fired = prepared.engine.fire(encode_facts(prepared.compiled, version, _typed(version, {
            "application_year": "2021", "n": n})))
        assert fired["always"] == 1
        both(version, {"application_year": "2021", "n": n})


def test_a_disagreement_is_an_error_never_a_decision(hz30: PolicyVersion, monkeypatch: pytest.MonkeyPatch) -> None:
    """`evaluate()` treats any difference between the engine and the interpreter as an internal error that
    names the clause and the facts."""
    engine = prepare(hz30).engine
    real_fire = engine.fire
    monkeypatch.setattr(engine, "fire", lambda message: real_fire(message) - Counter({"a05": 99}))
    with pytest.raises(InternalConsistencyError, match=r"a05 .*did not fire.*eligible.*rd_expense"):
        evaluate(hz30, BASE, version="3.0")
    monkeypatch.setattr(engine, "fire", lambda message: real_fire(message) + Counter({"a02": 1}))
    with pytest.raises(InternalConsistencyError, match=r"a02 .*fired.*ineligible"):
        evaluate(hz30, BASE, version="3.0")


def test_the_audit_says_which_backend_decided(hz30: PolicyVersion) -> None:
    d = evaluate(hz30, BASE, version="3.0")
    assert d.audit.backend == "rete"
    assert [f.clause for f in d.audit.firings] == sorted(_eligible(hz30, BASE))
    assert all("durable_rules ruleset" in f.detail for f in d.audit.firings)
    assert evaluate(hz30, BASE, version="3.0", backend="interpreter").audit.firings == []
    assert evaluate(hz30, INELIGIBLE, version="3.0").audit.firings == []
