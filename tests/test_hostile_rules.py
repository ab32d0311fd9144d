"""Hostile rule files and facts files (issue 13): each is refused with one line naming the file, the line and the
bound (`policyengine.limits`), never a traceback, a RecursionError or a hang; and the deepest rules the bounds
accept still work in every evaluator. Each CLI case runs in a subprocess with a timeout, so a regression fails
fast instead of hanging."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from policyengine import FactError, PolicyEngineError, RuleErrors, load_package
from policyengine.drafting.bounds import Bounds, describe
from policyengine.engines.rete import unavailable_reason
from policyengine.facts.factsfile import json_refusal, read_facts_file
from policyengine.facts.money import MoneyFormatError
from policyengine.facts.uscc import UsccError
from policyengine.lang import ast as A
from policyengine.lang import traverse
from policyengine.lang.parser import ExprSyntaxError, parse
from policyengine.lang.types import ExprTypeError
from policyengine.limits import (
    MAX_EXPR_CHARS,
    MAX_EXPR_DEPTH,
    MAX_EXPR_NODES,
    MAX_LIST_ITEMS,
    MAX_NESTING,
    MAX_NUMBER_DIGITS,
)
from policyengine.model.yamlsource import refusal

from .support import ROOT

TIMEOUT = 10  # seconds per CLI run; each one takes well under one
pytestmark = pytest.mark.xdist_group("hostile_rules")   # one worker: the hostile package is linted once


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH"))
                                                       if p)}
    return subprocess.run([sys.executable, "-m", "policyengine", *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=TIMEOUT, cwd=ROOT, env=env, check=False)


def one_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused input prints (exit 2, nothing else, no traceback)."""
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-1000:], proc.stderr[-1000:])
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr[:2000]
    assert len(lines[0]) < 400, lines[0][:400]
    return lines[0]


class Municipal:
    """A copy of rules/municipal@2019 (with rules/facts.yaml beside it, as its catalogue expects) to make hostile,
    as version `name` of a package under `root`."""

    def __init__(self, root: Path, name: str = "2019") -> None:
        if not (root / "facts.yaml").exists():
            shutil.copy(ROOT / "rules" / "facts.yaml", root / "facts.yaml")
        self.package = root / "municipal"
        self.folder = self.package / name
        shutil.copytree(ROOT / "rules" / "municipal" / "2019", self.folder)
        self.policy = self.folder / "policy.yaml"
        if name != "2019":
            self.edit('  version: "2019"\n', f'  version: "{name}"\n')

    def edit(self, old: str, new: str) -> int:
        """Replace the first `old` in policy.yaml with `new`; returns the line where `new` starts."""
        text = self.policy.read_text(encoding="utf-8")
        at = text.index(old)
        self.policy.write_text(text[:at] + new + text[at + len(old):], encoding="utf-8")
        return text.count("\n", 0, at) + 1

    def amount(self, expr: str) -> int:
        """m01's amount (written as a double-quoted YAML string); returns its line."""
        return self.edit("    amount: 20万\n", f"    amount: {json.dumps(expr, ensure_ascii=False)}\n")

    def condition(self, expr: str) -> int:
        """m01's second condition; returns its line."""
        return self.edit('      - hightech_status == "首次认定"\n', f"      - {json.dumps(expr, ensure_ascii=False)}\n")

    def line_of(self, text: str) -> int:
        return self.policy.read_text(encoding="utf-8").splitlines().index(text) + 1


# -- hostile rule files: each case is one version of one package, so that one `lint` run reports them all -----

def billion_laughs(levels: int = 10) -> str:
    """Ten lines that expand to 9^10 strings: each list repeats the previous one nine times."""
    text = 'l0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, levels):
        text += f"l{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
    return text


ALIAS = "YAML alias *a0 refused: aliases are not allowed in rule and facts files (write the value out where it is used)"
TOO_DEEP = "the expression nests more than 64 levels deep; the limit is 64"


def alias_bomb(v: Municipal) -> str:
    (v.folder / "bomb.yaml").write_text(billion_laughs(), encoding="utf-8")
    return f"{v.folder / 'bomb.yaml'}:2: {ALIAS}"


def nested_10000_levels(v: Municipal) -> str:
    (v.folder / "deep.yaml").write_text("notes: " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    return f"{v.folder / 'deep.yaml'}:1: nested more than 32 levels deep; the limit is 32"


def nested_33_levels(v: Municipal) -> str:  # refused by our count, not by libyaml's own limit (1,000)
    (v.folder / "deep.yaml").write_text("notes:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 33)) + " " * 33
                                        + "v: 1\n", encoding="utf-8")
    return f"{v.folder / 'deep.yaml'}:33: nested more than 32 levels deep; the limit is 32"


def file_over_1_mib(v: Municipal) -> str:
    with v.policy.open("a", encoding="utf-8") as f:
        f.write(("# " + "x" * 1000 + "\n") * 1100)
    return f"{v.policy}: the file has {v.policy.stat().st_size:,} bytes; the limit is 1,048,576 bytes"


def plain_5000_digit_number(v: Municipal) -> str:
    line = v.edit("    amount: 20万\n", "    amount: 1" + "0" * 4999 + "\n")
    return f"{v.policy}:{line}: a number with 5,000 digits; the limit is 30 digits (quote it if it is text)"


def cap_of_5000_digits(v: Municipal) -> str:
    line = v.edit("    amount: 20万\n", '    amount: 20万\n    cap: "1' + "0" * 4999 + '"\n') + 1
    return f"{v.policy}:{line}: clauses[0].cap: a number with 5,000 digits; the limit is 30 digits"


def sum_of_10000_terms(v: Municipal) -> str:
    expr = " + ".join(["20万"] * 10_000)
    line = v.amount(expr)
    return f"{v.policy}:{line}: clauses[0].amount: the expression has {len(expr):,} characters; the limit is 20,000"


def sum_of_10000_terms_written_tight(v: Municipal) -> str:  # 19,999 characters: parsed, then measured
    return f"{v.policy}:{v.amount('+'.join(['1'] * 10_000))}: clauses[0].amount: {TOO_DEEP}"


def not_10000_times(v: Municipal) -> str:
    expr = "not " * 10_000 + '(hightech_status == "首次认定")'
    line = v.condition(expr)
    return (f"{v.policy}:{line}: clauses[0].conditions[1]: the expression has {len(expr):,} characters; the limit "
            "is 20,000")


def not_4000_times(v: Municipal) -> str:
    line = v.condition("not " * 4_000 + '(hightech_status == "首次认定")')
    return f"{v.policy}:{line}: clauses[0].conditions[1]: {TOO_DEEP}"


def unary_minus_10000_times(v: Municipal) -> str:
    return f"{v.policy}:{v.amount('-' * 10_000 + '20万')}: clauses[0].amount: {TOO_DEEP}"


def parentheses_10000_deep(v: Municipal) -> str:
    expr = "(" * 10_000 + "20万" + ")" * 10_000
    line = v.amount(expr)
    return f"{v.policy}:{line}: clauses[0].amount: the expression has {len(expr):,} characters; the limit is 20,000"


def sum_of_1_mb(v: Municipal) -> str:
    line = v.amount("+".join(["1"] * 500_000))
    return f"{v.policy}:{line}: clauses[0].amount: the expression has 999,999 characters; the limit is 20,000"


def in_list_of_1_mb(v: Municipal) -> str:
    expr = "hightech_status in [" + ", ".join(["'首次认定'"] * 62_500) + "]"
    assert 1_000_000 <= len(expr.encode()) < 1_048_576 - 4_000  # the file stays within its own bound
    line = v.condition(expr)
    return (f"{v.policy}:{line}: clauses[0].conditions[1]: the expression has {len(expr):,} characters; the limit "
            "is 20,000")


def in_list_of_1001_items(v: Municipal) -> str:
    line = v.condition("hightech_status in [" + ", ".join(['"首次认定"'] * 1_001) + "]")
    return f"{v.policy}:{line}: clauses[0].conditions[1]: a list of 1,001 items; the limit is 1,000 items"


def literal_of_5000_digits(v: Municipal) -> str:
    line = v.amount("1" + "0" * 4_999 + "万")
    return f"{v.policy}:{line}: clauses[0].amount: a number with 5,000 digits at column 1; the limit is 30 digits"


def chain_of_200_definitions(v: Municipal) -> str:
    """Each definition names the one before: each is shallow; written out, those from D127 on are too deep (only
    the first is named: the others are too deep because of it)."""
    v.edit("  Y: application_year\n", "  Y: application_year\n  D0: Y\n"
           + "".join(f"  D{i}: D{i - 1}\n" for i in range(1, 200)))
    v.edit("      - hightech_cert_year == Y - 1\n", "      - hightech_cert_year == D199 - 1\n")
    return (f"{v.policy}:{v.line_of('  D127: D126')}: definitions.D127: with the definitions it names written out, "
            "the expression nests 129 levels deep; the limit is 128")


def doubling_definitions(v: Municipal) -> str:
    """`d1: d0 + d0`, `d2: d1 + d1`, ...: 2^40 nodes written out (before the bound, `lint` wrote them out and
    gave no answer in 30 s)."""
    v.edit("  Y: application_year\n", '  Y: application_year\n  d0: "0"\n'
           + "".join(f"  d{i}: d{i - 1} + d{i - 1}\n" for i in range(1, 40)))
    v.edit("      - hightech_cert_year == Y - 1\n", "      - hightech_cert_year == Y - 1 + d39\n")
    return (f"{v.policy}:{v.line_of('  d14: d13 + d13')}: definitions.d14: with the definitions it names written "
            "out, the expression has 32,767 parts; the limit is 20,000")


HOSTILE = [alias_bomb, nested_10000_levels, nested_33_levels, file_over_1_mib, plain_5000_digit_number,
           cap_of_5000_digits, sum_of_10000_terms, sum_of_10000_terms_written_tight, not_10000_times, not_4000_times,
           unary_minus_10000_times, parentheses_10000_deep, sum_of_1_mb, in_list_of_1_mb, in_list_of_1001_items,
           literal_of_5000_digits, chain_of_200_definitions, doubling_definitions]


@pytest.fixture(scope="module")
def hostile_lint(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """One package with a version per hostile case, linted once: (the run, each case's expected line)."""
    root = tmp_path_factory.mktemp("hostile")
    expected = [f"error: {case(Municipal(root, f'v{i:02d}'))}" for i, case in enumerate(HOSTILE)]
    return cli("lint", str(root / "municipal")), expected


def test_hostile_rule_files_are_refused_in_one_line_each(
        hostile_lint: tuple[subprocess.CompletedProcess[str], list[str]]) -> None:
    proc, expected = hostile_lint
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr, proc.stderr[-2000:]
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.splitlines() == expected  # one line per case, in the order of the versions
    assert all(len(line) < 300 for line in expected)


@pytest.mark.parametrize("index", range(len(HOSTILE)), ids=[case.__name__ for case in HOSTILE])
def test_hostile_rule_file(hostile_lint: tuple[subprocess.CompletedProcess[str], list[str]], index: int) -> None:
    proc, expected = hostile_lint
    assert expected[index] in proc.stderr.splitlines(), proc.stderr[:3000]


@pytest.mark.parametrize(("text", "found"), [
    ("a: " + "[" * MAX_NESTING + "1" + "]" * MAX_NESTING, (1, "nested more than 32 levels deep; the limit is 32")),
    ("a: " + "[" * (MAX_NESTING - 1) + "1" + "]" * (MAX_NESTING - 1), None),  # the mapping is a level too
    ("a: &x 1\nb: 2\n", None),  # an anchor alone is harmless
    ("a: &x {k: 1}\nb:\n  <<: *x\n", (3, "YAML alias *x refused: aliases are not allowed in rule and facts files "
                                        "(write the value out where it is used)")),
    ("a: " + "9" * 30, None),
    ("a: " + "9" * 31, (1, "a number with 31 digits; the limit is 30 digits (quote it if it is text)")),
    ('a: "' + "9" * 31 + '"', None),  # quoted: text
    ("a: 1_000:" + "00:" * 20 + "00", (1, "a number with 46 digits; the limit is 30 digits (quote it if it is text)")),
])
def test_yaml_refusal(text: str, found: tuple[int, str] | None) -> None:
    assert refusal(text) == found


# -- expression bounds, exactly ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("x" * (MAX_EXPR_CHARS + 1), "the expression has 20,001 characters; the limit is 20,000"),
    ("+".join(["1"] * (MAX_EXPR_DEPTH + 1)), TOO_DEEP),
    ("-" * MAX_EXPR_DEPTH + "1", TOO_DEEP),
    ("min(" + ", ".join(["min(" + ",".join(["1"] * 999) + ")"] * 5) + ", 1)",
     "the expression has more than 5,000 parts; the limit is 5,000"),
    ("x in [" + ",".join(["1"] * (MAX_LIST_ITEMS + 1)) + "]", "a list of 1,001 items; the limit is 1,000 items"),
    ("min(" + ",".join(["1"] * (MAX_LIST_ITEMS + 1)) + ")", "a call with 1,001 arguments; the limit is 1,000"),
    ("x + 1" + "0" * MAX_NUMBER_DIGITS, "a number with 31 digits at column 5; the limit is 30 digits"),
    ("0." + "0" * 29 + "1%", "a number with 31 digits at column 1; the limit is 30 digits"),
])
def test_expression_bounds(text: str, message: str) -> None:
    with pytest.raises(ExprSyntaxError) as info:
        parse(text)
    assert str(info.value) == message


def test_expressions_at_the_bounds_parse() -> None:
    assert parse("x" * MAX_EXPR_CHARS) == A.Name("x" * MAX_EXPR_CHARS)
    assert isinstance(parse("+".join(["1"] * MAX_EXPR_DEPTH)), A.Arith)  # a sum of 64 terms is 64 deep
    assert isinstance(parse("-" * (MAX_EXPR_DEPTH - 1) + "1"), A.Neg)
    assert parse("(" * 9_000 + "1" + ")" * 9_000) == A.Num(Fraction(1))  # parentheses are not levels
    nodes = "min(" + ", ".join(["min(" + ",".join(["1"] * 1000) + ")"] * 4) + ", " + ",".join(["1"] * 995) + ")"
    assert sum(1 for _ in traverse.walk(parse(nodes))) == MAX_EXPR_NODES
    listed = parse("x in [" + ",".join(["1"] * MAX_LIST_ITEMS) + "]")
    assert isinstance(listed, A.In) and len(listed.options) == MAX_LIST_ITEMS
    assert parse("9" * MAX_NUMBER_DIGITS + "万") == A.Money(Fraction(10**MAX_NUMBER_DIGITS - 1) * 10_000)


def test_errors_users_cause_are_policyengine_errors_and_still_value_errors() -> None:
    for cls in (ExprSyntaxError, ExprTypeError, MoneyFormatError, UsccError):
        assert issubclass(cls, PolicyEngineError) and issubclass(cls, ValueError)


# -- amounts beyond the engine's integer range (lint) -------------------------------------------------------

def test_amount_of_10_to_the_20_yuan_is_a_lint_error(tmp_path: Path) -> None:
    pkg = Municipal(tmp_path)
    line = pkg.edit("    amount: 20万\n", "    amount: 100000000000000000000\n")
    proc = cli("lint", str(pkg.package))
    assert proc.returncode == 1 and proc.stderr == "", proc.stderr
    assert (f"  {pkg.policy}:{line}: error: clause m01 (首次认定高新技术企业补助): the amount can reach 1.0×10^20 "
            "yuan for facts within their ranges; the engine's integer range ends at 2^62 ≈ 4.6×10^18 yuan "
            "[amount-range]") in proc.stdout.splitlines()
    assert proc.stdout.splitlines()[-1] == "1 error, 0 warnings, 1 info"


def test_bounds_of_amounts(tmp_path: Path) -> None:
    pkg = Municipal(tmp_path)
    pkg.edit("facts: [name, ", "facts: [rd_expense, carrier_tenants, carrier_occupancy, name, ")
    pkg.amount("20万")
    version = load_package(pkg.package).versions[0]
    b = Bounds(version)

    def reach(text: str) -> str:
        interval = b.of(parse(text))
        assert interval is not None and interval.magnitude is not None
        return describe(interval.magnitude)

    assert reach("20万") == "200,000"
    assert reach("10% * rd_expense") == "about 1,000,000,000,000"       # money below 10^13 yuan
    assert reach("rd_expense * carrier_tenants") == "1.0×10^25"          # money times a count below 10^12
    assert reach("min(rd_expense * carrier_tenants, 50万)") == "500,000"
    assert reach("if carrier_occupancy > 50% then 1万 * carrier_tenants else 0") == "1.0×10^16"
    assert reach("-(1万 * carrier_tenants)") == "1.0×10^16"
    assert reach("rd_expense / 2") == "about 5,000,000,000,000"
    assert reach(" * ".join(["1" + "0" * 29] * 3)) == "more than 10^40"   # clamped, never a huge integer
    assert b.of(parse("rd_expense / carrier_tenants")) is not None
    assert b.of(parse("rd_expense / carrier_tenants")).magnitude is None  # type: ignore[union-attr]  # could be anything


def test_bundled_amounts_are_within_range() -> None:
    for name in ("huangzuan16", "municipal"):
        for version in load_package(ROOT / "rules" / name).versions:
            b = Bounds(version)
            for clause in version.clauses:
                interval = b.of(clause.amount)
                assert interval is not None and interval.magnitude is not None and interval.magnitude < 2**62


# -- the deepest rules the bounds accept work everywhere -------------------------------------------------------

def deepest(tmp_path: Path) -> Municipal:
    """municipal with every expression at a bound, and its meaning unchanged (its 16 test cases still pass):
    a chain of definitions 128 levels deep written out, 62 nested `not`s, 62 unary minuses, 9,000 parentheses."""
    pkg = Municipal(tmp_path)
    chain = "  D0: Y\n" + "".join(f"  D{i}: D{i - 1}\n" for i in range(1, 124))
    pkg.edit("  Y: application_year\n", "  Y: application_year\n" + chain)
    pkg.edit("      - hightech_cert_year == Y - 1\n", "      - hightech_cert_year == D123 - 1\n")
    pkg.amount("(" * 9_000 + "20万" + ")" * 9_000)
    pkg.edit("    amount: 10万\n", f"    amount: {'-' * 62}10万\n")
    nots = json.dumps("not " * 62 + '(hightech_status == "无")', ensure_ascii=False)
    pkg.edit('      - hightech_status == "无"\n', f"      - {nots}\n")
    return pkg


def test_the_deepest_accepted_rules_are_at_the_bounds(tmp_path: Path) -> None:
    pkg = deepest(tmp_path)
    version = load_package(pkg.package).versions[0]
    assert isinstance(version.clause("m02").amount, A.Neg)
    pkg.edit("      - hightech_cert_year == D123 - 1\n", "      - hightech_cert_year == D123 - 1 + 0\n")
    with pytest.raises(RuleErrors, match="nests 129 levels deep; the limit is 128"):
        load_package(pkg.package)


@pytest.mark.parametrize("command", ["lint", "test", "interpreter", "rete"])
def test_the_deepest_accepted_rules_work_in_every_command(tmp_path: Path, command: str) -> None:
    if command == "rete" and unavailable_reason():
        pytest.skip(str(unavailable_reason()))
    pkg = deepest(tmp_path)
    if command in ("lint", "test"):
        proc = cli(command, str(pkg.package))
        expected = "municipal@2019: ok" if command == "lint" else "16 passed, 0 failed"
    else:
        facts = tmp_path / "applicant.yaml"
        facts.write_text("统一社会信用代码: 91350100M000100Y43\n申报年度: 2020\n注册地所在市: 沈阳市\n"
                         "是否列入严重失信主体名单: 否\n高新技术企业认定类型: 首次认定\n高新技术企业认定年份: 2019\n",
                         encoding="utf-8")
        proc = cli("evaluate", str(facts), "--package", str(pkg.package), "--backend", command)
        expected = "total 200000"
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert expected in proc.stdout.splitlines()[0 if command == "lint" else -1], proc.stdout


# -- facts files ---------------------------------------------------------------------------------------------

def evaluate_error(facts: Path) -> str:
    return one_error(cli("evaluate", str(facts), "--package", str(ROOT / "rules" / "municipal")))


def test_alias_bomb_facts_file(tmp_path: Path) -> None:
    facts = tmp_path / "bomb.yaml"
    facts.write_text(billion_laughs() + "申报年度: 2021\n", encoding="utf-8")
    assert evaluate_error(facts) == (f"error: {facts}:2: YAML alias *a0 refused: aliases are not allowed in rule and "
                                     "facts files (write the value out where it is used)")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_facts_file_nested_10000_levels(tmp_path: Path, suffix: str) -> None:
    facts = tmp_path / f"deep{suffix}"
    facts.write_text('{"申报年度": 2021,\n "x": ' + "[" * 10_000 + "]" * 10_000 + "}\n", encoding="utf-8")
    assert evaluate_error(facts) == f"error: {facts}:2: nested more than 32 levels deep; the limit is 32"


def test_facts_file_with_a_5000_digit_number(tmp_path: Path) -> None:
    facts = tmp_path / "big.json"
    facts.write_text('{"申报年度": 2021,\n "上年度研发费用": 1' + "0" * 4999 + "}\n", encoding="utf-8")
    assert evaluate_error(facts) == f"error: {facts}:2: a number with 5,000 digits; the limit is 30 digits"


@pytest.mark.parametrize(("text", "found"), [
    ('{"a": ' + "[" * 33 + "]" * 33 + "}", (1, "nested more than 32 levels deep; the limit is 32")),
    ('{"a": ' + "[" * 31 + "]" * 31 + "}", None),
    ('{"a": "[[[[' + "[" * 40 + '", "b": 1}', None),  # brackets inside a string are text
    ('{"a": "\\"[' + "[" * 40 + '"}', None),
    ('{"a": 1' + "0" * 30 + "}", (1, "a number with 31 digits; the limit is 30 digits")),
    ('{"a": "' + "x" * 65_537 + '"}', (1, "a value of 65,537 characters; the limit is 65,536")),
    ('{"a": "' + "x" * 65_536 + '"}', None),
])
def test_json_refusal(text: str, found: tuple[int, str] | None) -> None:
    assert json_refusal(text) == found


def test_facts_file_larger_than_1_mib(tmp_path: Path) -> None:
    facts = tmp_path / "big.yaml"
    facts.write_text("申报年度: 2021\n" + "# padding\n" * 110_000, encoding="utf-8")
    with pytest.raises(PolicyEngineError) as info:
        read_facts_file(facts)
    assert str(info.value) == f"{facts}: the file has {facts.stat().st_size:,} bytes; the limit is 1,048,576 bytes"


def test_facts_file_value_of_900_kb(tmp_path: Path) -> None:
    """A 900,000-digit money text would take minutes to read exactly: refused by its length first."""
    facts = tmp_path / "long.yaml"
    facts.write_text("申报年度: 2021\n上年度研发费用: '" + "9" * 900_000 + "'\n", encoding="utf-8")
    with pytest.raises(PolicyEngineError) as info:
        read_facts_file(facts)
    assert str(info.value) == f"{facts}:2: a value of 900,000 characters; the limit is 65,536"


def test_a_fact_error_shows_a_long_value_cut() -> None:
    message = str(FactError("rd_expense (上年度研发费用)", list(range(100_000)), "cannot read a list"))
    assert message.startswith("rd_expense (上年度研发费用): cannot read a list (value [0, 1, 2, ")
    assert message.endswith(", ...])") and len(message) < 300  # a few items, never the whole list


def test_the_limits_are_documented() -> None:
    """docs/authoring.md's table states every bound of `policyengine.limits` with its value."""
    from policyengine import limits

    doc = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    table = doc[doc.index("## 7. 限制 / Limits"):]
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| 上限")}
    assert rows == {
        "规则文件大小 rule file size": f"1 MiB ({limits.MAX_RULE_FILE_BYTES:,} bytes)",
        "事实文件大小 facts file size": f"1 MiB ({limits.MAX_FACTS_FILE_BYTES:,} bytes)",
        "事实文件中的值 value in a facts file": f"{limits.MAX_FACT_VALUE_CHARS:,} characters",
        "嵌套层数 nesting": f"{limits.MAX_NESTING} levels",
        "YAML 别名 aliases": "不允许 refused",
        "表达式长度 expression length": f"{limits.MAX_EXPR_CHARS:,} characters",
        "表达式嵌套 expression depth": f"{limits.MAX_EXPR_DEPTH} levels",
        "表达式节点 expression nodes": f"{limits.MAX_EXPR_NODES:,}",
        "列表长度 list length": f"{limits.MAX_LIST_ITEMS:,} items",
        "数字位数 number digits": f"{limits.MAX_NUMBER_DIGITS} digits",
        "展开定义后的嵌套 depth with definitions written out": f"{limits.MAX_INLINED_DEPTH} levels",
        "展开定义后的节点 nodes with definitions written out": f"{limits.MAX_INLINED_NODES:,}",
        "条款金额 clause amount": "below 2^62 yuan",
    }
    assert limits.MAX_AMOUNT_YUAN == 2**62
