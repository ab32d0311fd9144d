"""The reference interpreter: three-valued evaluation of the AST, with a trace of every number.

It defines what a rule package means; every other backend must agree with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any, Literal

from policyengine.decide.decision import ClauseResult, ConditionTrace, FactValue, Status
from policyengine.errors import EvaluationError
from policyengine.facts.applicant import Facts
from policyengine.facts.money import round_amount
from policyengine.facts.values import UNKNOWN, Value, display
from policyengine.lang import ast as A
from policyengine.lang import printer, traverse
from policyengine.model.policy import Clause, PolicyVersion


def _kleene_and(values: list[Value]) -> Value:
    if any(v is False for v in values):
        return False
    if any(v is UNKNOWN for v in values):
        return UNKNOWN
    return True


def _kleene_or(values: list[Value]) -> Value:
    if any(v is True for v in values):
        return True
    if any(v is UNKNOWN for v in values):
        return UNKNOWN
    return False


_CMP: dict[str, Callable[[Fraction, Fraction], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _compare(op: str, a: Value, b: Value) -> Value:
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if a is None or b is None:  # an event that did not happen has no order: the comparison is false
        return False
    if not (isinstance(a, Fraction) and isinstance(b, Fraction)):
        raise EvaluationError(f"cannot order {display(a)} and {display(b)}")  # pragma: no cover - type-checked
    return _CMP[op](a, b)


def _arith(op: str, a: Value, b: Value) -> Value:
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    if a is None or b is None:
        return None
    if not (isinstance(a, Fraction) and isinstance(b, Fraction)):
        raise EvaluationError(f"cannot compute {display(a)} {op} {display(b)}")  # pragma: no cover
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise EvaluationError(f"division by zero: {display(a)} / 0")
    return a / b


class Env:
    """Where names get their values: facts, definitions (evaluated once), tables, extra names, clause results."""

    def __init__(self, version: PolicyVersion, facts: Facts, extra: Mapping[str, Value] | None = None,
                 attrs: Callable[[str, str], Value] | None = None) -> None:
        self.version = version
        self.facts = facts
        self.extra = extra or {}
        self.attrs = attrs
        self._defs: dict[str, Value] = {}
        self._shown: dict[str, FactValue] = {}

    def fact_value(self, name: str) -> FactValue:
        """A fact as a trace shows it: name, label and value."""
        shown = self._shown.get(name)
        if shown is None:
            shown = FactValue(fact=name, label=self.version.facts[name].label, value=display(self.name(name)))
            self._shown[name] = shown
        return shown

    def name(self, name: str) -> Value:
        if name in self.extra:
            return self.extra[name]
        spec = self.version.facts.get(name)
        if spec is not None:
            return self.facts.get(name, spec)
        if name not in self._defs:
            self._defs[name] = evaluate_expr(self.version.definitions[name], self)
        return self._defs[name]


def evaluate_expr(e: A.Expr, env: Env) -> Value:
    """The three-valued value of `e`."""
    return _EVAL[type(e)](e, env)


def _literal(e: Any, env: Env) -> Value:
    return e.value  # type: ignore[no-any-return]


def _name(e: A.Name, env: Env) -> Value:
    return env.name(e.id)


def _attr(e: A.Attr, env: Env) -> Value:
    if env.attrs is None:
        raise EvaluationError(f"{e.obj}.{e.attr} is only defined in invariants")
    return env.attrs(e.obj, e.attr)


def _lookup(e: A.Lookup, env: Env) -> Value:
    key = evaluate_expr(e.key, env)
    if key is UNKNOWN:
        return UNKNOWN
    return env.version.tables[e.table].values[str(key)]


def _neg(e: A.Neg, env: Env) -> Value:
    v = evaluate_expr(e.operand, env)
    return -v if isinstance(v, Fraction) else v


def _not(e: A.Not, env: Env) -> Value:
    v = evaluate_expr(e.operand, env)
    return UNKNOWN if v is UNKNOWN else not v


def _arith_node(e: A.Arith, env: Env) -> Value:
    return _arith(e.op, evaluate_expr(e.left, env), evaluate_expr(e.right, env))


def _compare_node(e: A.Compare, env: Env) -> Value:
    return _compare(e.op, evaluate_expr(e.left, env), evaluate_expr(e.right, env))


def _boolop(e: A.BoolOp, env: Env) -> Value:
    values = [evaluate_expr(x, env) for x in e.operands]
    return _kleene_and(values) if e.op == "and" else _kleene_or(values)


def _in(e: A.In, env: Env) -> Value:
    item = evaluate_expr(e.item, env)
    if item is UNKNOWN:
        return UNKNOWN
    found = any(item == evaluate_expr(o, env) for o in e.options)
    return found != e.negated


def _call(e: A.Call, env: Env) -> Value:
    args = [evaluate_expr(a, env) for a in e.args]
    if e.func == "count":
        return UNKNOWN if any(a is UNKNOWN for a in args) else Fraction(sum(1 for a in args if a is True))
    if any(a is UNKNOWN for a in args):
        return UNKNOWN
    if any(a is None for a in args):
        return None
    numbers = [a for a in args if isinstance(a, Fraction)]
    return min(numbers) if e.func == "min" else max(numbers)


def _ifelse(e: A.IfElse, env: Env) -> Value:
    cond = evaluate_expr(e.cond, env)
    if cond is UNKNOWN:
        then, other = evaluate_expr(e.then, env), evaluate_expr(e.else_, env)
        return then if then == other and then is not UNKNOWN else UNKNOWN
    return evaluate_expr(e.then if cond else e.else_, env)


_EVAL: dict[type, Callable[[Any, Env], Value]] = {
    A.Num: _literal, A.Money: _literal, A.Percent: _literal, A.Str: _literal, A.Bool: _literal,
    A.Name: _name, A.Attr: _attr, A.Lookup: _lookup, A.Neg: _neg, A.Not: _not, A.Arith: _arith_node,
    A.Compare: _compare_node, A.BoolOp: _boolop, A.In: _in, A.Call: _call, A.IfElse: _ifelse,
}


# -- traces ---------------------------------------------------------------------------------------

def referenced_facts(e: A.Expr, version: PolicyVersion) -> tuple[str, ...]:
    """Facts `e` reads, through definitions, in first-use order."""
    cached = version.reads_cache.get(id(e))
    if cached is not None and cached[0] is e:  # the node is kept alive by the cache, so its id is not reused
        return cached[1]
    out: list[str] = []

    def walk(x: A.Expr) -> None:
        if isinstance(x, A.Name):
            if x.id in version.facts:
                if x.id not in out:
                    out.append(x.id)
            elif x.id in version.definitions:
                walk(version.definitions[x.id])
        for c in traverse.children(x):
            walk(c)

    walk(e)
    result = tuple(out)
    version.reads_cache[id(e)] = (e, result)
    return result


def _fact_values(e: A.Expr, env: Env) -> list[FactValue]:
    return [env.fact_value(n) for n in referenced_facts(e, env.version)]


_TEXTS: dict[int, tuple[A.Expr, str]] = {}


def rule_text(e: A.Expr) -> str:
    """`to_text` of a node of a loaded rule (conditions, amounts and their parts), computed once per node."""
    hit = _TEXTS.get(id(e))
    if hit is not None and hit[0] is e:  # the cache keeps the node alive, so its id is not reused
        return hit[1]
    text = printer.to_text(e)
    _TEXTS[id(e)] = (e, text)
    return text


def deciding_part(e: A.Expr, env: Env) -> A.Expr:
    """For a false condition, the smallest part that makes it false (into definitions and conjunctions)."""
    if isinstance(e, A.BoolOp) and e.op == "and":
        for x in e.operands:
            if evaluate_expr(x, env) is False:
                return deciding_part(x, env)
    if isinstance(e, A.Name) and e.id in env.version.definitions:
        return deciding_part(env.version.definitions[e.id], env)
    return e


def substituted(e: A.Expr, env: Env) -> A.Expr:
    """`e` with every fact, definition, table entry and clause result replaced by its value, for traces."""

    def value_of(x: A.Expr) -> A.Expr | None:
        if not isinstance(x, A.Name | A.Lookup | A.Attr):
            return None
        v = evaluate_expr(x, env)
        if isinstance(v, Fraction):
            return A.Num(v) if v >= 0 else A.Neg(A.Num(-v))
        if isinstance(v, str):
            return A.Str(v)
        if isinstance(v, bool):
            return A.Bool(v)
        return x

    return traverse.rewrite(e, value_of)


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _render_reason(template: str, env: Env) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in env.version.facts or name in env.version.definitions:
            return display(env.name(name))
        return m.group(0)

    return _PLACEHOLDER.sub(repl, template)


def _unknown_reason(names: list[str], env: Env) -> str:
    return ", ".join(env.version.facts[n].label for n in names) + " unknown"


def _result_text(v: Value) -> Literal["true", "false", "unknown"]:
    return "unknown" if v is UNKNOWN else ("true" if v else "false")


def evaluate_clause(clause: Clause, env: Env) -> ClauseResult:
    """A clause's outcome before settlement: eligible with its rounded amount, ineligible, or undetermined."""
    traces: list[ConditionTrace] = []
    first_false: tuple[int, A.Expr] | None = None
    unknown: list[str] = []
    for i, cond in enumerate(clause.conditions):
        v = evaluate_expr(cond.expr, env)
        trace = ConditionTrace(condition=cond.text, result=_result_text(v), values=_fact_values(cond.expr, env))
        if v is False:
            part = deciding_part(cond.expr, env)
            trace.deciding = rule_text(part)
            if first_false is None:
                first_false = (i, part)
        elif v is UNKNOWN:
            for n in referenced_facts(cond.expr, env.version):
                if env.name(n) is UNKNOWN and n not in unknown:
                    unknown.append(n)
        traces.append(trace)

    def result(status: Status, **kw: Any) -> ClauseResult:
        return ClauseResult(clause=clause.id, article=clause.article, title=clause.title, conditions=traces,
                            status=status, **kw)

    if first_false is not None:
        i, part = first_false
        cond = clause.conditions[i]
        if cond.reason:
            reason = _render_reason(cond.reason, env)
        else:
            seen = ", ".join(f"{fv.label}={fv.value}" for fv in _fact_values(part, env))
            reason = f"{rule_text(part)} is false" + (f" ({seen})" if seen else "")
        return result("ineligible", amount=0, reason=reason)
    if unknown:
        return result("undetermined", amount=0, unknown_facts=unknown, reason=_unknown_reason(unknown, env))
    value = evaluate_expr(clause.amount, env)
    if value is UNKNOWN:
        needed = [n for n in referenced_facts(clause.amount, env.version) if env.name(n) is UNKNOWN]
        return result("undetermined", amount=0, unknown_facts=needed, reason=_unknown_reason(needed, env))
    if not isinstance(value, Fraction):
        raise EvaluationError(f"{env.version.key} {clause.id}: the amount has no value ({display(value)})")
    rounded = round_amount(value, clause.rounding.unit, clause.rounding.mode)
    written, filled = rule_text(clause.amount), printer.to_text(substituted(clause.amount, env))
    formula = written if filled == written else f"{written} = {filled}"
    if value != rounded:
        formula += f" = {display(value)} → {rounded} ({clause.rounding.mode} to {clause.rounding.unit})"
    else:
        formula += f" = {rounded}"
    return result("eligible", amount=rounded, computed=rounded, formula=formula)


def evaluate_clauses(version: PolicyVersion, facts: Facts) -> list[ClauseResult]:
    """Every clause of `version` for one applicant, in article order, before settlement."""
    env = Env(version, facts)
    return [evaluate_clause(c, env) for c in version.clauses]
