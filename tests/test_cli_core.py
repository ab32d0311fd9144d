from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli import main
from policyengine.cli.common import POLARS_ALLOCATOR

from .support import FIXTURES, ROOT, VALID_USCC


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_schema_prints_json_schema() -> None:
    code, out, _ = run("schema")
    assert code == 0
    assert "clauses" in json.loads(out)["properties"]


def test_lint_clean_package() -> None:
    code, out, _ = run("lint", str(FIXTURES / "mini"))
    assert code == 0 and "mini@1.0: ok (4 clauses" in out


def test_lint_broken_file_is_one_line_per_error_no_traceback(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "mini", tmp_path / "mini")
    policy = tmp_path / "mini" / "1.0" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("staff >= 1", "stafff >= 1"), encoding="utf-8")
    # a real process, so that an uncaught exception would print a traceback
    proc = subprocess.run([sys.executable, "-m", "policyengine", "lint", str(tmp_path / "mini")],
                          capture_output=True, text=True, encoding="utf-8", check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "policy.yaml:" in lines[0] and "unknown name 'stafff'" in lines[0] and "did you mean staff" in lines[0]


def test_evaluate_command(tmp_path: Path) -> None:
    facts = tmp_path / "applicant.yaml"
    text = f"统一社会信用代码: {VALID_USCC}\n申报年度: 2021\n所在区: 皇姑区\n诚信: 是\n级别: 省级\n认定年份: 2020\n"
    facts.write_text(text, encoding="utf-8")
    code, out, _ = run("evaluate", str(facts), "--package", str(FIXTURES / "mini"))
    assert code == 0
    assert "c01" in out and "300000" in out and out.strip().endswith("total 300000")
    code, out, _ = run("evaluate", str(facts), "--package", str(FIXTURES / "mini"), "--json")
    assert json.loads(out)["total"] == 300000


def test_evaluate_malformed_cell_is_one_line(tmp_path: Path) -> None:
    facts = tmp_path / "applicant.json"
    facts.write_text(json.dumps({"uscc": VALID_USCC, "申报年度": "2021", "研发费用": "12.x万"}, ensure_ascii=False),
                     encoding="utf-8")
    code, _, err = run("evaluate", str(facts), "--package", str(FIXTURES / "mini"))
    assert code == 2
    assert err.strip() == "error: spend (研发费用): cannot read '12.x万' as money (write 1234567, 1,234,567.00, " \
                          "123.4567万 or 85万元) (value '12.x万')"


def test_evaluate_uses_bundled_packages_by_default(tmp_path: Path) -> None:
    facts = tmp_path / "a.yaml"
    facts.write_text(f"uscc: {VALID_USCC}\napplication_year: 2021\nregistered_city: 沈阳市\nserious_dishonesty: 否\n"
                     "hightech_status: 重新认定\nhightech_cert_year: 2020\n", encoding="utf-8")
    code, out, _ = run("evaluate", str(facts))
    assert code == 0 and "municipal@2019" in out and "huangzuan16@3.0" in out
    assert (ROOT / "rules" / "municipal").is_dir()


def test_evaluate_backend_option(tmp_path: Path) -> None:
    facts = tmp_path / "a.yaml"
    facts.write_text(f"uscc: {VALID_USCC}\napplication_year: 2021\nregistered_city: 沈阳市\nserious_dishonesty: 否\n"
                     "hightech_status: 首次认定\nhightech_cert_year: 2020\n", encoding="utf-8")
    code, out, _ = run("evaluate", str(facts), "--package", str(ROOT / "rules" / "municipal"), "--backend",
                       "interpreter", "--json")
    assert code == 0
    decision = json.loads(out)
    assert decision["audit"]["backend"] == "interpreter" and decision["total"] == 200000
    code, _, err = run("evaluate", str(facts), "--backend", "bogus")
    assert code == 2 and "bogus" in err


@pytest.mark.parametrize("given, polars_first", [(None, False), ("dirty_decay_ms:0", False), (None, True)])
def test_the_command_line_tunes_polars_allocator_before_it_loads(given: str | None, polars_first: bool) -> None:
    # before polars loads, the command line's own setting (polars sets its own 0.5 s, ahead of it, when it loads);
    # a setting of the user's is kept, and once polars is loaded nothing is changed (it would be too late)
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if given is not None:
        env["_RJEM_MALLOC_CONF"] = given
    code = ("import os, sys\n" + ("import polars\n" if polars_first else "")
            + "before = os.environ.get('_RJEM_MALLOC_CONF')\n"
            + "from policyengine.cli.common import _tune_allocator\n_tune_allocator()\nimport polars\n"
            + "print(before, os.environ.get('_RJEM_MALLOC_CONF'), sep='|')")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    before, after = done.stdout.strip().split("|")
    if polars_first:
        assert after == before != "None" and after != POLARS_ALLOCATOR
    else:
        # polars puts its own defaults first: jemalloc reads the options in order, the last of each wins
        assert before == str(given) and after.endswith(given or POLARS_ALLOCATOR)
