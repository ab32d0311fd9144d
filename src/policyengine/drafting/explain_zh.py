"""`explain --labels zh`: the same trace as `explain`, entirely in Chinese, for clerks.

Values read as the sheet spells them (是/否/未填写, `45万元`, `92%`), conditions as Chinese phrases (no operator
text), only the condition that decided an ineligible clause marked as deciding, and every settlement step as the
sentence the `说明` column gives it. The wording is `decide.sentences`'s; nothing here phrases a value itself.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from policyengine.decide.decision import ClauseResult, Decision, PackageResult, SettlementStep
from policyengine.decide.sentences import (
    applicant_cap_cut,
    clause_cap_cut,
    condition_sentence,
    excluded_by,
    missing_sentence,
    phrase,
    prorated,
    show,
    value_text,
    yuan,
)
from policyengine.engines.interpreter import Env, evaluate_expr, referenced_facts, substituted
from policyengine.facts.applicant import Facts
from policyengine.facts.values import UNKNOWN
from policyengine.lang import ast as A
from policyengine.lang import printer, traverse
from policyengine.model.policy import Package, PolicyVersion

STATUS = {"eligible": "符合", "ineligible": "不符合", "undetermined": "待补充", "excluded": "就高不重复"}
MARK = {True: "✓", False: "✗"}


def facts_text(e: A.Expr, env: Env) -> str:
    """The facts `e` reads with their values: `[注册地所在区：皇姑区，是否列入严重失信主体名单：否]`."""
    program = env.program
    seen = [f"{program.facts[n].label}：{show(env.name(n), program.fact_types[n].kind)}"
            for n in referenced_facts(e, env.version)]
    return "[" + "，".join(seen) + "]" if seen else ""


_CALL = {"min": "取较小值", "max": "取较大值", "count": "计数"}


def formula(e: A.Expr, leaf: Callable[[A.Expr], A.Expr | None], env: Env, numbers: bool) -> str:
    """An amount formula as text: arithmetic kept, conditions as Chinese phrases (with their values put in when
    `numbers`), `if`/`min`/`max` in words; `leaf` rewrites facts (to labels or to values)."""

    def zh(x: A.Expr) -> A.Expr | None:
        if isinstance(x, A.Compare | A.BoolOp | A.In | A.Not):
            return A.Name(phrase(substituted(x, env) if numbers else x, env.program))
        if isinstance(x, A.IfElse):
            return A.Name(f"（{formula(x.cond, leaf, env, numbers)}时为{formula(x.then, leaf, env, numbers)}，"
                          f"否则为{formula(x.else_, leaf, env, numbers)}）")
        if isinstance(x, A.Call):
            args = "，".join(formula(a, leaf, env, numbers) for a in x.args)
            return A.Name(f"{_CALL.get(x.func, x.func)}（{args}）")
        if isinstance(x, A.Money):
            return A.Name(yuan(x.value))
        return leaf(x)

    return printer.to_text(traverse.rewrite(e, zh))


def amount_text(clause_id: str, env: Env, result: ClauseResult) -> str:
    """`10% * (上年度研发费用 - 前年度研发费用) = 10% * (3000万元 - 2200万元) = 80万元`."""
    program = env.program
    amount = program.clause(clause_id).amount

    def label(x: A.Expr) -> A.Expr | None:
        if isinstance(x, A.Name) and x.id in program.facts:
            return A.Name(program.facts[x.id].label)
        return None

    def number(x: A.Expr) -> A.Expr | None:
        if isinstance(x, A.Name | A.Lookup | A.Attr):
            return A.Name(value_text(x, env, "money" if isinstance(x, A.Lookup) else None))
        return None

    written = formula(amount, label, env, numbers=False)
    filled = formula(amount, number, env, numbers=True)
    shown = yuan(result.computed) if result.computed is not None else show(evaluate_expr(amount, env), "money")
    steps = [written] + [t for t in (filled,) if t not in (written, shown)]
    return " = ".join([*steps, shown]) if written != shown else written


def settlement_text(step: SettlementStep, env: Env, package: PackageResult) -> str:
    """One settlement step as the `说明` column says it."""
    version = env.version
    cut = step.before - step.after
    if step.step == "clause_cap":
        return clause_cap_cut(step.after, cut)
    if step.step == "applicant_cap":
        assert version.applicant_cap is not None
        return applicant_cap_cut(version.applicant_cap, cut)
    if step.step == "proration" and step.fund is not None and step.demand:
        return prorated(step.fund, Fraction(step.fund, step.demand))
    for group in env.program.settlement.groups:
        if step.clause in group.members:
            standing = [m for m in group.members if m != step.clause and package.clause(m).status == "eligible"]
            if standing:
                return excluded_by(version.clause(standing[0]).article)
    return "就高不重复"


def clause_lines(version: PolicyVersion, env: Env, result: ClauseResult, package: PackageResult) -> list[str]:
    """One clause: heading, text, conditions (the deciding one marked), amount, cap, settlement."""
    clause = version.clause(result.clause)
    plan = env.program.clause(result.clause)
    out = [f"  第{clause.article}条 {clause.id} {clause.title}：{STATUS[result.status]}，{yuan(result.amount)}",
           f"    条文：{clause.text}"]
    if plan.conditions:
        out.append("    条件：")
    decided = result.status != "ineligible"
    for cond in plan.conditions:
        v = evaluate_expr(cond.expr, env)
        mark = "?" if v is UNKNOWN else MARK[bool(v)]
        out.append(f"      {mark} {phrase(cond.expr, env.program)}  {facts_text(cond.expr, env)}".rstrip())
        if v is False and not decided:
            decided = True
            out.append(f"          决定性条件：{condition_sentence(cond, env)}")
    if result.status in ("eligible", "excluded") and result.computed is not None:
        out.append(f"    金额：{amount_text(clause.id, env, result)}")
        if clause.cap is not None:
            out.append(f"    上限：{yuan(clause.cap)}")
    if result.status == "undetermined" and result.unknown_facts:
        out.append(f"    需补充：{missing_sentence(result.unknown_facts, env.program)}")
    for step in package.steps:
        if step.clause == result.clause:
            out.append(f"    结算：{settlement_text(step, env, package)}")
    return out


def explain_zh_lines(packages: list[Package], facts: Facts, decision: Decision, where: str = "") -> list[str]:
    """The explanation of one applicant, in Chinese."""
    name, uscc = facts.values.get("name"), facts.values.get("uscc")
    who = (name if isinstance(name, str) else "（未填写企业名称）") + (f"（{uscc}）" if isinstance(uscc, str) else "")
    year = decision.application_year
    out = [f"申报企业：{who}" + (f" — {where}" if where else ""), f"申报年度：{year if year else '未填写'}"]
    by_id = {p.id: p for p in packages}
    for p in decision.packages:
        out.append("")
        if p.status != "evaluated" or p.version is None:
            out.append(f"{p.package}：申报年度{year if year else '未填写'}不在本政策任何版本的适用期内"
                       if p.status == "not_in_force" else f"{p.package}：申报年度未填写，无法确定适用版本")
            continue
        v = by_id[p.package].version(p.version)
        out.append(f"{v.key} {v.meta.title}（文号 {v.meta.document_number}）")
        if not v.meta.verified:
            out.append("  注意：条文为重构文本，尚未对照官方文本核实，数字待核实")
        env = Env(v, facts)
        for r in p.clauses:
            out += clause_lines(v, env, r, p)
        cap = f"（单户年度奖励上限{yuan(v.applicant_cap)}）" if v.applicant_cap is not None else ""
        out.append(f"  合计 {v.key}：{yuan(p.total)}{cap}")
        states = {s: sum(1 for r in p.clauses if r.status == s) for s in STATUS}
        out.append("  " + "，".join(f"{STATUS[s]}{n}条" for s, n in states.items() if n))
    out.append("")
    funded = any(p.annual_fund for p in decision.packages)
    out.append(f"总计：{yuan(decision.total)}" + ("（批量兑付时年度资金不足的按比例兑付，此处未计）" if funded else ""))
    return out
