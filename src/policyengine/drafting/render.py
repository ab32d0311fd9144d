"""Text for drafters: expressions with Chinese labels, applicant rows, and the trace of one clause.

`test`, `check` and `explain` print clause outcomes the same way, from the reference interpreter.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from policyengine.decide.decision import ClauseResult
from policyengine.engines.interpreter import Env, deciding_part, evaluate_expr, referenced_facts, substituted
from policyengine.facts.applicant import Facts
from policyengine.facts.money import format_decimal
from policyengine.facts.values import UNKNOWN, display
from policyengine.lang import ast as A
from policyengine.lang import printer, traverse
from policyengine.model.policy import Clause, PolicyVersion

STATUS_ZH = {"eligible": "符合", "ineligible": "不符合", "undetermined": "待补充", "excluded": "就高不重复"}
MARK = {True: "✓", False: "✗"}


def relabel(e: A.Expr, version: PolicyVersion) -> A.Expr:
    """`e` with every fact name replaced by the fact's Chinese label (for printing only)."""

    def label(x: A.Expr) -> A.Expr | None:
        if isinstance(x, A.Name) and x.id in version.facts:
            return A.Name(version.facts[x.id].label)
        return None

    return traverse.rewrite(e, label)


def labelled(e: A.Expr, version: PolicyVersion) -> str:
    """Expression text with Chinese labels: `上年度研发费用 >= 50万`."""
    return printer.to_text(relabel(e, version))


def money(amount: int | Fraction) -> str:
    """`1,234,567` (yuan, exact)."""
    value = Fraction(amount)
    return f"{int(value):,}" if value.denominator == 1 else format_decimal(value)


def wan(amount: int | Fraction) -> str:
    """`123.4567万` (exact: yuan / 10,000, no rounding)."""
    return format_decimal(Fraction(amount) / 10_000) + "万"


def row_lines(version: PolicyVersion, row: Mapping[str, str], indent: str = "  ") -> list[str]:
    """An applicant as a two-line spreadsheet row (header = Chinese labels), blank cells left out."""
    names = [n for n in version.facts if n in row] + [n for n in row if n not in version.facts]
    header = [version.facts[n].label if n in version.facts else n for n in names]
    cells = [_csv_cell(row[n]) for n in names]
    return [indent + ",".join(header), indent + ",".join(cells)]


def _csv_cell(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ',"\n') else text


def _values(e: A.Expr, env: Env) -> str:
    seen = [f"{fv.label}={fv.value}" for fv in (env.fact_value(n) for n in referenced_facts(e, env.version))]
    return "[" + ", ".join(seen) + "]" if seen else ""


def filled(e: A.Expr, env: Env) -> str:
    """`e` with the numbers put in; a fact that did not happen reads `none`, a missing one `unknown`."""
    def blank(x: A.Expr) -> A.Expr | None:
        if isinstance(x, A.Name) and x.id in env.version.facts:
            return A.Name(display(env.name(x.id)))
        return None

    return printer.to_text(traverse.rewrite(substituted(e, env), blank))


def condition_lines(clause: Clause, env: Env, indent: str = "    ") -> list[str]:
    """Each condition with its three-valued result, the facts it read and, if false, the deciding part."""
    out = []
    for cond in clause.conditions:
        v = evaluate_expr(cond.expr, env)
        mark = "?" if v is UNKNOWN else MARK[bool(v)]
        line = f"{indent}{mark} {labelled(cond.expr, env.version)}  {_values(cond.expr, env)}".rstrip()
        out.append(line)
        if v is False:
            part = deciding_part(cond.expr, env)
            out.append(f"{indent}    deciding 决定性条件: {labelled(part, env.version)}  →  "
                       f"{filled(part, env)} is false")
    return out


def amount_line(clause: Clause, env: Env, result: ClauseResult) -> str:
    """`10% * (上年度研发费用 - 前年度研发费用) = 10% * (3000万 - 2200万) = 800000`."""
    written = labelled(clause.amount, env.version)
    numbers = filled(clause.amount, env)
    value = evaluate_expr(clause.amount, env)
    shown = result.computed if result.computed is not None else display(value)
    steps = [written] + [t for t in (numbers,) if t not in (written, printer.to_text(clause.amount), str(shown))]
    if isinstance(value, Fraction) and result.computed is not None and value != result.computed:
        return f"{' = '.join(steps)} = {display(value)} → {result.computed} ({clause.rounding.mode} to " \
               f"{clause.rounding.unit})"
    return " = ".join([*steps, str(shown)]) if written != str(shown) else written


def clause_trace(version: PolicyVersion, facts: Facts, result: ClauseResult, indent: str = "    ",
                 env: Env | None = None) -> list[str]:
    """The trace behind one clause result: conditions and values, the amount with numbers, settlement steps."""
    env = env or Env(version, facts)
    clause = version.clause(result.clause)
    out = [f"{indent}conditions 条件:"] if clause.conditions else []
    out += condition_lines(clause, env, indent + "  ")
    if result.status in ("eligible", "excluded") and result.computed is not None:
        out.append(f"{indent}amount 金额: {amount_line(clause, env, result)}")
        if clause.cap is not None:
            out.append(f"{indent}cap 上限: {clause.cap}")
    if result.status == "undetermined" and result.unknown_facts:
        missing = ", ".join(f"{version.facts[n].label} ({n})" for n in result.unknown_facts)
        out.append(f"{indent}missing 需补充: {missing}")
    for step in result.settlement:
        out.append(f"{indent}settlement 结算: {step}")
    return out


def clause_name(clause: Clause) -> str:
    """`第5条 a05 研发投入增量补助`."""
    return f"第{clause.article}条 {clause.id} {clause.title}"


def clause_heading(clause: Clause, result: ClauseResult) -> str:
    """`第5条 a05 研发投入增量补助: eligible 符合, 500000`."""
    return f"{clause_name(clause)}: {result.status} {STATUS_ZH[result.status]}, {result.amount}"
