from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from policyengine import Package, RuleError, RuleErrors, load_package
from policyengine.lang import ast as A
from policyengine.model.rulefile import rule_format_json_schema

from .support import FIXTURES

POLICY = FIXTURES / "mini" / "1.0" / "policy.yaml"


def broken(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the mini package with one textual edit; returns the version folder."""
    folder = tmp_path / "mini" / "1.0"
    shutil.copytree(FIXTURES / "mini", tmp_path / "mini")
    text = POLICY.read_text(encoding="utf-8")
    assert old in text, old
    (folder / "policy.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def load_error(folder: Path) -> str:
    with pytest.raises((RuleError, RuleErrors)) as info:
        load_package(folder)
    return str(info.value)


def line_of(folder: Path, needle: str) -> int:
    for i, line in enumerate((folder / "policy.yaml").read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_loads_the_fixture(mini: Package) -> None:
    v = mini.version("1.0")
    assert [c.id for c in v.clauses] == ["c01", "c02", "c03", "c04"]
    assert v.clause("c03").cap == 200000
    assert v.applicant_cap == 500000 and v.annual_fund == 1000000
    assert v.groups["G"].members == ("c01", "c02")
    assert v.content_hash.startswith("sha256:")
    assert isinstance(v.clause("c03").amount, A.Arith)


def test_unknown_fact_in_a_condition_names_file_line_and_suggests(tmp_path: Path) -> None:
    folder = broken(tmp_path, "spend > spend_prev, reason", "spend > spend_prv, reason")
    msg = load_error(folder)
    assert f"policy.yaml:{line_of(folder, 'spend_prv')}:" in msg
    assert "clauses[2].conditions[2].test" in msg
    assert "(did you mean spend_prev" in msg
    assert "\n" not in msg


def test_unknown_key_is_an_error_with_suggestion(tmp_path: Path) -> None:
    folder = broken(tmp_path, "    cap: 20万", "    capp: 20万")
    msg = load_error(folder)
    assert f":{line_of(folder, 'capp')}:" in msg
    assert "unknown key 'capp'" in msg and "did you mean cap" in msg


def test_type_error_is_a_load_error(tmp_path: Path) -> None:
    folder = broken(tmp_path, "amount: 40万", "amount: share >= 80%")
    msg = load_error(folder)
    assert "an amount must be money" in msg and "clauses[3].amount" in msg


def test_enum_literal_not_among_values(tmp_path: Path) -> None:
    folder = broken(tmp_path, 'level != "无"', 'level != "国家级"')
    assert "not one of" in load_error(folder)


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    folder = broken(tmp_path, "    cap: 20万", "    cap: 20万\n    cap: 30万")
    msg = load_error(folder)
    assert "duplicate key" in msg and f":{line_of(folder, 'cap: 30万')}:" in msg


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    folder = broken(tmp_path, "  annual_fund: 100万", "  annual_fund: [100万")
    assert re.search(r"policy\.yaml:\d+: YAML syntax", load_error(folder))


def test_python_tags_are_refused(tmp_path: Path) -> None:
    folder = broken(tmp_path, "  annual_fund: 100万", "  annual_fund: !!python/object/apply:os.system ['true']")
    assert "YAML" in load_error(folder)


def test_version_must_be_quoted_text(tmp_path: Path) -> None:
    folder = broken(tmp_path, 'version: "1.0"', "version: 1.0")
    assert "quoted text" in load_error(folder)


def test_version_must_match_folder(tmp_path: Path) -> None:
    folder = broken(tmp_path, 'version: "1.0"', 'version: "2.0"')
    assert "must match its folder name" in load_error(folder)


def test_unknown_group_member(tmp_path: Path) -> None:
    folder = broken(tmp_path, "members: [c01, c02]", "members: [c01, c20]")
    msg = load_error(folder)
    assert "group member 'c20' is not a clause" in msg and "(did you mean c0" in msg


def test_circular_definitions(tmp_path: Path) -> None:
    folder = broken(tmp_path, "  Y: application_year", "  Y: application_year + Z\n  Z: Y - 1")
    assert "circle" in load_error(folder)


def test_several_errors_are_all_reported(tmp_path: Path) -> None:
    folder = broken(tmp_path, "    cap: 20万", "    cap: 20万\n    bogus: 1")
    text = (folder / "policy.yaml").read_text(encoding="utf-8").replace("staff >= 1", "staf >= 1")
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    msg = load_error(folder)
    assert "bogus" in msg  # the model is validated first; the first stage's errors are reported together


def test_missing_folder() -> None:
    with pytest.raises(RuleError, match="no such package folder"):
        load_package("/nonexistent/pkg")


def test_at_version_syntax(huangzuan16: Package) -> None:
    only = load_package(f"{huangzuan16.source}@3.0")
    assert [v.version for v in only.versions] == ["3.0"]
    with pytest.raises(RuleError, match="no version '9.9'"):
        load_package(f"{huangzuan16.source}@9.9")


def test_overlapping_versions_are_refused(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "mini", tmp_path / "mini")
    shutil.copytree(tmp_path / "mini" / "1.0", tmp_path / "mini" / "2.0")
    p = tmp_path / "mini" / "2.0" / "policy.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace('version: "1.0"', 'version: "2.0"'), encoding="utf-8")
    with pytest.raises(RuleError, match="overlap"):
        load_package(tmp_path / "mini")


def test_content_hash_changes_with_meaning_not_with_formatting(tmp_path: Path, mini: Package) -> None:
    reformatted = broken(tmp_path / "a", "amount: 15% * (spend - spend_prev)", "amount: 15%*(spend-spend_prev)")
    assert load_package(reformatted).versions[0].content_hash == mini.versions[0].content_hash
    changed = broken(tmp_path / "b", "cap: 20万", "cap: 25万")
    assert load_package(changed).versions[0].content_hash != mini.versions[0].content_hash


def test_json_schema_describes_the_format() -> None:
    schema = rule_format_json_schema()
    json.dumps(schema)
    assert set(schema["properties"]) >= {"package", "facts", "clauses", "settlement", "tests", "invariants"}
    assert schema["additionalProperties"] is False
