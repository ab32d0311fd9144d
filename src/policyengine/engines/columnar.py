"""The columnar backend: a version's lowered `Program` compiled to polars expressions over a whole population at
once (`Compiler` is a fold over the expressions; reasons are rendered from the clause plans' reason plans).

It computes what the reference interpreter (`policyengine.engines.interpreter`) computes, row by row:

* **Three values.** A compiled expression's `val` column is null where the value is *unknown*. Polars' `&`,
  `|` and `~` on Boolean columns are Kleene's, as the interpreter's `and`, `or`, `not` are.
* **'Did not happen'.** Where the interpreter holds None (a blank year, an event that did not happen), the
  compiled expression's separate Boolean `none` column is true and `val` holds a filler (never null). Unknown
  wins over none, as in the interpreter; ordering comparisons with none are false, `none == none` is true,
  arithmetic with none is none.
* **Exact numbers.** A number is an integer column `val` and a static denominator `den` (the value is
  val / den), so money is held in fen, `10%` is 1/10, and sums and products stay exact. A static bound on
  |val| is carried along (from the facts' largest values in the population compiled for, else the parser's
  limits): below 2^62 the column is Int64, above it the operands are widened to Int128 first; an expression
  that could leave Int128, or amounts that could leave Int64, are not compiled (the batch then leaves the
  version to the interpreter), so nothing ever wraps around.
* **Text.** An enum fact's column is an Enum (compared with a literal as a category); other text is String.
* **Rounding** is half up (or as the clause declares) in integer arithmetic, never polars' `round`, which
  rounds half to even.

Division by anything but a non-zero literal, and clause results in expressions (`a05.amount`), are not
compiled: `NotCompilable` says why, and the batch evaluates that version with the reference interpreter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import reduce
from typing import Any, cast

import polars as pl

from policyengine.batch.parse import LIMIT, SCALE, categories, dtype_of, has_none, none_col, value_col
from policyengine.errors import CannotCompile
from policyengine.ir.lower import program
from policyengine.ir.program import ClausePlan, ConditionPlan, Deciding, Piece, unknown_reason
from policyengine.lang import ast as A
from policyengine.lang.fold import fold
from policyengine.model.policy import PolicyVersion

MAX_BOUND = 2**125
"""Largest |value| any intermediate column may reach (Int128 holds up to 2^127 - 1)."""

ELIGIBLE, INELIGIBLE, UNDETERMINED, EXCLUDED, FAILED = range(5)
STATUS_NAMES = ("eligible", "ineligible", "undetermined", "excluded")
I128 = pl.Int128()
SMALL = 2**62
"""Values bounded below this are held in Int64 columns (faster); larger bounds widen to Int128 before the
operation that could reach them."""


def int_type(bound: int) -> pl.DataType:
    """The integer type that holds every value of |value| <= bound (with room for one more addition)."""
    return pl.Int64() if bound < SMALL else I128


class NotCompilable(CannotCompile):
    """A construct the columnar backend does not compile; the version is evaluated by the interpreter."""


@dataclass(frozen=True)
class Col:
    """A compiled expression: `val` (null = unknown), `none` (true = did not happen; None = never)."""

    kind: str  # num | bool | str
    val: pl.Expr
    none: pl.Expr | None = None
    den: int = 1
    bound: int = 0
    const: Fraction | None = None
    nullable: bool = True
    """False when `val` is never null (never unknown) in the population compiled for."""
    level: int = 0
    """1 + the highest stage of materialised columns this expression reads (0: input columns only)."""
    categories: pl.Enum | None = None
    """The Enum dtype of `val` when it is an enum fact's column (a byte per row), else None (String)."""

    def is_unknown(self) -> pl.Expr:
        return self.val.is_null() if self.nullable else pl.lit(False)

    def none_or_false(self) -> pl.Expr:
        return self.none if self.none is not None else pl.lit(False)


@dataclass(frozen=True)
class Population:
    """What the fact columns of a population may hold, as far as compiling for it goes (None: anything)."""

    nullable: frozenset[str] | None = None
    """Facts whose column holds an unknown value somewhere."""
    noneable: frozenset[str] | None = None
    """Facts whose 'did not happen' column is true somewhere."""
    bounds: tuple[tuple[str, int], ...] | None = None
    """(fact, bound on |value|) of numeric facts, below the parser's `LIMIT`: the compiled arithmetic stays in
    Int64 where these bounds allow, rather than where the limits do."""

    def bound(self, fact: str, limit: int) -> int:
        """The bound on a numeric fact's |column value|: the population's, or the parser's limit."""
        if self.bounds is None:
            return limit
        return min(dict(self.bounds).get(fact, limit), limit)


def population_bound(largest: int) -> int:
    """A bound on values up to `largest`, rounded up (to 2^k - 1) so that similar populations share a compile."""
    return (1 << max(largest, 1).bit_length()) - 1


def negate(x: pl.Expr) -> pl.Expr:
    """-x (polars has no unary minus for Int128); an Int64 column stays Int64 (its bound is below 2^62)."""
    return pl.lit(0, dtype=pl.Int64) - x


def _lit_bool(v: bool | None) -> pl.Expr:
    return pl.lit(v, dtype=pl.Boolean)


def _nullable(*cols: Col) -> bool:
    return any(c.nullable for c in cols)


def _level(*cols: Col) -> int:
    return max((c.level for c in cols), default=0)


def _any_none(*cols: Col) -> pl.Expr | None:
    nones = [c.none for c in cols if c.none is not None]
    return reduce(lambda a, b: a | b, nones) if nones else None


def _checked(c: Col) -> Col:
    if c.bound >= MAX_BOUND:
        raise NotCompilable("an intermediate value could exceed 128-bit integers")
    return c


def widen(c: Col, bound: int) -> Col:
    """`c` as Int128 when a result bounded by `bound` would not fit Int64 comfortably."""
    return replace(c, val=c.val.cast(I128)) if bound >= SMALL else c


def rescale(c: Col, den: int) -> Col:
    """The same value over denominator `den` (a multiple of c.den)."""
    m = den // c.den
    if m == 1:
        return c
    c = widen(c, c.bound * m)
    return _checked(replace(c, val=c.val * m, den=den, bound=c.bound * m))


def _common(*cols: Col) -> list[Col]:
    den = reduce(math.lcm, (c.den for c in cols), 1)
    return [rescale(c, den) for c in cols]


def _null_if_unknown(result: pl.Expr, *cols: Col) -> pl.Expr:
    maybe = [c for c in cols if c.nullable]
    if not maybe:
        return result
    unknown = reduce(lambda a, b: a | b, (c.is_unknown() for c in maybe))
    return pl.when(unknown).then(_lit_bool(None)).otherwise(result)


def as_text(c: Col) -> Col:
    """`c` as a String column (an enum fact's column is an Enum)."""
    return replace(c, val=c.val.cast(pl.String), categories=None) if c.categories is not None else c


def _same_text(a: Col, b: Col) -> tuple[Col, Col]:
    """Two text columns that polars can compare or choose between: an Enum column with a literal or with the
    same Enum as is (a literal that is not a category equals no row), otherwise both as String."""
    if a.categories == b.categories or (a.categories is None and a.val.meta.is_literal()) \
            or (b.categories is None and b.val.meta.is_literal()):
        return a, b
    return as_text(a), as_text(b)


def _py_eq(a: Col, b: Col) -> pl.Expr:
    """Python's `a == b` on interpreter values where neither is unknown: none == none, none != anything else."""
    if a.kind == "num":
        a, b = _common(a, b)
    elif a.kind == "str":
        a, b = _same_text(a, b)
    eq = a.val == b.val
    if a.none is None and b.none is None:
        return eq
    na, nb = a.none_or_false(), b.none_or_false()
    return pl.when(na & nb).then(True).when(na | nb).then(False).otherwise(eq)


class Compiler:
    """Compiles the expressions of one version (an `ExprFold[Col]`); each definition is compiled once, into its
    slot of the version's `Program`.

    `population` says what the columns of the population compiled for may hold (None: anything the parser
    gives); the rest compiles to simpler expressions. Definitions, conditions, table lookups and amounts are
    materialised as columns (`stages`), computed once per row however many expressions read them."""

    def __init__(self, version: PolicyVersion, population: Population | None = None) -> None:
        self.version = version
        self.program = program(version)
        self.population = population or Population()
        self._slots: dict[int, Col] = {}
        self.stages: list[list[pl.Expr]] = []
        self.temps: list[str] = []
        self._materialised: dict[object, Col] = {}
        self.text_stage: list[pl.Expr] = []
        self._texts: dict[object, pl.Expr] = {}

    def materialise(self, c: Col, key: object) -> Col:
        """`c` computed once into temporary columns (a stage before the expressions that read it)."""
        if key in self._materialised:
            return self._materialised[key]
        simple = c.val.meta.is_column() or c.val.meta.is_literal()
        if simple and (c.none is None or c.none.meta.is_column()):
            return c
        n = len(self._materialised)
        while len(self.stages) <= c.level:
            self.stages.append([])
        val_name = f"__m{n}:{self.version.key}"
        self.stages[c.level].append(c.val.alias(val_name))
        self.temps.append(val_name)
        none = None
        if c.none is not None:
            none_name = f"__m{n}n:{self.version.key}"
            self.stages[c.level].append(c.none.alias(none_name))
            self.temps.append(none_name)
            none = pl.col(none_name)
        out = replace(c, val=pl.col(val_name), none=none, level=c.level + 1)
        self._materialised[key] = out
        return out

    def expr(self, e: A.Expr) -> Col:
        return fold(e, self)

    # -- names ------------------------------------------------------------------------------------------

    def fact(self, name: str) -> Col:
        spec = self.program.facts[name]
        pop = self.population
        noneable = has_none(spec) and (pop.noneable is None or name in pop.noneable)
        none = pl.col(none_col(name)) if noneable else None
        col = pl.col(value_col(name))
        nullable = pop.nullable is None or name in pop.nullable
        if spec.type in SCALE:
            if dtype_of(spec) != pl.Int64():
                col = col.cast(pl.Int64)  # a narrower column (years) is computed with in Int64, as the bounds assume
            return Col("num", col, none, SCALE[spec.type], pop.bound(name, LIMIT[spec.type]), nullable=nullable)
        if spec.type == "bool":
            return Col("bool", col, nullable=nullable)
        return Col("str", col, none, nullable=nullable, categories=categories(spec))

    def named(self, name: str) -> Col:
        """A fact's column, or a definition's (compiled on first use, materialised in its slot)."""
        if name in self.program.facts:
            return self.fact(name)
        d = self.program.definition(name)
        if d.index not in self._slots:
            self._slots[d.index] = self.materialise(self.expr(d.expr), ("def", d.index))
        return self._slots[d.index]

    # -- the fold: one method per node kind ---------------------------------------------------------------

    def _number(self, v: Fraction) -> Col:
        return Col("num", pl.lit(v.numerator, dtype=int_type(abs(v.numerator))), None, v.denominator,
                   abs(v.numerator), v, nullable=False)

    def num(self, e: A.Num) -> Col:
        return self._number(e.value)

    def money(self, e: A.Money) -> Col:
        return self._number(e.value)

    def percent(self, e: A.Percent) -> Col:
        return self._number(e.value)

    def str_(self, e: A.Str) -> Col:
        return Col("str", pl.lit(e.value, dtype=pl.String), nullable=False)

    def bool_(self, e: A.Bool) -> Col:
        return Col("bool", pl.lit(e.value, dtype=pl.Boolean), nullable=False)

    def name(self, e: A.Name) -> Col:
        return self.named(e.id)

    def attr(self, e: A.Attr) -> Col:
        raise NotCompilable(f"{e.obj}.{e.attr}: clause results are not compiled")

    def neg(self, e: A.Neg) -> Col:
        c = self.expr(e.operand)
        return replace(c, val=negate(c.val), const=-c.const if c.const is not None else None)

    def not_(self, e: A.Not) -> Col:
        c = self.expr(e.operand)
        return Col("bool", ~c.val, nullable=c.nullable, level=c.level)

    def boolop(self, e: A.BoolOp) -> Col:
        cols = [self.expr(x) for x in e.operands]
        op: Callable[[pl.Expr, pl.Expr], pl.Expr] = (lambda a, b: a & b) if e.op == "and" else (lambda a, b: a | b)
        return Col("bool", reduce(op, [c.val for c in cols]), nullable=_nullable(*cols), level=_level(*cols))

    def lookup(self, e: A.Lookup) -> Col:
        key = self.expr(e.key)
        if key.none is not None:
            raise NotCompilable(f"{e.table}[...]: a key that may be none")
        table = self.program.tables[e.table]
        den = reduce(math.lcm, (v.denominator for v in table.values.values()), 1)
        # an Enum column holds only its categories: a key that is none of them matches no row
        keys = [k for k in table.values if key.categories is None or k in key.categories.categories]
        nums = [int(table.values[k] * den) for k in keys]
        bound = max((abs(n) for n in nums), default=0)
        val = key.val.replace_strict(keys, nums, default=None, return_dtype=int_type(bound))
        return self.materialise(_checked(Col("num", val, None, den, bound, level=key.level)), ("lookup", e))

    def arith(self, e: A.Arith) -> Col:
        op, a, b = e.op, self.expr(e.left), self.expr(e.right)
        none = _any_none(a, b)
        const = None
        if a.const is not None and b.const is not None and not (op == "/" and b.const == 0):
            const = {"+": a.const + b.const, "-": a.const - b.const, "*": a.const * b.const,
                     "/": a.const / b.const if b.const else None}[op]
        if const is not None:
            return self._number(const)
        nullable, level = _nullable(a, b), _level(a, b)
        if op in "+-":
            x, y = _common(a, b)
            x, y = widen(x, x.bound + y.bound), widen(y, x.bound + y.bound)
            val = x.val + y.val if op == "+" else x.val - y.val
            return _checked(Col("num", val, none, x.den, x.bound + y.bound, nullable=nullable, level=level))
        if op == "*":
            a, b = widen(a, a.bound * b.bound), widen(b, a.bound * b.bound)
            return _checked(Col("num", a.val * b.val, none, a.den * b.den, a.bound * b.bound, nullable=nullable,
                                level=level))
        if b.const is None or b.const == 0:
            raise NotCompilable("division by a fact, or by zero, is left to the interpreter")
        p, q = b.const.numerator, b.const.denominator
        sign = -1 if p < 0 else 1
        a = widen(a, a.bound * q)
        return _checked(Col("num", a.val * (q * sign), none, a.den * abs(p), a.bound * q, nullable=nullable,
                            level=level))

    def compare(self, e: A.Compare) -> Col:
        op, a, b = e.op, self.expr(e.left), self.expr(e.right)
        nullable, level = _nullable(a, b), _level(a, b)
        if op in ("==", "!="):
            eq = _py_eq(a, b)
            res = eq if op == "==" else ~eq
            return Col("bool", _null_if_unknown(res, a, b), nullable=nullable, level=level)
        x, y = _common(a, b)
        cmp = {"<": x.val < y.val, "<=": x.val <= y.val, ">": x.val > y.val, ">=": x.val >= y.val}[op]
        none = _any_none(x, y)
        if none is None:
            return Col("bool", cmp, nullable=nullable, level=level)
        if not nullable:
            return Col("bool", cmp & ~none, nullable=False, level=level)
        return Col("bool", pl.when(cmp.is_null()).then(_lit_bool(None)).when(none).then(False).otherwise(cmp),
                   level=level)

    def in_(self, e: A.In) -> Col:
        item = self.expr(e.item)
        options = [self.expr(o) for o in e.options]
        # the interpreter compares with Python's ==: an unknown option equals nothing
        hits = [pl.when(opt.is_unknown()).then(False).otherwise(_py_eq(item, opt)) for opt in options]
        found = reduce(lambda a, b: a | b, hits) if hits else pl.lit(False)
        res = ~found if e.negated else found
        level = _level(item, *options)
        if not item.nullable:
            return Col("bool", res, nullable=False, level=level)
        return Col("bool", pl.when(item.is_unknown()).then(_lit_bool(None)).otherwise(res), level=level)

    def call(self, e: A.Call) -> Col:
        args = [self.expr(a) for a in e.args]
        unknown = reduce(lambda a, b: a | b, (c.is_unknown() for c in args))
        nullable, level = _nullable(*args), _level(*args)
        if e.func == "count":
            total = pl.sum_horizontal([c.val.cast(pl.Int64) for c in args])
            if nullable:
                total = pl.when(unknown).then(pl.lit(None, dtype=pl.Int64)).otherwise(total)
            return Col("num", total, None, 1, len(args), nullable=nullable, level=level)
        xs = _common(*args)
        f = pl.min_horizontal if e.func == "min" else pl.max_horizontal
        val = f([c.val for c in xs])
        if nullable:
            val = pl.when(unknown).then(pl.lit(None, dtype=int_type(max(c.bound for c in xs)))).otherwise(val)
        return Col("num", val, _any_none(*xs), xs[0].den, max(c.bound for c in xs), nullable=nullable, level=level)

    def ifelse(self, e: A.IfElse) -> Col:
        c = self.expr(e.cond)
        cond = c.val
        t, f = self.expr(e.then), self.expr(e.else_)
        if t.kind == "num":
            t, f = _common(t, f)
        elif t.kind == "str" and t.categories != f.categories:
            t, f = as_text(t), as_text(f)
        nullable, level = _nullable(c, t, f), _level(c, t, f)
        if not c.nullable:
            val = pl.when(cond).then(t.val).otherwise(f.val)
            none = None
            if t.none is not None or f.none is not None:
                none = pl.when(cond).then(t.none_or_false()).otherwise(f.none_or_false())
            return Col(t.kind, val, none, t.den, max(t.bound, f.bound), nullable=nullable, level=level,
                       categories=t.categories)
        # cond unknown: the interpreter keeps the branches' value when both agree (and are not unknown)
        same = pl.when(t.is_unknown() | f.is_unknown()).then(False).otherwise(_py_eq(t, f))
        unknown_case = pl.when(same).then(t.val).otherwise(
            pl.lit(None, dtype=int_type(max(t.bound, f.bound)) if t.kind == "num" else None))
        val = pl.when(cond).then(t.val).when(~cond).then(f.val).otherwise(unknown_case)
        none = None
        if t.none is not None or f.none is not None:
            tn, fn = t.none_or_false(), f.none_or_false()
            none = pl.when(cond).then(tn).when(~cond).then(fn).otherwise(tn & fn)
        return Col(t.kind, val, none, t.den, max(t.bound, f.bound), level=level, categories=t.categories)

    # -- text of values, as `values.display` writes them ------------------------------------------------

    def display(self, c: Col) -> pl.Expr:
        if c.kind == "bool":
            text = pl.when(c.val).then(pl.lit("true")).otherwise(pl.lit("false"))
        elif c.kind == "str":
            text = as_text(c).val
        else:
            text = _decimal_text(c)
        if c.none is not None:
            text = pl.when(c.none).then(pl.lit("none")).otherwise(text)
        if not c.nullable:
            return text
        return pl.when(c.is_unknown()).then(pl.lit("unknown")).otherwise(text)


def _decimal_text(c: Col) -> pl.Expr:
    d, k = c.den, 0
    while d % 10 == 0:
        d //= 10
        k += 1
    while d % 2 == 0 or d % 5 == 0:
        d = d // 2 if d % 2 == 0 else d // 5
        k += 1
    if d != 1:
        raise NotCompilable("a value without a finite decimal form is shown in a reason")
    scaled = rescale(c, 10**k).val if k else c.val
    mag = scaled.abs()
    whole = (mag // 10**k).cast(pl.String) if k else mag.cast(pl.String)
    text = whole
    if k:
        frac = (mag % 10**k).cast(pl.String).str.pad_start(k, "0").str.strip_chars_end("0")
        text = pl.when(frac == "").then(whole).otherwise(pl.concat_str([whole, pl.lit("."), frac]))
    return pl.when(scaled < 0).then(pl.concat_str([pl.lit("-"), text])).otherwise(text)


# -- clauses ------------------------------------------------------------------------------------------------

def round_exact(c: Col, unit_yuan: int, mode: str) -> pl.Expr:
    """`money.round_amount` on a column: whole `unit_yuan`s, half up / down / up, in integers."""
    big = c.den * unit_yuan
    _checked(replace(c, bound=2 * c.bound + big))
    c = widen(c, 2 * c.bound + big)
    mag = c.val.abs()
    if mode == "half_up":
        q = (2 * mag + big) // (2 * big)
    elif mode == "up":
        q = (mag + big - 1) // big
    else:
        q = mag // big
    q = q * unit_yuan
    return pl.when(c.val < 0).then(negate(q)).otherwise(q)


def s_col(pkg: str, clause: str) -> str:
    """The column of a clause's status code."""
    return f"s:{pkg}.{clause}"


@dataclass(frozen=True)
class ClauseExprs:
    """One clause's columns. `status` reads the stage columns; `amount` and `needs_reason` also read the status
    column (`s_col`); `reason` reads those and the text stage columns, on the rows where `needs_reason` holds."""

    status: pl.Expr  # UInt8 code
    amount: pl.Expr  # Int64 yuan, rounded, before settlement
    reason: pl.Expr  # Categorical: the interpreter's reason where the clause is listed in `reasons`, else null
    amount_bound: int
    needs_reason: pl.Expr  # Boolean: where `reason` is not null (cheap: reasons are computed only there)


@dataclass(frozen=True)
class Compiled:
    """A version compiled for one population: the stages of temporary columns (definitions and conditions,
    computed in order before the clauses), the clauses, and the text stage (reason parts shared by clauses,
    Categorical, computed only on the rows that list a reason; each reads only fact and stage columns, so it
    may be computed once per distinct combination of the columns it reads)."""

    stages: list[list[pl.Expr]]
    clauses: dict[str, ClauseExprs]
    text_stage: list[pl.Expr]
    temps: list[str]


_UNKNOWN = unknown_reason([])
"""The end of an undetermined clause's reason (`labels` + this), as the plan words it."""
_LABEL_SEPARATOR = unknown_reason(["", ""])[: -len(_UNKNOWN)]
"""Between two labels of that reason, as the plan words it."""


class ClauseCompiler(Compiler):
    """The clauses of a version: status, amount and reason columns, from the version's clause plans."""

    def pieces(self, pieces: Sequence[Piece]) -> pl.Expr:
        """A reason's pieces as one text column: literal text as is, each slot as its value's text."""
        parts = [pl.lit(p) if isinstance(p, str) else self.display(self.named(p.name)) for p in pieces]
        return pl.concat_str(parts) if parts else pl.lit("")

    def _false_text(self, d: Deciding) -> pl.Expr:
        """The default reason of a false condition: for a conjunction, that of the first operand that is false
        (looked into in turn), else the part's own."""
        if not d.operands:
            return self.pieces(d.pieces)
        chain: Any = pl
        for x, part in d.operands:
            false = (~self.expr(x).val).fill_null(False)
            chain = chain.when(false).then(self._false_text(part))
        return cast(pl.Expr, chain.otherwise(self.pieces(d.pieces)))

    def _unknown_text(self, groups: Sequence[tuple[pl.Expr, Sequence[str]]]) -> pl.Expr:
        """`unknown_reason` of the unknown facts, in the interpreter's first-use order: the facts of each
        active group in turn, each fact once."""
        pieces: list[pl.Expr] = []
        earlier: dict[str, list[pl.Expr]] = {}
        for active, facts in groups:
            for f in facts:
                cond = active & self.fact(f).is_unknown()
                for prev in earlier.get(f, []):
                    cond = cond & ~prev
                pieces.append(pl.when(cond).then(pl.lit(self.program.facts[f].label)))
                earlier.setdefault(f, []).append(active)
        if not pieces:
            return pl.lit(_UNKNOWN)
        return pl.concat_str([pl.concat_str(pieces, separator=_LABEL_SEPARATOR, ignore_nulls=True),
                              pl.lit(_UNKNOWN)])

    def text_column(self, text: pl.Expr, key: object) -> pl.Expr:
        """A reason part computed once (in the text stage) however many clauses list it; the reasons choose
        among such parts as categories (few distinct texts, many rows), never copying the texts."""
        if key not in self._texts:
            name = f"__t{len(self._texts)}:{self.version.key}"
            self.text_stage.append(text.cast(pl.Categorical).alias(name))
            self.temps.append(name)
            self._texts[key] = pl.col(name)
        return self._texts[key]

    def condition_reason(self, plan: ConditionPlan) -> pl.Expr:
        """The reason of a false condition: the drafter's template, else the deciding part's default reason."""
        if plan.template is not None:
            return self.text_column(self.pieces(plan.template), ("template", plan.expr, plan.template))
        return self.text_column(self._false_text(plan.deciding), ("deciding", plan.expr))

    def clause(self, plan: ClausePlan) -> ClauseExprs:
        conds = [self.materialise(self.expr(c.expr), ("cond", c.expr)) for c in plan.conditions]
        false = [(~c.val).fill_null(False) if c.nullable else ~c.val for c in conds]
        unknown = [c.is_unknown() for c in conds]
        # Kleene conjunction: false when any condition is false, else unknown when any is unknown
        every = reduce(lambda a, b: a & b, [c.val for c in conds]) if conds else pl.lit(True)
        any_unknown = every.is_null() if _nullable(*conds) else pl.lit(False)
        amount = self.materialise(self.expr(plan.amount), ("amount", plan.amount))
        if amount.kind != "num":
            raise NotCompilable(f"{plan.id}: the amount is not a number")
        step = {"yuan": 1, "wan": 10_000}[plan.rounding.unit]
        rounded = round_exact(amount, step, plan.rounding.mode)
        amount_none = amount.none_or_false() & ~amount.is_unknown()
        status = (pl.when(~every).then(INELIGIBLE)
                  .when(any_unknown | amount.is_unknown()).then(UNDETERMINED)
                  .when(amount_none).then(FAILED)
                  .otherwise(ELIGIBLE).cast(pl.UInt8))
        code = pl.col(s_col(self.program.package_id, plan.id))
        # rounded amounts fit Int64: `_compile` checks that their bounds sum below 2^62
        paid = pl.when(code == ELIGIBLE).then(rounded.cast(pl.Int64)).otherwise(pl.lit(0, dtype=pl.Int64))

        # reasons (only those the `reasons` column lists)
        unknown_conds = self._unknown_text([(u, p.reads) for u, p, c in zip(unknown, plan.conditions, conds,
                                                                              strict=True) if c.nullable])
        unknown_amount = self._unknown_text([(pl.lit(True), plan.amount_reads)])
        undetermined = pl.when(any_unknown).then(unknown_conds).otherwise(unknown_amount).cast(pl.Categorical)
        reason: Any = pl.when(code == UNDETERMINED).then(undetermined)
        needs = code == UNDETERMINED
        for i, cond in enumerate(plan.conditions):
            first = false[i]
            for j in range(i):
                first = first & ~false[j]
            if cond.listed:
                reason = reason.when(first).then(self.condition_reason(cond))
                needs = needs | first
            else:
                reason = reason.when(first).then(pl.lit(None, dtype=pl.Categorical))
        bound = (amount.bound // amount.den + 1) * step
        return ClauseExprs(status, paid, reason.otherwise(pl.lit(None, dtype=pl.Categorical)), bound, needs)


_CACHE: dict[tuple[str, str, Population | None], Compiled] = {}


def compile_version(version: PolicyVersion, population: Population | None = None) -> Compiled:
    """Every clause of `version` compiled for `population` (None: any population the parser gives); raises
    `NotCompilable`."""
    key = (version.key, version.content_hash, population)
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = _compile(version, population)
    return _CACHE[key]


def _compile(version: PolicyVersion, population: Population | None) -> Compiled:
    c = ClauseCompiler(version, population)
    out = {plan.id: c.clause(plan) for plan in c.program.clauses}
    if sum(x.amount_bound for x in out.values()) >= 2**62:
        raise NotCompilable("amounts could exceed 64-bit integers")
    return Compiled(c.stages, out, c.text_stage, c.temps)
