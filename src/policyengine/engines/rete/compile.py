"""A package version's clauses → one durable_rules rule each, over the one applicant fact.

The meaning is the reference interpreter's (interpreter.py): three-valued, with `None` for an event that
did not happen. To reproduce it without negation, every expression compiles to an exhaustive list of
*alternatives*: (engine condition, value), where the conditions are mutually exclusive and cover every
applicant, and a value is unknown, none, true/false, a linear form over numeric facts, or a text (a fact
or a literal). Definitions are inlined, table lookups expand over the enum's values, comparisons over
pairs of alternatives. A clause fires when each of its conditions is true (or none, which the
interpreter lets pass) and its amount is known: exactly when the interpreter finds it eligible.

The compiler reads the version's lowered program (`ir.program`): its clause plans, and its definitions by
slot (each compiled once). Both passes, the alternatives and "is the amount known", are folds over the
expression (`lang.fold`), so a new kind of node makes mypy name them.

What cannot be tested exactly (a product of two facts, a division by a fact, a clause result) raises
`ReteCompileError` naming the clause, when the version is compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from policyengine.engines.rete import conditions as ir
from policyengine.engines.rete.errors import ReteCompileError
from policyengine.engines.rete.fields import (
    MAX_FIELDS,
    NEVER_VALUE,
    RESERVED,
    TAG_FIELD,
    TAG_VALUE,
    FieldSpec,
    field_spec,
    hash_collisions,
)
from policyengine.facts.cells import blank_value
from policyengine.facts.values import Value
from policyengine.ir import ClausePlan, Program, program
from policyengine.lang import ast as A
from policyengine.lang import printer
from policyengine.lang.fold import fold
from policyengine.model.policy import PolicyVersion

MAX_PATHS = 512  # alternatives per rule; the bundled packages need at most a few


# -- values --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Unk:
    pass


@dataclass(frozen=True)
class _None:
    pass


UNK = _Unk()
NONE = _None()


@dataclass(frozen=True)
class BoolV:
    value: bool


@dataclass(frozen=True)
class NumV:
    """sum(coef × fact value) + const, in the facts' own units (yuan, years, rates as fractions)."""

    terms: tuple[tuple[str, Fraction], ...]
    const: Fraction

    @staticmethod
    def of(coefs: dict[str, Fraction], const: Fraction) -> NumV:
        return NumV(tuple(sorted((f, c) for f, c in coefs.items() if c != 0)), const)

    def coefs(self) -> dict[str, Fraction]:
        return dict(self.terms)

    def plus(self, other: NumV, sign: int = 1) -> NumV:
        out = self.coefs()
        for f, c in other.terms:
            out[f] = out.get(f, Fraction(0)) + sign * c
        return NumV.of(out, self.const + sign * other.const)

    def times(self, k: Fraction) -> NumV:
        return NumV.of({f: c * k for f, c in self.terms}, self.const * k)

    @property
    def constant(self) -> Fraction | None:
        return self.const if not self.terms else None


@dataclass(frozen=True)
class TextV:
    fact: str | None      # a text fact's value, or
    text: str | None      # a literal


Val = _Unk | _None | BoolV | NumV | TextV
Alts = tuple[tuple[ir.Cond, Val], ...]


def _merge(pairs: list[tuple[ir.Cond, Val]]) -> Alts:
    grouped: dict[Val, list[ir.Cond]] = {}
    for guard, val in pairs:
        if guard != ir.FALSE:
            grouped.setdefault(val, []).append(guard)
    return tuple((ir.disj(*gs), v) for v, gs in grouped.items())


def _guard(alts: Alts, *wanted: Val) -> ir.Cond:
    return ir.disj(*(g for g, v in alts if v in wanted))


T, F = BoolV(True), BoolV(False)


# -- the compiler --------------------------------------------------------------------------------

class _Compiler:
    """Each expression → its alternatives: a fold (`ExprFold[Alts]`), one method per kind of node.

    Named definitions are inlined, each compiled once (per definition slot of the lowered program). `fields`
    collects the facts the rules test, as they are met.
    """

    def __init__(self, prog: Program) -> None:
        self.program = prog
        self.fields: dict[str, FieldSpec] = {}
        self.interval_unsafe: set[str] = set()
        self._defs: list[Alts | None] = [None] * len(prog.definitions)
        self.known = _Known(self)

    def alts(self, e: A.Expr) -> Alts:
        return fold(e, self)

    # facts

    def fact(self, name: str) -> FieldSpec:
        spec = self.fields.get(name)
        if spec is None:
            spec = self.fields[name] = field_spec(self.program.facts[name])
        return spec

    def unknown(self, fs: FieldSpec) -> ir.Cond:
        if fs.none_field is None:
            return ir.Absent(fs.value_field)
        return ir.conj(ir.Absent(fs.value_field), ir.Absent(fs.none_field))

    def none(self, fs: FieldSpec) -> ir.Cond:
        return ir.Exists(fs.none_field) if fs.none_field is not None else ir.FALSE

    def fact_alts(self, name: str) -> Alts:
        fs = self.fact(name)
        pairs: list[tuple[ir.Cond, Val]] = [(self.unknown(fs), UNK), (self.none(fs), NONE)]
        if fs.kind == "bool":
            pairs += [(ir.BoolIs(fs.value_field, True), T), (ir.BoolIs(fs.value_field, False), F)]
        elif fs.numeric:
            pairs.append((ir.Exists(fs.value_field), NumV(((name, Fraction(1)),), Fraction(0))))
        else:
            pairs.append((ir.Exists(fs.value_field), TextV(name, None)))
        return _merge(pairs)

    # numbers → engine leaves

    def num_cmp(self, op: str, v: NumV) -> ir.Cond:
        """The leaf for `v OP 0`, in encoded integers."""
        coefs: dict[str, Fraction] = {}
        bounds: dict[str, int] = {}
        for fact, c in v.terms:
            fs = self.fact(fact)
            coefs[fs.value_field] = c / fs.scale
            bounds[fs.value_field] = fs.bound
        # A rate that is not a multiple of the resolution is encoded between two even neighbours (an odd
        # number); that is exact only for a comparison of the rate alone with a threshold on the grid.
        rates = [f for f, _ in v.terms if self.fact(f).kind == "rate"]
        if rates:
            threshold = -v.const / v.terms[0][1] * self.fact(v.terms[0][0]).scale if len(v.terms) == 1 else None
            if threshold is None or threshold.denominator != 1 or threshold.numerator % 2:
                self.interval_unsafe.update(rates)
        return ir.num_cmp(op, coefs, v.const, bounds)

    def text_eq(self, a: TextV, b: TextV) -> tuple[ir.Cond, ir.Cond]:
        if a.fact is None and b.fact is None:
            same = a.text == b.text
            return (ir.TRUE, ir.FALSE) if same else (ir.FALSE, ir.TRUE)
        if a.fact is None:
            a, b = b, a
        assert a.fact is not None
        fa = self.fact(a.fact).value_field
        if b.fact is None:
            assert b.text is not None
            return ir.TextCmp("==", fa, b.text), ir.TextCmp("!=", fa, b.text)
        if b.fact == a.fact:
            return ir.Exists(fa), ir.FALSE
        fb = self.fact(b.fact).value_field
        return ir.TextFieldCmp("==", fa, fb), ir.TextFieldCmp("!=", fa, fb)

    def equal(self, a: Val, b: Val) -> tuple[ir.Cond, ir.Cond]:
        """(a == b, a != b) as the interpreter has them, for two values that are not unknown."""
        if isinstance(a, _None) or isinstance(b, _None):
            same = isinstance(a, _None) and isinstance(b, _None)
            return (ir.TRUE, ir.FALSE) if same else (ir.FALSE, ir.TRUE)
        if isinstance(a, BoolV) and isinstance(b, BoolV):
            return (ir.TRUE, ir.FALSE) if a == b else (ir.FALSE, ir.TRUE)
        if isinstance(a, NumV) and isinstance(b, NumV):
            d = a.plus(b, -1)
            return self.num_cmp("==", d), self.num_cmp("!=", d)
        if isinstance(a, TextV) and isinstance(b, TextV):
            return self.text_eq(a, b)
        raise ReteCompileError(f"cannot compare {a} with {b}")

    # one method per kind of node

    def num(self, e: A.Num) -> Alts:
        return ((ir.TRUE, NumV((), e.value)),)

    def money(self, e: A.Money) -> Alts:
        return ((ir.TRUE, NumV((), e.value)),)

    def percent(self, e: A.Percent) -> Alts:
        return ((ir.TRUE, NumV((), e.value)),)

    def str_(self, e: A.Str) -> Alts:
        return ((ir.TRUE, TextV(None, e.value)),)

    def bool_(self, e: A.Bool) -> Alts:
        return ((ir.TRUE, BoolV(e.value)),)

    def name(self, e: A.Name) -> Alts:
        if e.id in self.program.facts:
            return self.fact_alts(e.id)
        slot = self.program.definition_index[e.id]
        found = self._defs[slot]
        if found is None:
            found = self._defs[slot] = self.alts(self.program.definitions[slot].expr)
        return found

    def attr(self, e: A.Attr) -> Alts:
        raise ReteCompileError(f"{e.obj}.{e.attr}: clause results belong in invariants")

    def lookup(self, e: A.Lookup) -> Alts:
        table = self.program.tables[e.table].values
        pairs: list[tuple[ir.Cond, Val]] = []
        for g, v in self.alts(e.key):
            if isinstance(v, TextV) and v.fact is not None:
                fs = self.fact(v.fact)
                if fs.enum_values is None:
                    raise ReteCompileError(f"{printer.to_text(e)}: the key must be an enum fact")
                for key in fs.enum_values:
                    pairs.append((ir.conj(g, ir.TextCmp("==", fs.value_field, key)), NumV((), table[key])))
            elif isinstance(v, TextV) and v.text is not None:
                pairs.append((g, NumV((), table[v.text])))
            else:  # unknown key: unknown. A none key makes the interpreter fail, so the rule must not fire.
                pairs.append((g, UNK))
        return _merge(pairs)

    def neg(self, e: A.Neg) -> Alts:
        return _merge([(g, v.times(Fraction(-1)) if isinstance(v, NumV) else v) for g, v in self.alts(e.operand)])

    def not_(self, e: A.Not) -> Alts:
        flip: dict[Val, Val] = {T: F, F: T, NONE: T, UNK: UNK}
        return _merge([(g, flip[v]) for g, v in self.bools(e.operand)])

    def arith(self, e: A.Arith) -> Alts:
        return self._numeric(e, self.alts(e.left), self.alts(e.right), lambda g, a, b: [(g, self._arith(e, a, b))])

    def compare(self, e: A.Compare) -> Alts:
        left = self.alts(e.left)
        right = self.alts(e.right)
        pairs: list[tuple[ir.Cond, Val]] = []
        for (ga, a), (gb, b) in _product(left, right):
            g = ir.conj(ga, gb)
            if isinstance(a, _Unk) or isinstance(b, _Unk):
                pairs.append((g, UNK))
            elif e.op in ("==", "!="):
                eq, ne = self.equal(a, b)
                yes, no = (eq, ne) if e.op == "==" else (ne, eq)
                pairs += [(ir.conj(g, yes), T), (ir.conj(g, no), F)]
            elif isinstance(a, _None) or isinstance(b, _None):  # no order for an event that did not happen
                pairs.append((g, F))
            elif isinstance(a, NumV) and isinstance(b, NumV):
                d = a.plus(b, -1)
                pairs += [(ir.conj(g, self.num_cmp(e.op, d)), T), (ir.conj(g, self.num_cmp(ir.NEGATE[e.op], d)), F)]
            else:
                raise ReteCompileError(f"cannot order {a} and {b}")
        return _merge(pairs)

    def boolop(self, e: A.BoolOp) -> Alts:
        ops = [self.bools(x) for x in e.operands]
        any_unknown = ir.disj(*(_guard(a, UNK) for a in ops))
        if e.op == "and":  # false if any is false; else unknown if any is unknown; else true (none passes)
            true = ir.conj(*(_guard(a, T, NONE) for a in ops))
            false = ir.disj(*(_guard(a, F) for a in ops))
            unknown = ir.conj(ir.conj(*(_guard(a, T, NONE, UNK) for a in ops)), any_unknown)
        else:              # true if any is true; else unknown if any is unknown; else false
            true = ir.disj(*(_guard(a, T) for a in ops))
            false = ir.conj(*(_guard(a, F, NONE) for a in ops))
            unknown = ir.conj(ir.conj(*(_guard(a, F, NONE, UNK) for a in ops)), any_unknown)
        return _merge([(true, T), (false, F), (unknown, UNK)])

    def in_(self, e: A.In) -> Alts:
        options = [self.alts(o) for o in e.options]
        pairs: list[tuple[ir.Cond, Val]] = []
        for g, v in self.alts(e.item):
            if isinstance(v, _Unk):
                pairs.append((g, UNK))
                continue
            found: list[ir.Cond] = []
            missing: list[ir.Cond] = []
            for alts in options:
                eqs: list[ir.Cond] = []
                nes: list[ir.Cond] = []
                for go, vo in alts:
                    if isinstance(vo, _Unk):  # `item == UNKNOWN` is simply false in the interpreter
                        nes.append(go)
                        continue
                    eq, ne = self.equal(v, vo)
                    eqs.append(ir.conj(go, eq))
                    nes.append(ir.conj(go, ne))
                found.append(ir.disj(*eqs))
                missing.append(ir.disj(*nes))
            yes, no = ir.disj(*found), ir.conj(*missing)
            if e.negated:
                yes, no = no, yes
            pairs += [(ir.conj(g, yes), T), (ir.conj(g, no), F)]
        return _merge(pairs)

    def call(self, e: A.Call) -> Alts:
        args = [self.alts(a) for a in e.args]
        if e.func == "count":
            counts: list[tuple[ir.Cond, Val]] = [(ir.TRUE, NumV((), Fraction(0)))]
            for arg in args:
                step: list[tuple[ir.Cond, Val]] = []
                for g, acc in counts:
                    for ga, v in arg:
                        if isinstance(acc, _Unk) or isinstance(v, _Unk):
                            step.append((ir.conj(g, ga), UNK))
                        elif isinstance(acc, NumV):
                            add = Fraction(1 if v == T else 0)
                            step.append((ir.conj(g, ga), NumV((), acc.const + add)))
                counts = list(_merge(step))
            return _merge(counts)
        first = "<=" if e.func == "min" else ">="

        def pick(g: ir.Cond, a: NumV, b: NumV) -> list[tuple[ir.Cond, Val]]:
            d = a.plus(b, -1)
            return [(ir.conj(g, self.num_cmp(first, d)), a), (ir.conj(g, self.num_cmp(ir.NEGATE[first], d)), b)]

        result = args[0]
        for nxt in args[1:]:
            result = self._numeric(e, result, nxt, pick)
        return result

    def ifelse(self, e: A.IfElse) -> Alts:
        cond = self.bools(e.cond)
        then, other = self.alts(e.then), self.alts(e.else_)
        pairs: list[tuple[ir.Cond, Val]] = []
        yes, no, unknown = _guard(cond, T), _guard(cond, F, NONE), _guard(cond, UNK)
        pairs += [(ir.conj(yes, g), v) for g, v in then]
        pairs += [(ir.conj(no, g), v) for g, v in other]
        # unknown condition: the value if both branches agree on a known value, else unknown
        for (gt, vt), (ge, ve) in _product(then, other):
            g = ir.conj(unknown, gt, ge)
            if isinstance(vt, _Unk) or isinstance(ve, _Unk):
                pairs.append((g, UNK))
                continue
            eq, ne = self.equal(vt, ve)
            pairs += [(ir.conj(g, eq), vt), (ir.conj(g, ne), UNK)]
        return _merge(pairs)

    # helpers of the node methods

    def bools(self, e: A.Expr) -> Alts:
        out = self.alts(e)
        for _, v in out:
            if not isinstance(v, BoolV | _Unk | _None):
                raise ReteCompileError(f"{printer.to_text(e)} is not a condition")
        return out

    def _numeric(self, e: A.Expr, left: Alts, right: Alts,
                 combine: Callable[[ir.Cond, NumV, NumV], list[tuple[ir.Cond, Val]]]) -> Alts:
        """Every pair of cases of two numeric operands: unknown wins, then none, else `combine` the numbers."""
        pairs: list[tuple[ir.Cond, Val]] = []
        for (ga, a), (gb, b) in _product(left, right):
            g = ir.conj(ga, gb)
            if isinstance(a, _Unk) or isinstance(b, _Unk):
                pairs.append((g, UNK))
            elif isinstance(a, _None) or isinstance(b, _None):
                pairs.append((g, NONE))
            elif isinstance(a, NumV) and isinstance(b, NumV):
                pairs += combine(g, a, b)
            else:
                raise ReteCompileError(f"{printer.to_text(e)}: arithmetic on a non-number")
        return _merge(pairs)

    def _arith(self, e: A.Arith, a: NumV, b: NumV) -> NumV:
        if e.op == "+":
            return a.plus(b)
        if e.op == "-":
            return a.plus(b, -1)
        if e.op == "*":
            if a.constant is not None:
                return b.times(a.constant)
            if b.constant is not None:
                return a.times(b.constant)
            raise ReteCompileError(f"{printer.to_text(e)}: a product of two facts cannot be tested exactly")
        if b.constant is None:
            raise ReteCompileError(f"{printer.to_text(e)}: division by a fact cannot be tested exactly "
                                   "(the engine dies on an integer division by zero)")
        if b.constant == 0:
            raise ReteCompileError(f"{printer.to_text(e)}: division by zero")
        return a.times(1 / b.constant)

    # a clause

    def clause(self, plan: ClausePlan) -> ir.Cond:
        """Fires iff the interpreter finds the clause eligible: no condition false or unknown, amount known."""
        parts = [_guard(self.bools(c.expr), T, NONE) for c in plan.conditions]
        parts.append(self.known.of(plan.amount))
        return ir.conj(*parts)


class _Known:
    """When the value of an expression is known (it may be none): a fold (`ExprFold[ir.Cond]`) that avoids
    splitting on values where it can (an amount is only checked to be known; its value is the interpreter's)."""

    def __init__(self, compiler: _Compiler) -> None:
        self.c = compiler
        self._defs: list[ir.Cond | None] = [None] * len(compiler.program.definitions)

    def of(self, e: A.Expr) -> ir.Cond:
        return fold(e, self)

    def _by_values(self, e: A.Expr) -> ir.Cond:
        """The guards of `e`'s alternatives that are not unknown."""
        return ir.disj(*(g for g, v in self.c.alts(e) if not isinstance(v, _Unk)))

    def num(self, e: A.Num) -> ir.Cond:
        return ir.TRUE

    def money(self, e: A.Money) -> ir.Cond:
        return ir.TRUE

    def percent(self, e: A.Percent) -> ir.Cond:
        return ir.TRUE

    def str_(self, e: A.Str) -> ir.Cond:
        return ir.TRUE

    def bool_(self, e: A.Bool) -> ir.Cond:
        return ir.TRUE

    def name(self, e: A.Name) -> ir.Cond:
        if e.id in self.c.program.facts:
            fs = self.c.fact(e.id)
            return ir.disj(ir.Exists(fs.value_field), self.c.none(fs))
        slot = self.c.program.definition_index[e.id]
        found = self._defs[slot]
        if found is None:
            found = self._defs[slot] = self.of(self.c.program.definitions[slot].expr)
        return found

    def attr(self, e: A.Attr) -> ir.Cond:
        return self._by_values(e)  # refused

    def lookup(self, e: A.Lookup) -> ir.Cond:
        return self.of(e.key)

    def neg(self, e: A.Neg) -> ir.Cond:
        return self.of(e.operand)

    def not_(self, e: A.Not) -> ir.Cond:
        return self.of(e.operand)

    def arith(self, e: A.Arith) -> ir.Cond:
        return ir.conj(self.of(e.left), self.of(e.right))

    def compare(self, e: A.Compare) -> ir.Cond:
        return ir.conj(self.of(e.left), self.of(e.right))

    def boolop(self, e: A.BoolOp) -> ir.Cond:
        return self._by_values(e)

    def in_(self, e: A.In) -> ir.Cond:
        return self.of(e.item)  # an unknown option is simply not equal to the item

    def call(self, e: A.Call) -> ir.Cond:
        return ir.conj(*(self.of(a) for a in e.args))

    def ifelse(self, e: A.IfElse) -> ir.Cond:
        if self.of(e.then) == ir.TRUE and self.of(e.else_) == ir.TRUE:
            # branches always known: unknown only when the condition is and the branches differ
            agree = [ir.conj(gt, ge, self.c.equal(vt, ve)[0])
                     for (gt, vt), (ge, ve) in _product(self.c.alts(e.then), self.c.alts(e.else_))]
            return ir.disj(self.of(e.cond), ir.conj(_guard(self.c.bools(e.cond), UNK), ir.disj(*agree)))
        return self._by_values(e)


def _product(a: Alts, b: Alts) -> list[tuple[tuple[ir.Cond, Val], tuple[ir.Cond, Val]]]:
    return [(x, y) for x in a for y in b]


# -- a compiled version --------------------------------------------------------------------------

@dataclass(frozen=True)
class CompiledRule:
    clause: str
    paths: int          # alternatives of the rule; 0 = the clause can never be eligible


@dataclass(frozen=True)
class CompiledVersion:
    """What the engine needs for one package version, and what the fact encoder needs to feed it."""

    key: str
    content_hash: str
    ruleset_name: str
    definition: dict[str, Any]
    rules: dict[str, CompiledRule]
    match_stack: int                        # the deepest alpha-node stack a fact can need in the engine
    fields: dict[str, FieldSpec]            # the facts the rules read, by fact name
    blanks: dict[str, Value]                # what each of them reads as when the applicant leaves it out
    interval_rates: frozenset[str]          # rate facts that may be encoded between grid points


def compile_version(version: PolicyVersion) -> CompiledVersion:
    """Compile every clause of `version`; raise `ReteCompileError` listing every clause that cannot be."""
    prog = program(version)
    c = _Compiler(prog)
    all_paths: dict[str, list[ir.Path]] = {}
    problems: list[str] = []
    exclusive: dict[str, str] = {}
    for plan in prog.clauses:
        try:
            cond = c.clause(plan)
            for fs in c.fields.values():
                if fs.none_field is not None:
                    exclusive[fs.value_field], exclusive[fs.none_field] = fs.none_field, fs.value_field
            paths = ir.dnf(cond, exclusive, MAX_PATHS)
        except ReteCompileError as exc:
            problems.append(f"{plan.id} (article {plan.article}): {exc}")
            continue
        all_paths[plan.id] = paths
    if problems:
        raise ReteCompileError(f"{version.key}: the Rete backend cannot compile "
                               + "; ".join(problems) + " (use backend='interpreter')")
    definition, stack = ir.emit_rules(all_paths, (TAG_FIELD, TAG_VALUE), (TAG_FIELD, NEVER_VALUE))
    if stack > ir.ENGINE_STACK:
        raise ReteCompileError(f"{version.key}: the engine would need {stack} entries on its match stack, "
                               f"beyond its {ir.ENGINE_STACK}; use backend='interpreter'")
    rules = {cid: CompiledRule(cid, len(paths)) for cid, paths in all_paths.items()}
    names = [*RESERVED]
    for fs in c.fields.values():
        names.append(fs.value_field)
        if fs.none_field is not None:
            names.append(fs.none_field)
    clashes = hash_collisions(names)
    if clashes:
        pairs = ", ".join(f"{a!r} and {b!r}" for a, b in clashes)
        raise ReteCompileError(f"{version.key}: the engine identifies field names by a 32-bit hash, and {pairs} "
                               "share one; rename a fact or use backend='interpreter'")
    rule_clashes = hash_collisions(list(rules))
    if rule_clashes:
        raise ReteCompileError(f"{version.key}: clause ids {rule_clashes} share a 32-bit hash in the engine")
    if len(names) - len(RESERVED) > MAX_FIELDS:
        raise ReteCompileError(f"{version.key}: the rules read {len(names) - len(RESERVED)} engine fields; "
                               f"the engine takes at most {MAX_FIELDS} per fact")
    return CompiledVersion(
        key=version.key, content_hash=version.content_hash,
        ruleset_name=f"policyengine:{version.key}:{version.content_hash.removeprefix('sha256:')[:16]}",
        definition=definition, rules=rules, match_stack=stack, fields=dict(sorted(c.fields.items())),
        blanks={f: blank_value(prog.facts[f]) for f in sorted(c.fields)},
        interval_rates=frozenset(f for f, fs in c.fields.items() if fs.kind == "rate" and f not in c.interval_unsafe))
