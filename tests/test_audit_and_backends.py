"""Every audit record replays; the default backend decides what the interpreter decides; Rete survives fork."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policyengine import Decision, Package, evaluate, replay
from policyengine.batch import Job, run
from policyengine.model.bundled import load_bundled

from .support import ROOT, VALID_USCC

EXAMPLE_CSV = ROOT / "examples" / "applicants_2021.csv"
APPLICANT_2021: dict[str, object] = {
    "统一社会信用代码": VALID_USCC, "申报年度": "2021", "注册地所在区": "皇姑区", "税收户管地所在区": "皇姑区",
    "是否列入严重失信主体名单": "否", "上年度研发费用": "120万", "前年度研发费用": "80万",
}


def test_every_audit_record_of_the_example_replays(tmp_path: Path) -> None:
    """The example sheet carries 2.0 columns (发明专利授权数 …) that the 3.0 decision's record keeps."""
    audit = tmp_path / "a.jsonl"
    run(Job(EXAMPLE_CSV, tmp_path / "o.csv", load_bundled(), audit=audit))
    lines = audit.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 57
    packages = load_bundled()
    failed = [(i, r.differences) for i, r in ((i, replay(line, packages)) for i, line in enumerate(lines, 1))
              if not r.ok]
    assert failed == []
    # as a reader of the audit file would: the packages loaded from the folders each record names (0.2 s a
    # record, so a sample: the records holding a fact that only 2.0 reads)
    other = [line for line in lines if "invention_patents" in json.loads(line)["facts"]]
    assert len(other) >= 5
    for line in other[:5]:
        result = replay(line)
        assert result.ok, result.differences


def test_an_audit_line_names_only_its_own_rules_and_the_folder_of_rules_not_bundled(tmp_path: Path) -> None:
    import shutil

    from policyengine import load_package

    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    pkg = load_package(tmp_path / "rules" / "huangzuan16")
    audit = tmp_path / "a.jsonl"
    run(Job(EXAMPLE_CSV, tmp_path / "o.csv", [pkg], audit=audit))
    record = json.loads(audit.read_text(encoding="utf-8").splitlines()[0])
    version = pkg.version(record["outcome"]["huangzuan16"]["v"])
    assert record["format"] == "policyengine-audit/3"
    assert record["rules"] == {version.key: version.content_hash}     # not every version of the package
    assert record["sources"] == {version.key: str(version.source)}    # not bundled: its folder too
    assert "rules" not in record["run"]
    assert replay(json.dumps(record, ensure_ascii=False)).ok          # the rules found from the line alone
    # the format before (every version of the run with its folder, in `run`) still replays
    old = {**record, "format": "policyengine-audit/2",
           "run": {**record["run"], "rules": {v.key: {"content_hash": v.content_hash, "source": str(v.source)}
                                              for v in pkg.versions}}}
    del old["rules"], old["sources"]
    assert replay(old).ok
    old["run"]["rules"][version.key]["content_hash"] = "sha256:0"
    assert replay(old).differences[0] == f"{version.key}: rules changed since the record (content hash " \
        f"sha256:0 → {version.content_hash})"


def test_a_decision_with_facts_of_another_version_replays(huangzuan16: Package) -> None:
    decision = evaluate(huangzuan16, {**APPLICANT_2021, "发明专利授权数": "3"})
    assert decision.package("huangzuan16").version == "3.0"
    assert decision.facts["invention_patents"] == "3"
    result = replay(decision.audit_record())
    assert result.ok, result.differences


def test_the_default_backend_leaves_what_rete_cannot_hold_to_the_interpreter(huangzuan16: Package) -> None:
    pytest.importorskip("durable_rules_engine")
    from policyengine.engines.rete import ReteUnsupportedValue

    huge = {**APPLICANT_2021, "上年度研发费用": "500000000000000"}
    decision = evaluate(huangzuan16, huge)
    assert decision.audit.backend == "interpreter"
    assert decision.audit.firings == []
    assert decision.audit.fallback == [
        "huangzuan16@3.0: decided by the reference interpreter: rd_expense: 500000000000000 is beyond what the "
        "Rete backend holds exactly (±100000000000000 for a money)"]
    assert decision.outcome() == evaluate(huangzuan16, huge, backend="interpreter").outcome()
    assert decision.package("huangzuan16").clause("a05").amount == 500000
    record = decision.audit_record()
    assert json.loads(record)["audit"]["fallback"] == decision.audit.fallback
    assert replay(record).ok
    with pytest.raises(ReteUnsupportedValue, match="rd_expense"):   # asked for by name: Rete or an error
        evaluate(huangzuan16, huge, backend="rete")
    # within range: Rete decides, and the record has no fallback key (records read before the field existed)
    plain = evaluate(huangzuan16, APPLICANT_2021)
    assert plain.audit.backend == "rete" and [f.clause for f in plain.audit.firings] == ["a05"]
    assert "fallback" not in json.loads(plain.audit_record())["audit"]
    assert Decision.model_validate_json(plain.audit_record()) == plain


def test_the_default_backend_decides_a_version_rete_cannot_compile(tmp_path: Path) -> None:
    pytest.importorskip("durable_rules_engine")
    from .rete_support import build_version

    version = build_version(tmp_path, [{"id": "c1", "conditions": ["m1 * r > 1元"]}],
                            [{"name": "m1", "type": "money", "blank": "zero"},
                             {"name": "r", "type": "rate", "blank": "zero"}])
    facts = {"application_year": "2021", "m1": "100", "r": "50%"}
    decision = evaluate(version, facts)
    assert decision.audit.backend == "interpreter"
    assert len(decision.audit.fallback) == 1 and "product of two facts" in decision.audit.fallback[0]
    assert decision.packages[0].clause("c1").status == "eligible"
    assert decision.outcome() == evaluate(version, facts, backend="interpreter").outcome()


_FORK_SCRIPT = textwrap.dedent("""
    import multiprocessing, threading, time
    from policyengine import evaluate, load_package
    from policyengine.engines.rete.backend import prepare

    HZ = load_package("rules/huangzuan16")
    FACTS = {FACTS!r}

    def one(i):
        return evaluate(HZ, FACTS, backend="rete").total

    first = evaluate(HZ, FACTS, backend="rete").total
    engine = prepare(HZ.version("3.0")).engine
    real = engine._dre

    class Slow:  # the engine takes 5 ms per applicant, so a fork almost always finds the thread inside it
        def __getattr__(self, name):
            return getattr(real, name)

        def assert_fact(self, *args):
            time.sleep(0.005)
            return real.assert_fact(*args)

    engine._dre = Slow()
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            evaluate(HZ, FACTS, backend="rete")

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(0.05)
    for _ in range(3):
        with multiprocessing.get_context("fork").Pool(2) as pool:
            assert pool.map_async(one, range(6)).get(timeout=8) == [first] * 6
    stop.set()
    thread.join()
    print("ok", first)
""")


def test_a_fork_pool_beside_a_thread_inside_the_rete_engine() -> None:
    """A child forked while another thread holds the engine's lock would wait for it forever."""
    pytest.importorskip("durable_rules_engine")
    script = _FORK_SCRIPT.replace("{FACTS!r}", repr(APPLICANT_2021))
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = child.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)   # the child and its hung workers
        child.communicate()
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)   # workers a failed child left behind
    assert child.returncode == 0, err[-2000:]
    assert out.split()[0] == "ok"
