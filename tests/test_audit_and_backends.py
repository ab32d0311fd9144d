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
    (key,) = record["outcome"]
    version = pkg.version(key.partition("@")[2])
    assert record["format"] == "policyengine-audit/4"
    assert list(record) == ["format", "row", "facts", "facts_hash", "outcome", "total", "rules", "sources", "run"]
    assert record["rules"] == {version.key: version.content_hash}     # not every version of the package
    assert record["sources"] == {version.key: str(version.source)}    # not bundled: its folder too
    assert "rules" not in record["run"]
    assert replay(json.dumps(record, ensure_ascii=False)).ok          # the rules found from the line alone
    record["rules"][version.key] = "sha256:0"
    assert replay(record).differences[0] == f"{version.key}: rules changed since the record (content hash " \
        f"sha256:0 → {version.content_hash})"


def _uscc(i: int) -> str:
    from policyengine.facts.uscc import check_character

    body = f"9121010500{i:07d}"
    return body + check_character(body)


def _municipal_with_a_2022(tmp_path: Path) -> Package:
    """The bundled municipal package and a 2022 version of it without m02 and with m03 first (article 1): its
    own clauses, in its own order, unlike 2019's."""
    import shutil

    from policyengine import load_package

    folder = tmp_path / "rules" / "municipal"
    shutil.copytree(ROOT / "rules" / "municipal", folder)
    shutil.copy(ROOT / "rules" / "facts.yaml", tmp_path / "rules" / "facts.yaml")
    (folder / "2022").mkdir()
    text = (folder / "2019" / "policy.yaml").read_text(encoding="utf-8")
    text = text.replace('version: "2019"', 'version: "2022"').replace("{from: 2019, to: 2021}", "{from: 2022}")
    text = text[:text.index("  - id: m02")] + text[text.index("  - id: m03"):]
    text = text.replace("article: 1", "article: 2").replace("article: 3", "article: 1")
    (folder / "2022" / "policy.yaml").write_text(text, encoding="utf-8")
    pkg = load_package(folder)
    assert [(v.version, [c.id for c in v.clauses]) for v in pkg.versions] == \
        [("2019", ["m01", "m02", "m03"]), ("2022", ["m03", "m01"])]
    return pkg


MUNICIPAL_ROWS = [   # 申报年度, 高新技术企业认定类型, 高新技术企业认定年份, 高新技术企业培育库入库年份
    ("2021", "重新认定", "2020", ""), ("2022", "无", "", "2021"), ("2018", "无", "", "2017"),
    ("2022", "首次认定", "2021", "")]


def _municipal_audit(tmp_path: Path, pkg: Package) -> tuple[list[str], list[dict[str, object]]]:
    """The audit lines of MUNICIPAL_ROWS scored under `pkg`, and each row's cells."""
    header = "统一社会信用代码,企业名称,申报年度,注册地所在市,是否列入严重失信主体名单,高新技术企业认定类型," \
             "高新技术企业认定年份,高新技术企业培育库入库年份"
    rows = [[_uscc(i), f"企业{i}", year, "沈阳市", "否", status, cert, pool]
            for i, (year, status, cert, pool) in enumerate(MUNICIPAL_ROWS)]
    src = tmp_path / "m.csv"
    src.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    audit = tmp_path / "m.jsonl"
    run(Job(src, tmp_path / "m.out.csv", [pkg], audit=audit))
    names = header.split(",")
    return audit.read_text(encoding="utf-8").splitlines(), [dict(zip(names, r, strict=True)) for r in rows]


def test_a_format4_line_keeps_each_version_s_own_clauses_and_replays_on_its_own(tmp_path: Path) -> None:
    from policyengine.batch.audit import read_outcome, write_outcome
    from policyengine.store.rows import outcome_of

    pkg = _municipal_with_a_2022(tmp_path)
    lines, cells = _municipal_audit(tmp_path, pkg)
    records = [json.loads(line) for line in lines]
    # per package the version decided under, its total, one letter per clause of that version in its order
    # (2022: m03, m01), and the amounts of the upper-case ones; no version: the package's total alone
    assert [r["outcome"] for r in records] == [
        {"municipal@2019": [100000, "iEi", 100000, 100000]}, {"municipal@2022": [100000, "Ei", 100000, 100000]},
        {"municipal": [0]}, {"municipal@2022": [200000, "iE", 200000, 200000]}]
    assert [r["total"] for r in records] == [100000, 100000, 0, 200000]
    assert all(r["format"] == "policyengine-audit/4" and "reasons" not in r for r in records)
    versions = {v.key: v for v in pkg.versions}
    for record, row in zip(records, cells, strict=True):
        own = evaluate(pkg, {k: v or None for k, v in row.items()}, backend="interpreter")
        assert record["outcome"] == write_outcome(outcome_of(own), versions)
        assert read_outcome(record["outcome"], versions) == outcome_of(own)
        assert record["facts_hash"] == own.facts_hash
    assert records[2]["rules"] == {} and records[1]["rules"] == {"municipal@2022": pkg.version("2022").content_hash}
    for line in lines:   # each line on its own: the rules from the folder it names (else the bundled package)
        result = replay(line)
        assert result.ok, result.differences
    assert replay(lines[1]).decision.package("municipal").clause("m03").amount == 100000  # type: ignore[union-attr]


def test_a_changed_format4_line_is_reported(tmp_path: Path) -> None:
    pkg = _municipal_with_a_2022(tmp_path)
    lines, _ = _municipal_audit(tmp_path, pkg)

    def changed(old: str, new: str, line: int = 1) -> list[str]:
        assert old in lines[line]
        return replay(lines[line].replace(old, new, 1), [pkg]).differences

    assert changed('[100000,"Ei",100000,100000]', '[100000,"Ei",100001,100000]') == [
        "row 3: municipal m03: stored eligible 100001 (computed 100000), replayed eligible 100000 (computed 100000)"]
    assert changed('"Ei"', '"Ex"') == [
        "row 3: municipal m01: stored excluded 0 (computed None), replayed ineligible 0 (computed None)"]
    assert changed('[100000,"Ei",100000,100000]', '[100001,"Ei",100000,100000]') == [
        "row 3: municipal total: stored 100001, replayed 100000"]
    assert changed('"Ei"', '"EI"') == ["outcome: cannot be read: municipal@2022 m01: its amounts are missing"]
    assert changed('"municipal@2022":', '"municipal@2019":', 1) == [
        "outcome: cannot be read: municipal@2019: not a positional outcome of 3 clauses"]
    assert changed('"municipal":[0]', '"municipal":[5]', 2) == ["row 4: municipal total: stored 5, replayed 0"]
    facts = changed('"cultivation_pool_year":"2021"', '"cultivation_pool_year":"2020"')
    assert facts[0].startswith("facts_hash: recorded sha256:") and facts[1:] == [
        "row 3: municipal m03: stored eligible 100000 (computed 100000), replayed ineligible 0 (computed None)",
        "row 3: municipal total: stored 100000, replayed 0", "row 3: total: stored 100000, replayed 0"]
    assert changed('"municipal@2022":', '"municipal@2030":') == ["municipal@2030: not given"]


FORMAT3_LINES = [   # written by format 3's code (commit 063006a), `score --package rules/municipal --audit`
    '{"format":"policyengine-audit/3","row":2,"facts":{"application_year":"2021","hightech_cert_year":"2020",'
    '"hightech_status":"重新认定","name":"沈阳甲科技有限公司","registered_city":"沈阳市","serious_dishonesty":"false",'
    '"uscc":"91350100M000100Y43"},"facts_hash":"sha256:0cc672128fa1b2432ade36a24ea3b8879c499ad2c650960726ec99929fa3'
    '497d","outcome":{"municipal":{"v":"2019","t":100000,"c":{"m01":["i",0,null],"m02":["e",100000,100000],"m03":'
    '["i",0,null]}}},"total":100000,"reasons":"","rules":{"municipal@2019":"sha256:50e648add3b5865f2ea09c6b0ac83dbc'
    'baaf505d2d0c11ecd2b6ca36b691ab68"},"run":{"version":null,"proration":[]}}',
    '{"format":"policyengine-audit/3","row":3,"facts":{"application_year":"2022","hightech_cert_year":"2021",'
    '"hightech_status":"重新认定","name":"沈阳甲科技有限公司","registered_city":"沈阳市","serious_dishonesty":"false",'
    '"uscc":"91350100M000100Y43"},"facts_hash":"sha256:2b8951f6187c3a6c334dd7d04dccd896631fcf18afed082d6df0c2f7cf62'
    '0a56","outcome":{"municipal":{"v":null,"t":0,"c":{}}},"total":0,"reasons":"municipal: no version of municipal '
    'covers application year 2022 (versions: 2019 (2019–2021))","rules":{},"run":{"version":null,"proration":[]}}']


def test_format3_and_format2_lines_still_replay() -> None:
    """(The bundled municipal 2019 these lines were decided under: a change to it is reported, as it should.)"""
    for line, total in zip(FORMAT3_LINES, [100000, 0], strict=True):
        result = replay(line)
        assert result.ok, result.differences
        assert result.decision is not None and result.decision.total == total
    tampered = FORMAT3_LINES[0].replace('"m02":["e",100000,100000]', '"m02":["e",100001,100000]')
    assert replay(tampered).differences == [
        "row 2: municipal m02: stored eligible 100001 (computed 100000), replayed eligible 100000 (computed 100000)"]
    # format 2: every version of the run with its content hash and folder, in `run`
    pkg = next(p for p in load_bundled() if p.id == "municipal")
    old = json.loads(FORMAT3_LINES[0])
    old = {**old, "format": "policyengine-audit/2",
           "run": {**old["run"], "rules": {v.key: {"content_hash": v.content_hash, "source": str(v.source)}
                                           for v in pkg.versions}}}
    del old["rules"]
    assert replay(old).ok
    old["run"]["rules"]["municipal@2019"]["content_hash"] = "sha256:0"
    assert replay(old).differences[0] == "municipal@2019: rules changed since the record (content hash " \
        f"sha256:0 → {pkg.version('2019').content_hash})"


def test_a_decision_with_facts_of_another_version_replays(huangzuan16: Package) -> None:
    decision = evaluate(huangzuan16, {**APPLICANT_2021, "发明专利授权数": "3"})
    assert decision.package("huangzuan16").version == "3.0"
    assert decision.facts["invention_patents"] == "3"
    result = replay(decision.audit_record())
    assert result.ok, result.differences


def test_the_replay_command_replays_an_audit_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from policyengine.cli import main

    pkg = _municipal_with_a_2022(tmp_path)
    lines, _ = _municipal_audit(tmp_path, pkg)
    audit = tmp_path / "m.jsonl"
    done = CliRunner().invoke(main, ["replay", str(audit)])   # the rules from the folder each line names
    assert done.exit_code == 0, done.output
    assert done.output == "4 条记录复核一致 4 records replayed, each gives its recorded outcome\n"
    old = tmp_path / "old.jsonl"   # format 3 (its 2022 row: under the package given, 2022 now applies), a change
    old.write_text("\n".join([*FORMAT3_LINES, lines[0].replace('"iEi",100000,', '"iEi",90000,')]) + "\n",
                   encoding="utf-8")
    done = CliRunner().invoke(main, ["replay", str(old), "--package", str(tmp_path / "rules" / "municipal")])
    assert done.exit_code == 1
    assert done.output.splitlines() == [
        "old.jsonl line 2: row 3: municipal version: stored None, replayed 2022",
        "old.jsonl line 3: row 2: municipal m02: stored eligible 90000 (computed 100000), replayed eligible 100000 "
        "(computed 100000)",
        "3 条记录中 2 条复核不一致 2 of 3 records differ from their replay"]


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
