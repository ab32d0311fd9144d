"""The reference interpreter: three-valued evaluation of a version's program, with a trace of every number.

It defines what a rule package means; every other backend must agree with it. Each expression is folded once
per program into a Python closure (`_Closures`, a fold), so deciding an applicant calls closures instead of
walking the tree; the trace (which condition decided, with values; the amount formula with numbers
substituted) is built from the program's plans with the same closures.

Deciding an applicant computes what the outcome needs (statuses, amounts, the facts an undetermined clause
lacks); an ineligible clause's reason and every clause's trace are made when first read (`ClauseResult`
defers them), from the same applicant's slots, so they read the same whenever they are read.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any, Literal, NamedTuple
from weakref import WeakKeyDictionary

from policyengine.decide.decision import ClauseResult, ConditionTrace, FactValue, Status, clause_result
from policyengine.errors import EvaluationError
from policyengine.facts.applicant import Facts
from policyengine.facts.cells import blank_value
from policyengine.facts.money import round_amount
from policyengine.facts.values import UNKNOWN, Value, display
from policyengine.ir.lower import program as lower
from policyengine.ir.program import ClausePlan, Deciding, Piece, Program, render, unknown_reason
from policyengine.lang import ast as A
from policyengine.lang import printer, traverse
from policyengine.lang.fold import fold
from policyengine.model.policy import Clause, PolicyVersion

Fn = Callable[["Env"], Value]
_PENDING: Any = object()
_LITERALS = (A.Num, A.Money, A.Percent, A.Str, A.Bool)
_SHAREABLE = (A.Lookup, A.Neg, A.Not, A.Arith, A.Compare, A.BoolOp, A.In, A.Call, A.IfElse)


def _kleene(values: list[Value], dominant: bool) -> Value:
    """Three-valued `and` (`dominant` False: any false makes it false) or `or` (`dominant` True): the dominant
    value if any operand has it, else unknown if any operand is unknown, else the other value."""
    result: Value = not dominant
    for v in values:
        if v is dominant:
            return dominant
        if v is UNKNOWN:
            result = UNKNOWN
    return result


_ORDER: dict[str, Callable[[Fraction, Fraction], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
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
    return _ORDER[op](a, b)


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


def _literal(e: A.Expr) -> tuple[bool, Value]:
    """Whether `e` is a literal, and its value."""
    return (True, e.value) if isinstance(e, _LITERALS) else (False, None)


def _shared(exprs: list[A.Expr]) -> list[A.Expr]:
    """The compound sub-expressions that occur more than once among `exprs` (equal by structure, such as the
    `Y - 1` of many clauses), outermost first: each is computed once per applicant, in a slot of its own."""
    seen: dict[A.Expr, int] = {}
    for e in exprs:
        for x in traverse.walk(e):
            if isinstance(x, _SHAREABLE):
                seen[x] = seen.get(x, 0) + 1
    return [x for x, n in seen.items() if n > 1]


class _ClauseCode(NamedTuple):
    plan: ClausePlan
    conditions: list[Fn]
    amount: Fn
    reasons: list[int]
    """Per condition, the key of the reason it gives when false (`Env.reasons`)."""
    settled: list[bool]
    """Per condition: whether every later condition is free of errors (`_Closures.safe`), so that when this one
    is false the outcome is settled without them."""
    header: tuple[str, int, str]
    """The clause's id, article and title."""


class _Closures:
    """Each expression of one program folded into a closure over an `Env`, memoised per node.

    Closures specialise the common shapes (a fact compared with a literal, a definition read from its slot),
    and a compound expression that occurs more than once in the program is computed once per applicant."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.blanks: dict[str, Value] = {n: blank_value(s) for n, s in program.facts.items()}
        self._memo: dict[int, tuple[A.Expr, Fn]] = {}
        exprs = [d.expr for d in program.definitions]
        for c in program.clauses:
            exprs.extend(x.expr for x in c.conditions)
            exprs.append(c.amount)
        shared = _shared(exprs)
        self.slots = len(program.definitions) + len(shared)
        """Per applicant: one slot per definition, then one per shared sub-expression."""
        self._shared: dict[A.Expr, int] = {x: len(program.definitions) + i for i, x in enumerate(shared)}
        self.definitions: list[Fn] = [self.of(d.expr) for d in program.definitions]
        reasons: dict[tuple[str, tuple[Piece, ...] | None], int] = {}
        self._safe: dict[str, bool] = {}
        self.code: list[_ClauseCode] = [
            _ClauseCode(c, [self.of(x.expr) for x in c.conditions], self.of(c.amount),
                        [reasons.setdefault((x.text, x.template), len(reasons)) for x in c.conditions],
                        [all(self.safe(x.expr) for x in c.conditions[i + 1:]) for i in range(len(c.conditions))],
                        (c.id, c.article, c.title))
            for c in program.clauses]
        """Each clause's closures, in article order. Conditions of the same text and reason template give the
        same reason when false (general conditions such as `E`): it is rendered once per applicant."""
        self.by_id: dict[str, _ClauseCode] = {c.plan.id: c for c in self.code}

    def safe(self, e: A.Expr) -> bool:
        """Whether computing `e` can never raise an error, whatever the facts: no division but by a non-zero
        literal, no table looked up but by an enum fact whose every value the table has, no clause result or
        other name (as invariants have), through definitions."""
        for x in traverse.walk(e):
            if isinstance(x, A.Arith) and x.op == "/":
                is_literal, divisor = _literal(x.right)
                if not (is_literal and isinstance(divisor, Fraction) and divisor != 0):
                    return False
            elif isinstance(x, A.Lookup):
                spec = self.program.facts.get(x.key.id) if isinstance(x.key, A.Name) else None
                if spec is None or spec.type != "enum" or not set(spec.values or ()) <= set(
                        self.program.tables[x.table].values):
                    return False
            elif isinstance(x, A.Attr):
                return False
            elif isinstance(x, A.Name) and x.id not in self.program.facts:
                if x.id not in self.program.definition_index:
                    return False
                if x.id not in self._safe:
                    self._safe[x.id] = False   # (definitions are not circular; this only guards the recursion)
                    self._safe[x.id] = self.safe(self.program.definition(x.id).expr)
                if not self._safe[x.id]:
                    return False
        return True

    def of(self, e: A.Expr) -> Fn:
        hit = self._memo.get(id(e))
        if hit is not None and hit[0] is e:  # the memo keeps the node alive, so its id is not reused
            return hit[1]
        fn = fold(e, self)
        slot = self._shared.get(e) if isinstance(e, _SHAREABLE) else None
        if slot is not None:
            fn = self._slotted(slot, fn)
        self._memo[id(e)] = (e, fn)
        return fn

    @staticmethod
    def _slotted(slot: int, inner: Fn) -> Fn:
        def run(env: Env) -> Value:
            v = env.defs[slot]
            if v is _PENDING:
                v = env.defs[slot] = inner(env)
            return v

        return run

    def _const(self, value: Value) -> Fn:
        return lambda env: value

    def num(self, e: A.Num) -> Fn:
        return self._const(e.value)

    def money(self, e: A.Money) -> Fn:
        return self._const(e.value)

    def percent(self, e: A.Percent) -> Fn:
        return self._const(e.value)

    def str_(self, e: A.Str) -> Fn:
        return self._const(e.value)

    def bool_(self, e: A.Bool) -> Fn:
        return self._const(e.value)

    def name(self, e: A.Name) -> Fn:
        name = e.id
        if name in self.program.facts:
            return lambda env: env.values[name]
        index = self.program.definition_index.get(name)
        if index is not None:
            def definition(env: Env) -> Value:
                v = env.defs[index]
                return env.definition(index, name) if v is _PENDING else v

            return definition
        return lambda env: env.extra_value(name)

    def attr(self, e: A.Attr) -> Fn:
        return lambda env: env.attr(e.obj, e.attr)

    def lookup(self, e: A.Lookup) -> Fn:
        key, values = self.of(e.key), self.program.tables[e.table].values

        def run(env: Env) -> Value:
            k = key(env)
            return UNKNOWN if k is UNKNOWN else values[str(k)]

        return run

    def neg(self, e: A.Neg) -> Fn:
        operand = self.of(e.operand)

        def run(env: Env) -> Value:
            v = operand(env)
            return -v if isinstance(v, Fraction) else v

        return run

    def not_(self, e: A.Not) -> Fn:
        operand = self.of(e.operand)

        def run(env: Env) -> Value:
            v = operand(env)
            return UNKNOWN if v is UNKNOWN else not v

        return run

    def arith(self, e: A.Arith) -> Fn:
        op, left, right = e.op, self.of(e.left), self.of(e.right)
        is_literal, b = _literal(e.right)
        if is_literal and isinstance(b, Fraction) and (op != "/" or b != 0):
            # `x - 1`, `x * 30%`, `x / 2`: the literal needs no check
            compute: Callable[[Fraction, Fraction], Fraction] = {
                "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[op]
            lit = b

            def with_literal(env: Env) -> Value:
                a = left(env)
                if isinstance(a, Fraction):
                    return compute(a, lit)
                return _arith(op, a, lit)

            return with_literal
        return lambda env: _arith(op, left(env), right(env))

    def compare(self, e: A.Compare) -> Fn:
        op, left, right = e.op, self.of(e.left), self.of(e.right)
        is_literal, lit = _literal(e.right)
        fact = e.left.id if isinstance(e.left, A.Name) and e.left.id in self.program.facts else None
        if op in ("==", "!=") and is_literal:
            equal = op == "=="
            if fact is not None:
                def fact_against_literal(env: Env) -> Value:
                    a = env.values[fact]
                    return UNKNOWN if a is UNKNOWN else (a == lit) is equal

                return fact_against_literal

            def against_literal(env: Env) -> Value:
                a = left(env)
                return UNKNOWN if a is UNKNOWN else (a == lit) is equal

            return against_literal
        if op in ("==", "!="):
            equal = op == "=="

            def equality(env: Env) -> Value:
                a, b = left(env), right(env)
                if a is UNKNOWN or b is UNKNOWN:
                    return UNKNOWN
                return (a == b) is equal

            return equality
        order = _ORDER[op]
        if fact is not None and is_literal and isinstance(lit, Fraction):
            bound = lit

            def fact_against_bound(env: Env) -> Value:
                a = env.values[fact]
                if isinstance(a, Fraction):
                    return order(a, bound)
                return _compare(op, a, bound)

            return fact_against_bound

        def ordered(env: Env) -> Value:
            a, b = left(env), right(env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            if isinstance(a, Fraction) and isinstance(b, Fraction):
                return order(a, b)
            return _compare(op, a, b)

        return ordered

    def boolop(self, e: A.BoolOp) -> Fn:
        operands = [self.of(x) for x in e.operands]
        dominant = e.op == "or"
        # every operand is computed (no short cut), so an error in any of them is never hidden
        return lambda env: _kleene([f(env) for f in operands], dominant)

    def in_(self, e: A.In) -> Fn:
        item, options, negated = self.of(e.item), [self.of(o) for o in e.options], e.negated

        def run(env: Env) -> Value:
            v = item(env)
            if v is UNKNOWN:
                return UNKNOWN
            return any(v == o(env) for o in options) != negated

        return run

    def call(self, e: A.Call) -> Fn:
        args = [self.of(a) for a in e.args]
        if e.func == "count":
            def count(env: Env) -> Value:
                values = [a(env) for a in args]
                return UNKNOWN if any(v is UNKNOWN for v in values) else Fraction(sum(1 for v in values if v is True))
            return count
        pick = min if e.func == "min" else max

        def extreme(env: Env) -> Value:
            values = [a(env) for a in args]
            if any(v is UNKNOWN for v in values):
                return UNKNOWN
            if any(v is None for v in values):
                return None
            return pick(v for v in values if isinstance(v, Fraction))

        return extreme

    def ifelse(self, e: A.IfElse) -> Fn:
        cond, then, other = self.of(e.cond), self.of(e.then), self.of(e.else_)

        def run(env: Env) -> Value:
            c = cond(env)
            if c is UNKNOWN:
                a, b = then(env), other(env)
                return a if a == b and a is not UNKNOWN else UNKNOWN
            return then(env) if c else other(env)

        return run


_CLOSURES: WeakKeyDictionary[Program, _Closures] = WeakKeyDictionary()
_BY_VERSION: WeakKeyDictionary[PolicyVersion, _Closures] = WeakKeyDictionary()


def closures(program: Program) -> _Closures:
    found = _CLOSURES.get(program)
    if found is None:
        found = _CLOSURES[program] = _Closures(program)
    return found


class Env:
    """Where names get their values: facts (absent ones read as their blank), definitions (each computed once,
    in its slot), extra names, and clause results (in invariants)."""

    __slots__ = ("_shown", "attrs", "closures", "defs", "extra", "facts", "program", "reasons", "values", "version")

    def __init__(self, version: PolicyVersion, facts: Facts, extra: Mapping[str, Value] | None = None,
                 attrs: Callable[[str, str], Value] | None = None) -> None:
        self.version = version
        found = _BY_VERSION.get(version)
        if found is None:
            found = _BY_VERSION[version] = closures(lower(version))
        self.closures = found
        self.program = found.program
        self.facts = facts
        self.extra = extra or {}
        self.attrs = attrs
        self.values: dict[str, Value] = {**self.closures.blanks, **facts.values}
        if self.extra:
            self.values.update((k, v) for k, v in self.extra.items() if k in self.values)
        self.defs: list[Value] = [_PENDING] * self.closures.slots
        self._shown: dict[str, FactValue] = {}
        self.reasons: dict[int, str] = {}
        """The reasons of false conditions rendered so far (`_Closures.reason_keys`)."""

    def definition(self, index: int, name: str) -> Value:
        v = self.defs[index]
        if v is _PENDING:
            v = self.extra[name] if name in self.extra else self.closures.definitions[index](self)
            self.defs[index] = v
        return v

    def extra_value(self, name: str) -> Value:
        try:
            return self.extra[name]
        except KeyError:
            raise EvaluationError(f"{name} has no value here") from None

    def attr(self, obj: str, attr: str) -> Value:
        if self.attrs is None:
            raise EvaluationError(f"{obj}.{attr} is only defined in invariants")
        return self.attrs(obj, attr)

    def name(self, name: str) -> Value:
        """The value of a fact, definition or extra name."""
        if name in self.extra:
            return self.extra[name]
        if name in self.values:
            return self.values[name]
        return self.definition(self.program.definition_index[name], name)

    def fact_value(self, name: str) -> FactValue:
        """A fact as a trace shows it: name, label and value."""
        shown = self._shown.get(name)
        if shown is None:
            shown = FactValue.trusted(fact=name, label=self.program.facts[name].label, value=display(self.name(name)))
            self._shown[name] = shown
        return shown


def evaluate_expr(e: A.Expr, env: Env) -> Value:
    """The three-valued value of `e`."""
    return env.closures.of(e)(env)


def referenced_facts(e: A.Expr, version: PolicyVersion) -> tuple[str, ...]:
    """Facts `e` reads, through definitions, in first-use order."""
    return lower(version).reads(e)


# -- traces ---------------------------------------------------------------------------------------

def deciding(d: Deciding, env: Env) -> Deciding:
    """For a false condition, the smallest part that makes it false (into definitions and conjunctions)."""
    for x, sub in d.operands:
        if evaluate_expr(x, env) is False:
            return deciding(sub, env)
    return d


def deciding_part(e: A.Expr, env: Env) -> A.Expr:
    """For a false expression, the smallest part that makes it false (into definitions and conjunctions)."""
    if isinstance(e, A.BoolOp) and e.op == "and":
        for x in e.operands:
            if evaluate_expr(x, env) is False:
                return deciding_part(x, env)
    if isinstance(e, A.Name) and e.id in env.program.definition_index:
        return deciding_part(env.program.definition(e.id).expr, env)
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


def _result_text(v: Value) -> Literal["true", "false", "unknown"]:
    return "unknown" if v is UNKNOWN else ("true" if v else "false")


def _show(env: Env) -> Callable[[str], str]:
    return lambda name: display(env.name(name))


def _reason(code: _ClauseCode, env: Env, values: list[Value], value: Value | None, rounded: int | None,
            i: int) -> str:
    """The reason of a clause whose condition `i` is its first false one (rendered once per applicant)."""
    key = code.reasons[i]
    shown = env.reasons.get(key)
    if shown is None:
        cond = code.plan.conditions[i]
        pieces = cond.template if cond.template is not None else deciding(cond.deciding, env).pieces
        shown = env.reasons[key] = render(pieces, _show(env))
    return shown


def _trace(code: _ClauseCode, env: Env, values: list[Value], value: Value | None, rounded: int | None,
           first_false: int | None) -> dict[str, Any]:
    """The deferred part of a clause result: each condition's trace and the amount formula with numbers. The
    conditions after a false one that `values` lacks (they cannot raise an error: `_Closures.safe`) are
    computed here."""
    plan = code.plan
    results = values + [f(env) for f in code.conditions[len(values):]]
    traces = []
    for cond, v in zip(plan.conditions, results, strict=False):
        traces.append(ConditionTrace.trusted(
            condition=cond.text, result=_result_text(v), values=[env.fact_value(n) for n in cond.reads],
            deciding=deciding(cond.deciding, env).text if v is False else None))
    formula = None
    if rounded is not None and isinstance(value, Fraction):
        written, filled = plan.amount_text, printer.to_text(substituted(plan.amount, env))
        formula = written if filled == written else f"{written} = {filled}"
        if value != rounded:
            formula += f" = {display(value)} → {rounded} ({plan.rounding.mode} to {plan.rounding.unit})"
        else:
            formula += f" = {rounded}"
    return {"conditions": traces, "formula": formula}


def evaluate_plan(plan: ClausePlan, env: Env) -> ClauseResult:
    """A clause's outcome before settlement: eligible with its rounded amount, ineligible, or undetermined.

    The outcome (status, amount, reason, facts to supply) is computed now; the trace when first needed."""
    return _outcome(env.closures.by_id[plan.id], env)


def _outcome(code: _ClauseCode, env: Env) -> ClauseResult:
    plan, conditions, amount, _, settled, _ = code
    # every condition is computed, so that an error in any is never hidden, except those after a false one
    # that cannot raise an error (`settled`): they cannot change the outcome, and the trace computes them
    values: list[Value] = [conditions[0](env)] if conditions else []
    first_false: int | None = 0 if values and values[0] is False else None
    if first_false is None or not settled[0]:   # (the common case, a general condition such as E false, is done)
        for i in range(1, len(conditions)):
            v = conditions[i](env)
            values.append(v)
            if v is False and first_false is None:
                first_false = i
                if settled[i]:
                    break
    status: Status
    reason = ""
    unknown: list[str] = []
    value: Value | None = None
    rounded: int | None = None
    if first_false is not None:
        status = "ineligible"
        # its reason is made when first read (`_reason`)
    elif UNKNOWN in values:
        status = "undetermined"
        facts = env.values
        for cond, v in zip(plan.conditions, values, strict=True):
            if v is UNKNOWN:
                for n in cond.reads:
                    if facts[n] is UNKNOWN and n not in unknown:
                        unknown.append(n)
        reason = unknown_reason([env.program.facts[n].label for n in unknown])
    else:
        value = amount(env)
        if value is UNKNOWN:
            status = "undetermined"
            unknown = [n for n in plan.amount_reads if env.values[n] is UNKNOWN]
            reason = unknown_reason([env.program.facts[n].label for n in unknown])
        elif isinstance(value, Fraction):
            status = "eligible"
            rounded = round_amount(value, plan.rounding.unit, plan.rounding.mode)
        else:
            raise EvaluationError(f"{env.program.key} {plan.id}: the amount has no value ({display(value)})")
    clause_id, article, title = code.header
    fields = {"clause": clause_id, "article": article, "title": title, "status": status,
              "amount": rounded or 0, "computed": rounded, "reason": reason, "unknown_facts": unknown,
              "settlement": []}
    kept = (code, env, values, value, rounded, first_false)

    def args() -> tuple[Any, ...]:   # a function: a decision copied deeply shares it, and the slots it holds
        return kept

    if first_false is not None:
        del fields["reason"]
        return clause_result((_trace, args), fields, (_reason, args))
    return clause_result((_trace, args), fields)


def evaluate_clause(clause: Clause, env: Env) -> ClauseResult:
    """`evaluate_plan` for a clause of the env's version."""
    return evaluate_plan(env.program.clause(clause.id), env)


def evaluate_clauses(version: PolicyVersion, facts: Facts) -> list[ClauseResult]:
    """Every clause of `version` for one applicant, in article order, before settlement."""
    env = Env(version, facts)
    return [_outcome(code, env) for code in env.closures.code]
