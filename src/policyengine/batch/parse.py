"""Typing a whole column of cells at once, with exactly the meaning `policyengine.facts.cells.read_value` gives a cell.

Each column is read by a vectorised fast path that accepts only the plainest spellings (`1234567`,
`1,234,567.00`, `123.4567万`, `85%`, `2020`, `是`) and computes their exact integer value. Every other non-blank
cell — odd spellings and errors alike — is read by `cells.read_value` itself, once per distinct text, so the fast
path never has to reproduce an error message or an unusual format. A hypothesis test checks that wherever the
fast path accepts a cell, its value is the one `read_value` gives.

Columnar representation (see `columnar`): numbers are integers at a fixed scale per fact type (money in
fen, rates in millionths, integers as they are: Int64; years: Int16), text as String (an enum's values as an
Enum), bool as Boolean; null means *unknown*, and facts whose blank means *did not happen* carry a Boolean
companion column that is true for those rows (the value column then holds a filler, never null). A value the
columnar backend cannot hold exactly (a rate finer than a millionth, money from 10^13 yuan, a count from 10^12)
marks its row for the reference interpreter instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from policyengine.batch.read import ROW, Reject, Table, problem_rejects
from policyengine.errors import FactError
from policyengine.facts.cells import blank_value, read_value
from policyengine.facts.uscc import CHARSET
from policyengine.facts.values import UNKNOWN, Value
from policyengine.model.rulefile import FactSpec

PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                 "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
"""Exactly the characters Python's `str.strip()` removes (checked by a test)."""

SCALE: dict[str, int] = {"money": 100, "integer": 1, "year": 1, "rate": 1_000_000}
"""A numeric fact's column holds value × SCALE (money in fen, rates in millionths)."""

LIMIT: dict[str, int] = {"money": 10**15, "integer": 10**12, "year": 10**4, "rate": 10**6 + 1}
"""Column values must stay below these (exclusive); larger ones are left to the reference interpreter."""

NUMERIC = frozenset(SCALE)
FALLBACK = "__fallback"

_TRUE_SPELLINGS = ("是", "true", "True", "TRUE", "1", "yes", "Yes", "YES", "y", "Y", "t", "T")
_FALSE_SPELLINGS = ("否", "false", "False", "FALSE", "0", "no", "No", "NO", "n", "N", "f", "F")
_USCC_VALUE = {c: i for i, c in enumerate(CHARSET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_USCC_BYTE_VALUE = pl.Series("uscc_value", [_USCC_VALUE.get(chr(b), -1) for b in range(256)], dtype=pl.Int32)


def value_col(fact: str) -> str:
    return f"v:{fact}"


def none_col(fact: str) -> str:
    return f"n:{fact}"


def has_none(spec: FactSpec) -> bool:
    """Whether a blank cell of this fact means 'did not happen' as a None value (years, text)."""
    return spec.blank == "none" and spec.type != "enum"


def categories(spec: FactSpec) -> pl.Enum | None:
    """The Enum dtype of an enum fact's column (a byte per row, not a string), else None."""
    return pl.Enum(spec.values or []) if spec.type == "enum" else None


def dtype_of(spec: FactSpec) -> pl.DataType:
    if spec.type == "year":
        return pl.Int16()  # below LIMIT["year"]: two bytes a row
    if spec.type in NUMERIC:
        return pl.Int64()  # every LIMIT is below 2^62
    if spec.type == "bool":
        return pl.Boolean()
    return categories(spec) or pl.String()


def is_blank(s: pl.Expr) -> pl.Expr:
    return s.is_null() | (s.str.strip_chars(PY_WHITESPACE) == "")


# -- fast paths: (value, accepted) ----------------------------------------------------------------------

def _digits(e: pl.Expr) -> pl.Expr:
    return e.str.to_integer(base=10, strict=False).cast(pl.Int128)


def _padded(frac: pl.Expr, width: int) -> pl.Expr:
    """`"5"` → 500000 for width 6: the fraction digits as an integer at 10^-width."""
    return _digits(frac.fill_null("").str.pad_end(width, "0"))


_MONEY_RE = r"^([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?(万元|万|元)?$"


def _fast_money(s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    g = s.str.extract_groups(_MONEY_RE)
    whole = g.struct.field("1").str.replace_all(",", "", literal=True)
    frac = g.struct.field("2")
    wan = g.struct.field("3").is_in(["万", "万元"]).fill_null(False)
    flen = frac.str.len_chars().fill_null(0)
    wlen = whole.str.len_chars()
    ok = whole.is_not_null() & pl.when(wan).then((wlen <= 9) & (flen <= 6)).otherwise((wlen <= 13) & (flen <= 2))
    fen = pl.when(wan).then(_digits(whole) * 1_000_000 + _padded(frac, 6)) \
        .otherwise(_digits(whole) * 100 + _padded(frac, 2))
    return fen, ok.fill_null(False)


def _fast_integer(s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    ok = s.str.contains(r"^[0-9]{1,12}$").fill_null(False)
    return _digits(s), ok


def _fast_year(s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    v = _digits(s)
    ok = (s.str.contains(r"^[0-9]{4}$") & (v >= 1900) & (v <= 2200)).fill_null(False)
    return v, ok


def _fast_rate(s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    g = s.str.extract_groups(r"^([0-9]{1,3})(?:\.([0-9]+))?(%?)$")
    whole, frac = g.struct.field("1"), g.struct.field("2")
    pct = g.struct.field("3") == "%"
    flen = frac.str.len_chars().fill_null(0)
    num = pl.when(pct).then(_digits(whole) * 10_000 + _padded(frac, 4)) \
        .otherwise(_digits(whole) * 1_000_000 + _padded(frac, 6))
    ok = whole.is_not_null() & pl.when(pct).then(flen <= 4).otherwise(flen <= 6) & (num <= 1_000_000)
    return num, ok.fill_null(False)


def _fast_bool(s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return s.is_in(_TRUE_SPELLINGS), s.is_in([*_TRUE_SPELLINGS, *_FALSE_SPELLINGS]).fill_null(False)


def _fast_uscc(s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The GB 32100 check on the bytes: each character's value by a 256-entry lookup, weighted sum mod 31."""
    shape = s.str.contains(r"^[0-9A-HJ-NP-RTUW-Y]{18}$").fill_null(False)
    b = s.cast(pl.Binary)
    lookup = pl.lit(_USCC_BYTE_VALUE)

    def value(i: int) -> pl.Expr:
        return lookup.gather(b.bin.get(i, null_on_oob=True).cast(pl.Int32))

    total = pl.sum_horizontal([value(i) * w for i, w in enumerate(_USCC_WEIGHTS)])
    check = (31 - total % 31) % 31
    return s, shape & (check == value(17)).fill_null(False)


def _plain_digits(s: pl.Expr, most: int) -> tuple[pl.Expr, pl.Expr]:
    """`^[0-9]{1,most}$` without a regex: the integer parser accepts only ASCII digits after an optional sign,
    so a non-negative parse of at most `most` bytes that starts with neither sign is exactly that spelling."""
    v = s.str.to_integer(base=10, strict=False)
    ok = (v >= 0) & (s.str.len_bytes() <= most) & ~s.str.starts_with("+") & ~s.str.starts_with("-")
    return v, ok.fill_null(False)


def plain_path(spec: FactSpec, s: pl.Expr) -> tuple[pl.Expr, pl.Expr] | None:
    """The cheapest spelling of a numeric fact (plain digits), or None: a first pass over every row; the other
    spellings go through `fast_path` on the remaining rows only. The value is exact (in Int64) wherever the
    spelling is accepted; elsewhere it is meaningless and never read."""
    if spec.type == "money":
        v, ok = _plain_digits(s, 13)
        return v * 100, ok  # at most 13 digits: below 10^15
    if spec.type == "integer":
        v, ok = _plain_digits(s, 12)
        return v, ok
    if spec.type == "year":
        # four bytes that parse to 1900..2200 are four ASCII digits (a sign would leave three)
        v = s.str.to_integer(base=10, strict=False)
        return v, ((s.str.len_bytes() == 4) & (v >= 1900) & (v <= 2200)).fill_null(False)
    if spec.type == "rate":
        percent = s.str.strip_suffix("%").str.to_integer(base=10, strict=False)
        return percent * 10_000, s.str.contains(r"^(?:[0-9]{1,2}|100)%$").fill_null(False)
    return None


def fast_path(spec: FactSpec, s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The value of each cell the fast path accepts, and where it accepts (never a blank cell)."""
    if spec.type == "money":
        return _fast_money(s)
    if spec.type == "integer":
        return _fast_integer(s)
    if spec.type == "year":
        return _fast_year(s)
    if spec.type == "rate":
        return _fast_rate(s)
    if spec.type == "bool":
        return _fast_bool(s)
    if spec.type == "enum":
        e = s.cast(categories(spec) or pl.String(), strict=False)
        return e, e.is_not_null()
    if spec.type == "uscc":
        return _fast_uscc(s)
    stripped = s.str.strip_chars(PY_WHITESPACE)
    return stripped, (stripped != "").fill_null(False)


# -- one value in columnar form ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """A value as a column holds it: `value` (None = unknown), `none` (did not happen), `fits` (columnar range)."""

    value: object
    none: bool = False
    fits: bool = True


def to_cell(spec: FactSpec, value: Value) -> Cell:
    """The column representation of a typed fact value."""
    if value is UNKNOWN:
        return Cell(None)
    if value is None:
        return Cell(0 if spec.type in NUMERIC else "", none=True)
    if spec.type in NUMERIC:
        if not isinstance(value, Fraction):
            raise TypeError(f"{spec.name}: expected a number, got {value!r}")
        scaled = value * SCALE[spec.type]
        if scaled.denominator != 1 or not -LIMIT[spec.type] < scaled.numerator < LIMIT[spec.type]:
            return Cell(0, fits=False)
        return Cell(scaled.numerator)
    return Cell(value)


def blank_cell(spec: FactSpec) -> Cell:
    return to_cell(spec, blank_value(spec))


def _blank_reason(spec: FactSpec) -> tuple[str, str]:
    """Why a blank cell of a required fact rejects its row, in `read_value`'s words (English, Chinese)."""
    try:
        read_value(spec, "")
    except FactError as exc:
        return exc.reason, exc.reason_zh
    return "required and blank", "必填项为空"  # pragma: no cover - read_value rejects blank required cells


# -- a whole table -----------------------------------------------------------------------------------------

@dataclass
class Parsed:
    """Typed fact columns (`v:<fact>`, `n:<fact>`) beside the raw cells, the rows that must be interpreted, and
    the rejects."""

    frame: pl.DataFrame
    rejects: list[Reject]


_FACTS_PER_PASS = 4


def parse_table(table: Table, columns: Mapping[str, int], specs: Mapping[str, FactSpec]) -> Parsed:
    """Type every fact column of `table` (fact name → column index); facts without a column read as blank.

    One vectorised pass types every column by its plainest spellings (a few columns at once, in parallel); the
    few cells it leaves (other spellings, whitespace-only cells, errors) are then read per column, on those
    rows only, and written back in place."""
    frame = table.frame
    height = frame.height
    rejects: list[Reject] = list(table.rejects)
    # an .xlsx cell with no value to read (formula without a result, error value) in a fact column; the cell
    # reads as blank below, so its row is not also rejected for a blank required fact
    problems = problem_rejects(table, columns.values())
    rejects += problems
    unreadable = {(r.row, r.column) for r in problems}
    groups: list[list[pl.Expr]] = []  # per fact: its typed columns
    read: list[tuple[str, FactSpec, str]] = []
    # a text fact whose every cell is taken as written may share the cells' column (no copy): decided below
    shared: dict[str, pl.Expr] = {}
    for name, spec in specs.items():
        dtype = dtype_of(spec)
        bc = blank_cell(spec)
        exprs: list[pl.Expr] = []
        groups.append(exprs)
        if name not in columns:
            exprs.append(pl.lit(bc.value, dtype=dtype).alias(value_col(name)))
            if has_none(spec):
                exprs.append(pl.lit(bc.none, dtype=pl.Boolean).alias(none_col(name)))
            continue
        raw = Table.column_name(columns[name])
        s = pl.col(raw)
        value, ok = plain_path(spec, s) or fast_path(spec, s)
        # strict=False: a cell the fast path rejects may hold a number too large for the column (unused)
        typed_value = pl.when(ok).then(value.cast(dtype, strict=False)) \
            .when(s.is_null()).then(pl.lit(bc.value, dtype=dtype)).otherwise(pl.lit(None, dtype=dtype)) \
            .alias(value_col(name))
        if dtype == pl.String():
            shared[name] = typed_value
            as_written = (value == s).all() if value is not s else pl.lit(True)
            exprs.append((as_written & (s.null_count() == 0 if bc.value is not None else True))
                         .alias(f"as_written:{name}"))
        else:
            exprs.append(typed_value)
        if has_none(spec):
            exprs.append((s.is_null() if bc.none else pl.lit(False)).alias(none_col(name)))
        exprs.append((s.is_not_null() & ~ok).alias(f"rest:{name}"))
        read.append((name, spec, raw))
    # a few facts per pass: the parts a fact's columns share are computed once (common subexpressions) and held
    # until the end of the pass, so a pass over every fact at once would hold them all
    passes = [frame.lazy().select(ROW, *(e for g in groups[i:i + _FACTS_PER_PASS] for e in g))
              .collect(engine="in-memory").drop(ROW) for i in range(0, len(groups), _FACTS_PER_PASS)]
    typed = pl.concat(passes, how="horizontal") if passes else pl.DataFrame()
    rest_cols = [f"rest:{name}" for name, _, _ in read]
    counts = typed.select(pl.col(rest_cols).sum()).row(0, named=True) if rest_cols and height else {}
    flags = [f"as_written:{name}" for name in shared]
    verbatim = typed.select(pl.col(flags).first()).row(0, named=True) if flags and height else {}
    same = [name for name in shared if not counts.get(f"rest:{name}") and verbatim.get(f"as_written:{name}")]
    typed = typed.drop(flags).hstack(
        [frame.get_column(Table.column_name(columns[name])).alias(value_col(name)) for name in same]
        + frame.select(e for name, e in shared.items() if name not in same).get_columns())
    fallback: pl.Series | None = None
    blank_rows: list[tuple[FactSpec, str, pl.Series]] = []
    updates: list[pl.Series] = []
    for name, spec, raw in read:
        header = table.headers[columns[name]]
        blank_mask = frame.get_column(raw).is_null()
        if counts.get(f"rest:{name}"):
            idx = typed.get_column(f"rest:{name}").arg_true()
            value = typed.get_column(value_col(name)).clone()
            none = typed.get_column(none_col(name)).clone() if has_none(spec) else None
            fits, blank = _read_rest(frame, idx, raw, spec, header, value, none, rejects)
            updates.append(value)
            if none is not None:
                updates.append(none)
            if fits is not None:
                fallback = fits if fallback is None else fallback | fits
            if blank is not None:
                blank_mask = blank_mask | blank
        if spec.required:
            blank_rows.append((spec, header, blank_mask))
    typed = typed.drop(rest_cols)
    if updates:
        typed = typed.with_columns(updates)
    fb = fallback if fallback is not None else pl.repeat(False, height, dtype=pl.Boolean, eager=True)
    out = frame.hstack([*typed.get_columns(), fb.alias(FALLBACK)])
    rows = frame.get_column(ROW)
    for spec, header, mask in blank_rows:
        if mask.any():
            reason, reason_zh = _blank_reason(spec)
            rejects.extend(Reject(r, header, "", reason, reason_zh) for r in rows.filter(mask).to_list()
                           if (r, header) not in unreadable)
    if rejects:
        bad = sorted({r.row for r in rejects})
        out = out.filter(~pl.col(ROW).is_in(bad))
    rejects.sort(key=lambda r: (r.row, r.column))
    return Parsed(out, rejects)


def _read_rest(frame: pl.DataFrame, idx: pl.Series, raw: str, spec: FactSpec, header: str, value: pl.Series,
               none: pl.Series | None, rejects: list[Reject]) -> tuple[pl.Series | None, pl.Series | None]:
    """Read the cells at rows `idx` that the first pass left (neither null nor of the plainest spelling):
    whitespace-only cells are blank, the full fast path reads more spellings, `read_value` the rest (once per
    distinct text). Writes into `value` and `none` in place; returns the full-length masks of values the columnar
    backend cannot hold (None: no such value) and of blank cells (None: no such cell)."""
    dtype = dtype_of(spec)
    bc = blank_cell(spec)
    s = pl.col(raw)
    sub = frame.select(pl.col(ROW, raw).gather(idx))
    blank = is_blank(s)
    if plain_path(spec, s) is not None:
        v2, ok2 = fast_path(spec, s)
    else:
        v2, ok2 = pl.lit(None, dtype=dtype), pl.lit(False)
    sub = sub.with_columns(blank.alias("b"), v2.cast(dtype, strict=False).alias("v2"), (ok2 & ~blank).alias("ok2"))
    slow_texts = sub.filter(~pl.col("b") & ~pl.col("ok2")).get_column(raw).unique().to_list()
    cells: dict[str, Cell] = {}
    errors: dict[str, tuple[str, str]] = {}
    for text in slow_texts:
        try:
            cells[text] = to_cell(spec, read_value(spec, text))
        except FactError as exc:
            errors[text] = exc.reason, exc.reason_zh
    if errors:
        hits = sub.filter(~pl.col("b") & ~pl.col("ok2") & s.is_in(list(errors)))
        rejects.extend(Reject(r, header, t if len(t) <= 200 else t[:200] + "…", *errors[t])
                       for r, t in hits.select(ROW, raw).iter_rows())
    keys = list(cells)
    sub = sub.select(
        pl.when(pl.col("b")).then(pl.lit(bc.value, dtype=dtype)).when(pl.col("ok2")).then(pl.col("v2"))
        .otherwise(s.replace_strict(keys, [cells[k].value for k in keys], default=None, return_dtype=dtype))
        .alias("v"),
        (pl.col("b") if bc.none else pl.lit(False)).alias("b_none"),
        (~pl.col("b") & ~pl.col("ok2") & s.is_in([k for k in keys if cells[k].none])).alias("n"),
        (~pl.col("b") & ~pl.col("ok2") & s.is_in([k for k in keys if not cells[k].fits])).alias("f"),
        pl.col("b"))
    value.scatter(idx, sub.get_column("v"))
    if none is not None:
        none.scatter(idx, sub.get_column("b_none") | sub.get_column("n"))
    height = frame.height
    fits = None
    if sub.get_column("f").any():
        fits = pl.repeat(False, height, dtype=pl.Boolean, eager=True)
        fits.scatter(idx.filter(sub.get_column("f")), True)
    blanks = None
    if sub.get_column("b").any():
        blanks = pl.repeat(False, height, dtype=pl.Boolean, eager=True)
        blanks.scatter(idx.filter(sub.get_column("b")), True)
    return fits, blanks
