"""`policyengine test`: the packages' own cases, pytest-like, with expected vs actual and the trace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from policyengine import load_package

from .drafting_support import clause, copy_version, run
from .support import ROOT


def test_bundled_cases_pass_with_a_count_line() -> None:
    result = run("test", str(ROOT / "rules" / "huangzuan16"), str(ROOT / "rules" / "municipal"))
    assert result.exit_code == 0, result.output
    n = sum(len(v.tests) for p in ("huangzuan16", "municipal") for v in load_package(ROOT / "rules" / p).versions)
    assert n > 0
    assert result.output.strip().splitlines()[-1] == f"{n} passed, 0 failed"
    assert "FAILED" not in result.output


def test_one_version_and_a_name_filter() -> None:
    version = load_package(ROOT / "rules" / "huangzuan16@3.0").versions[0]
    wanted = [c.name for c in version.tests if "a05" in c.name]
    result = run("test", str(ROOT / "rules" / "huangzuan16@3.0"), "-k", "a05", "-v")
    assert result.exit_code == 0
    assert [line[len("PASSED huangzuan16@3.0 :: "):] for line in result.output.splitlines()
            if line.startswith("PASSED")] == wanted
    assert result.output.strip().endswith(f"{len(wanted)} passed, 0 failed")


def _edited(tmp: Path) -> Path:
    def lower_cap(d: dict[str, Any]) -> None:
        clause(d, "a14")["cap"] = "15万"

    return copy_version(tmp, edit=lower_cap, keep_tests=True, invariants=None)


def test_a_failing_case_shows_expected_actual_and_trace(tmp_path: Path) -> None:
    folder = _edited(tmp_path)
    tests = yaml.safe_load((folder / "tests.yaml").read_text(encoding="utf-8"))["tests"]
    capped = [t for t in tests if any(
        k == "a14" and isinstance(v, dict) and v.get("amount") == 200000 for k, v in t["expect"].items())]
    assert capped, "the bundled 3.0 cases no longer pin a14 at its cap of 200,000"
    result = run("test", str(folder))
    assert result.exit_code == 1
    out = result.output
    failed = re.findall(r"^FAILED huangzuan16@3.0 :: (.*)$", out, flags=re.M)
    assert set(failed) >= {t["name"] for t in capped}
    block = out[out.index(f"FAILED huangzuan16@3.0 :: {capped[0]['name']}"):]
    assert re.search(r"  at .*tests\.yaml:\d+", block)
    assert "第14条 a14 技术合同登记奖励:" in block
    assert "expected: eligible 符合, 200000" in block and "actual:   eligible 符合, 150000" in block
    assert "✓ 技术合同登记成交额 >= 100万" in block  # the conditions, with Chinese labels
    assert "amount 金额: 1% * 技术合同登记成交额 = 1% * " in block
    assert "capped at 150000 (clause cap)" in block
    passed = len(tests) - len(failed)
    assert out.strip().splitlines()[-1] == f"{passed} passed, {len(failed)} failed"


def test_the_line_of_a_failing_case_is_its_own(tmp_path: Path) -> None:
    folder = _edited(tmp_path)
    out = run("test", str(folder)).output
    m = re.search(r"^FAILED huangzuan16@3.0 :: (.*)\n  at (.*):(\d+)$", out, flags=re.M)
    assert m is not None
    name, file, line = m.group(1), m.group(2), int(m.group(3))
    lines = Path(file).read_text(encoding="utf-8").splitlines()
    assert name.split(" ")[0] in lines[line - 1]


def test_version_without_cases(tmp_path: Path) -> None:
    folder = copy_version(tmp_path, invariants=None)
    result = run("test", str(folder))
    assert result.exit_code == 0
    assert "no test cases" in result.output and result.output.strip().endswith("0 passed, 0 failed")


def test_a_broken_package_is_one_line_and_exit_2(tmp_path: Path) -> None:
    def typo(d: dict[str, Any]) -> None:
        clause(d, "a14")["conditions"].append("tech_contract_turnoverr > 0")

    result = run("test", str(copy_version(tmp_path, edit=typo, invariants=None)))
    assert result.exit_code == 2
    assert "did you mean tech_contract_turnover" in result.stderr
