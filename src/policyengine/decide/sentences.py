"""Reasons as Chinese sentences, for clerks: `注册地所在区为和平区，不在皇姑区`, `高新技术企业迁入年份未填写`,
`上年度研发费用45万元，低于50万元`.

A sentence is rendered from the lowered program: for a false condition, the drafter's `reason:` template when
there is one (its values shown in the sheet's spellings), otherwise the part that decided (`Deciding`, as the
interpreter picks it) phrased by `_Phrase`, a fold over the expression. Values read as a clerk writes them in
the sheet: 是/否, `45万元`, `8%`, `2021`, `未填写`; no operator text, no `true`/`false`/`none`/`unknown`.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from policyengine.engines.interpreter import Env, deciding, evaluate_expr
from policyengine.facts.money import format_decimal, round_amount
from policyengine.facts.values import UNKNOWN, Value, terminates
from policyengine.ir.program import ClausePlan, ConditionPlan, Program, render
from policyengine.lang import ast as A
from policyengine.lang.fold import fold

BLANK = "未填写"
_CMP_FAIL = {"==": "不等于", "!=": "是", "<": "不低于", "<=": "高于", ">": "不高于", ">=": "低于"}
"""How a false comparison reads after the left side's value: `…为45万元，低于50万元`."""
_CMP = {"==": "等于", "!=": "不等于", "<": "低于", "<=": "不高于", ">": "高于", ">=": "不低于"}
_ARITH = {"+": "加", "-": "减", "*": "乘以", "/": "除以"}


def yuan(amount: int | Fraction) -> str:
    """`45万元`, `12.5万元`, `800元` (exact)."""
    value = Fraction(amount)
    if abs(value) >= 10_000:
        return format_decimal(value / 10_000) + "万元"
    return format_decimal(value) + "元"


def percent(rate: Fraction) -> str:
    """`8%`, `12.5%` (rates are exact fractions; a repeating one is shown to two decimals)."""
    return _decimal(rate * 100) + "%"


def _decimal(value: Fraction) -> str:
    """Plain decimal text; a repeating fraction to two decimals, half up, exactly (never through a float)."""
    if not terminates(value):
        value = Fraction(round_amount(value * 100), 100)
    return format_decimal(value)


def show(value: Value, kind: str) -> str:
    """A value in the sheet's own spelling, by its type's kind (money, rate, year, bool, …)."""
    if value is UNKNOWN or value is None:
        return BLANK
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Fraction):
        if kind == "money":
            return yuan(value)
        if kind == "rate":
            return percent(value)
        return _decimal(value)
    return str(value)


class _Phrase:
    """An expression as a Chinese noun phrase: facts by label, literals in the sheet's spelling."""

    def __init__(self, program: Program) -> None:
        self.program = program

    def num(self, e: A.Num) -> str:
        return show(e.value, "number")

    def money(self, e: A.Money) -> str:
        return yuan(e.value)

    def percent(self, e: A.Percent) -> str:
        return percent(e.value)

    def str_(self, e: A.Str) -> str:
        return e.value

    def bool_(self, e: A.Bool) -> str:
        return "是" if e.value else "否"

    def name(self, e: A.Name) -> str:
        spec = self.program.facts.get(e.id)
        if spec is not None:
            return spec.label
        if e.id == "Y":
            return "申报年度"
        return e.id

    def attr(self, e: A.Attr) -> str:
        return f"{e.obj}的{e.attr}"

    def lookup(self, e: A.Lookup) -> str:
        return f"{fold(e.key, self)}对应的{e.table}"

    def neg(self, e: A.Neg) -> str:
        return "负" + fold(e.operand, self)

    def not_(self, e: A.Not) -> str:
        return "并非" + fold(e.operand, self)

    def arith(self, e: A.Arith) -> str:
        return f"{fold(e.left, self)}{_ARITH.get(e.op, e.op)}{fold(e.right, self)}"

    def compare(self, e: A.Compare) -> str:
        return f"{fold(e.left, self)}{_CMP.get(e.op, e.op)}{fold(e.right, self)}"

    def boolop(self, e: A.BoolOp) -> str:
        return ("且" if e.op == "and" else "或").join(fold(x, self) for x in e.operands)

    def in_(self, e: A.In) -> str:
        options = "、".join(fold(x, self) for x in e.options)
        return f"{fold(e.item, self)}{'不' if e.negated else ''}属于{options}"

    def call(self, e: A.Call) -> str:
        word = {"min": "最小值", "max": "最大值", "count": "个数"}.get(e.func, e.func)
        return "、".join(fold(x, self) for x in e.args) + "的" + word

    def ifelse(self, e: A.IfElse) -> str:
        return "条件金额"


def _kind(e: A.Expr, program: Program) -> str:
    match e:
        case A.Name(id=name) if name in program.fact_types:
            return program.fact_types[name].kind
        case A.Name(id=name) if name in program.definition_index:
            return program.definition(name).type.kind
        case A.Name(id="Y"):
            return "year"
        case A.Money():
            return "money"
        case A.Percent():
            return "rate"
        case A.Arith(left=left, right=right):
            k = _kind(left, program)
            return k if k != "number" else _kind(right, program)
    return "number"


def phrase(e: A.Expr, program: Program) -> str:
    """`e` as a Chinese noun phrase: `上年度研发费用不低于50万元` (no operator text)."""
    return fold(e, _Phrase(program))


def value_text(e: A.Expr, env: Env, kind: str | None = None) -> str:
    """The value of `e` for the applicant of `env`, in the sheet's spelling (`kind`: by default `e`'s own)."""
    return show(evaluate_expr(e, env), kind or _kind(e, env.program))


def clause_cap_cut(cap: int, cut: int | str) -> str:
    """A clause cap's cut: `本条上限50万元，核减300000元`."""
    return f"本条上限{yuan(cap)}，核减{cut}元"


def applicant_cap_cut(cap: int, cut: int | str) -> str:
    """The per-applicant cap's cut: `单户年度奖励上限500万元，核减20000元`."""
    return f"单户年度奖励上限{yuan(cap)}，核减{cut}元"


def excluded_by(article: int) -> str:
    """A group member excluded by a higher award: `与第3条就高不重复`."""
    return f"与第{article}条就高不重复"


def prorated(fund: int, factor: Fraction) -> str:
    """A fund too small for its demand: `年度资金2000万元不足，按比例兑付80%`."""
    return f"年度资金{yuan(fund)}不足，按比例兑付{percent(factor)}"


def _value(e: A.Expr, env: Env, kind: str) -> str:
    if isinstance(e, A.Money | A.Percent | A.Num | A.Str | A.Bool):
        return fold(e, _Phrase(env.program))
    return show(evaluate_expr(e, env), kind)


def part_sentence(e: A.Expr, env: Env) -> str:
    """Why the (false) expression `e` is false, in Chinese."""
    program = env.program
    phrase = _Phrase(program)
    match e:
        case A.Compare(op=op, left=left, right=right):
            kind = _kind(left, program)
            if kind == "number":
                kind = _kind(right, program)
            got = evaluate_expr(left, env)
            if got is None or got is UNKNOWN:
                return f"{fold(left, phrase)}{BLANK}"
            if isinstance(got, bool):
                return f"{fold(left, phrase)}：{show(got, kind)}"
            word = "不在" if op == "==" and kind in ("text", "enum") else _CMP_FAIL.get(op, "不符合")
            return f"{fold(left, phrase)}为{show(got, kind)}，{word}{_value(right, env, kind)}"
        case A.Name():
            got = evaluate_expr(e, env)
            return f"{fold(e, phrase)}{BLANK}" if got is None or got is UNKNOWN else f"{fold(e, phrase)}：否"
        case A.Not(operand=inner):
            return f"{fold(inner, phrase)}：是"
        case A.In(item=item, options=options, negated=negated):
            kind = _kind(item, program)
            got = evaluate_expr(item, env)
            if got is None or got is UNKNOWN:
                return f"{fold(item, phrase)}{BLANK}"
            listed = "、".join(_value(x, env, kind) for x in options)
            return f"{fold(item, phrase)}为{show(got, kind)}，{'属于' if negated else '不在'}{listed}"
        case A.BoolOp(op="or", operands=operands):
            return "，且".join(part_sentence(x, env) for x in operands if evaluate_expr(x, env) is False)
    values = [f"{program.facts[n].label}为{show(env.name(n), program.fact_types[n].kind)}"
              for n in program.reads(e)]
    return f"不满足“{fold(e, phrase)}”" + (f"（{'，'.join(values)}）" if values else "")


def condition_sentence(cond: ConditionPlan, env: Env) -> str:
    """The reason a false condition gives: the drafter's template, or the deciding part as a sentence."""
    program = env.program
    if cond.template is not None:
        def shown(name: str) -> str:
            if name in program.fact_types:
                kind = program.fact_types[name].kind
            elif name in program.definition_index:
                kind = program.definition(name).type.kind
            else:
                kind = "number"
            return show(env.name(name), kind)
        return render(cond.template, shown)
    return part_sentence(deciding(cond.deciding, env).expr, env)


def missing_sentence(names: Sequence[str], program: Program) -> str:
    """An undetermined clause: `上年度研发费用、前年度研发费用未填写`."""
    return "、".join(program.facts[n].label for n in names) + BLANK


def clause_sentence(plan: ClausePlan, env: Env) -> str | None:
    """Why the clause is not eligible for the applicant of `env` (None when it is eligible)."""
    values = [evaluate_expr(c.expr, env) for c in plan.conditions]
    for cond, v in zip(plan.conditions, values, strict=True):
        if v is False:
            return condition_sentence(cond, env)
    missing: list[str] = []
    for cond, v in zip(plan.conditions, values, strict=True):
        if v is UNKNOWN:
            missing += [n for n in cond.reads if env.values[n] is UNKNOWN and n not in missing]
    if not missing:
        if evaluate_expr(plan.amount, env) is not UNKNOWN:
            return None
        missing = [n for n in plan.amount_reads if env.values[n] is UNKNOWN]
    return missing_sentence(missing, env.program)
