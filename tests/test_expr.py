from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine.lang import ast as A
from policyengine.lang import parse, to_text
from policyengine.lang.parser import ExprSyntaxError
from policyengine.lang.types import BOOL, INT, MONEY, RATE, YEAR, ExprTypeError, Scope, TableType, Ty, check

KEYWORDS = {"if", "then", "else", "and", "or", "not", "in", "true", "false"}


def test_parses_the_brief_forms() -> None:
    e = parse("(if offshore_center_year == Y - 1 then 30万 else 0) + min(50% * offshore_center_rent, 20万)")
    assert isinstance(e, A.Arith) and e.op == "+"
    assert isinstance(e.left, A.IfElse)
    assert e.left.then == A.Money(Fraction(300000))
    assert isinstance(e.right, A.Call) and e.right.args[0] == A.Arith("*", A.Percent(Fraction(1, 2)),
                                                                      A.Name("offshore_center_rent"))


def test_literals() -> None:
    assert parse("12.5万") == A.Money(Fraction(125000))
    assert parse("300元") == A.Money(Fraction(300))
    assert parse("0.5%") == A.Percent(Fraction(1, 200))
    assert parse("1_000_000") == A.Num(Fraction(1000000))
    assert parse('"皇姑区"') == A.Str("皇姑区")


def test_precedence_and_associativity() -> None:
    assert parse("a - b - c") == A.Arith("-", A.Arith("-", A.Name("a"), A.Name("b")), A.Name("c"))
    assert parse("a + b * c") == A.Arith("+", A.Name("a"), A.Arith("*", A.Name("b"), A.Name("c")))
    assert parse("not a and b") == A.BoolOp("and", (A.Not(A.Name("a")), A.Name("b")))
    assert parse("a or b and c") == A.BoolOp("or", (A.Name("a"), A.BoolOp("and", (A.Name("b"), A.Name("c")))))
    assert parse('x not in ["a"]') == A.In(A.Name("x"), (A.Str("a"),), True)


@pytest.mark.parametrize(("text", "message"), [
    ("a ==", "ends too early|end of text"),
    ("a < b < c", "unexpected '<'"),
    ("eval(1)", "unknown function eval"),
    ("__import__('os')", "unexpected character|unknown function"),
    ("a ＝ b", "unexpected character"),
    ("", "end of text|too early"),
])
def test_syntax_errors_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ExprSyntaxError, match=message) as info:
        parse(text)
    assert "\n" not in str(info.value)


# -- print → parse round trip over generated trees -------------------------------------------------

names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
decimals = st.builds(lambda n, k: Fraction(n, 10**k), st.integers(0, 10**9), st.integers(0, 4))
leaves = st.one_of(
    st.builds(A.Num, decimals),
    st.builds(A.Money, decimals.map(lambda f: Fraction(round(f * 100), 100))),
    st.builds(A.Percent, decimals.map(lambda f: f / 100)),
    st.builds(A.Str, st.text(alphabet="abc皇姑区 无级", max_size=5)),
    st.builds(A.Bool, st.booleans()),
    st.builds(A.Name, names),
    st.builds(A.Attr, names, st.sampled_from(["amount", "status"])),
)


def _extend(children: st.SearchStrategy[A.Expr]) -> st.SearchStrategy[A.Expr]:
    many = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(
        st.builds(A.Neg, children),
        st.builds(A.Not, children),
        st.builds(A.Arith, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(A.Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), children, children),
        st.builds(A.BoolOp, st.sampled_from(["and", "or"]), many),
        st.builds(A.In, children, st.lists(children, max_size=3).map(tuple), st.booleans()),
        st.builds(A.Call, st.sampled_from(["min", "max", "count"]), st.lists(children, min_size=1, max_size=3)
                  .map(tuple)),
        st.builds(A.IfElse, children, children, children),
        st.builds(A.Lookup, names, children),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)


@settings(max_examples=400)
@given(trees)
def test_print_then_parse_gives_the_same_tree(tree: A.Expr) -> None:
    text = to_text(tree)
    assert parse(text) == tree, text


# -- type checking ---------------------------------------------------------------------------------

SCOPE = Scope(
    names={"rd": MONEY, "rd_prev": MONEY, "year": YEAR, "Y": YEAR, "n": INT, "share": RATE, "ok": BOOL,
           "level": Ty("text", frozenset({"无", "市级", "省级"}))},
    tables={"L": TableType(frozenset({"无", "市级", "省级"}), MONEY)},
)


@pytest.mark.parametrize(("text", "expected"), [
    ("10% * (rd - rd_prev)", MONEY),
    ("rd >= 50万 and rd > rd_prev", BOOL),
    ("year == Y - 1", BOOL),
    ("L[level] - L[level]", MONEY),
    ("5万 + 1万 * n", MONEY),
    ("min(50% * rd, 10万 * n)", MONEY),
    ("(if level == \"市级\" then 100% else 50%) * 20万", MONEY),
    ("Y - year", INT),
    ("level in [\"市级\", \"省级\"]", BOOL),
])
def test_well_typed(text: str, expected: Ty) -> None:
    assert check(parse(text), SCOPE) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("rd_prve > 0", "did you mean rd_prev"),
    ("level == \"国家\"", "not one of"),
    ("rd > year", "mixes money and year"),
    ("rd + ok", "needs numbers"),
    ("not rd", "needs a condition"),
    ("rd and ok", "needs conditions"),
    ("M[level]", "unknown table"),
    ("L[rd]", "enum key"),
    ("a01.amount > 0", "only be used in invariants"),
    ("rd * rd", "cannot compute money \\* money"),
])
def test_type_errors(text: str, message: str) -> None:
    with pytest.raises(ExprTypeError, match=message):
        check(parse(text), SCOPE)
