"""Typing a whole column of cells at once, with exactly the meaning `policyengine.cells.read_value` gives a cell.

Each column is read by a vectorised fast path that accepts only the plainest spellings (`1234567`,
`1,234,567.00`, `123.4567万`, `85%`, `2020`, `是`) and computes their exact integer value. Every other non-blank
cell — odd spellings and errors alike — is read by `cells.read_value` itself, once per distinct text, so the fast
path never has to reproduce an error message or an unusual format. A hypothesis test checks that wherever the
fast path accepts a cell, its value is the one `read_value` gives.

Columnar representation (see `columnar`): numbers are Int128 integers at a fixed scale per fact type
(money in fen, rates in millionths, integers and years as they are), text as String, bool as Boolean; null
means *unknown*, and facts whose blank means *did not happen* carry a Boolean companion column that is true for
those rows (the value column then holds a filler, never null). A value the columnar backend cannot hold exactly
(a rate finer than a millionth, money from 10^13 yuan, a count from 10^12) marks its row for the reference
interpreter instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from ..cells import blank_value, read_value
from ..errors import FactError
from ..rulefile import FactSpec
from ..uscc import CHARSET
from ..values import UNKNOWN, Value
from .read import ROW, Reject, Table

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


def value_col(fact: str) -> str:
    return f"v:{fact}"


def none_col(fact: str) -> str:
    return f"n:{fact}"


def has_none(spec: FactSpec) -> bool:
    """Whether a blank cell of this fact means 'did not happen' as a None value (years, text)."""
    return spec.blank == "none" and spec.type != "enum"


def dtype_of(spec: FactSpec) -> pl.DataType:
    if spec.type in NUMERIC:
        return pl.Int128()
    if spec.type == "bool":
        return pl.Boolean()
    return pl.String()


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
    shape = s.str.contains(r"^[0-9A-HJ-NP-RTUW-Y]{18}$").fill_null(False)
    total: pl.Expr = pl.lit(0, pl.Int64)
    for i, w in enumerate(_USCC_WEIGHTS):
        total = total + s.str.slice(i, 1).replace_strict(_USCC_VALUE, default=0, return_dtype=pl.Int64) * w
    check = (31 - total % 31) % 31
    last = s.str.slice(17, 1).replace_strict(_USCC_VALUE, default=-1, return_dtype=pl.Int64)
    return s, shape & (check == last).fill_null(False)


def plain_path(spec: FactSpec, s: pl.Expr) -> tuple[pl.Expr, pl.Expr] | None:
    """The cheapest spelling of a numeric fact (plain digits), or None: a first pass over every row; the other
    spellings go through `fast_path` on the remaining rows only."""
    if spec.type == "money":
        return _digits(s) * 100, s.str.contains(r"^[0-9]{1,13}$").fill_null(False)
    if spec.type == "integer":
        return _fast_integer(s)
    if spec.type == "year":
        return _fast_year(s)
    if spec.type == "rate":
        return _digits(s.str.strip_suffix("%")) * 10_000, s.str.contains(r"^(?:[0-9]{1,2}|100)%$").fill_null(False)
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
        return s, s.is_in(spec.values or []).fill_null(False)
    if spec.type == "uscc":
        return _fast_uscc(s)
    return s.str.strip_chars(PY_WHITESPACE), ~is_blank(s)


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


def _blank_reason(spec: FactSpec) -> str:
    """Why a blank cell of a required fact rejects its row, in `read_value`'s words."""
    try:
        read_value(spec, "")
    except FactError as exc:
        return exc.reason
    return "required and blank"  # pragma: no cover - read_value rejects blank required cells


# -- a whole table -----------------------------------------------------------------------------------------

@dataclass
class Parsed:
    """Typed fact columns (`v:<fact>`, `n:<fact>`) beside the raw cells, the rows that must be interpreted, and
    the rejects."""

    frame: pl.DataFrame
    rejects: list[Reject]


def parse_table(table: Table, columns: Mapping[str, int], specs: Mapping[str, FactSpec]) -> Parsed:
    """Type every fact column of `table` (fact name → column index); facts without a column read as blank."""
    frame = table.frame
    typed: list[pl.Series] = []
    rejects: list[Reject] = list(table.rejects)
    fallback = pl.Series(FALLBACK, [False] * frame.height, dtype=pl.Boolean)
    required_blank: list[tuple[FactSpec, str, pl.Series]] = []
    for name, spec in specs.items():
        if name not in columns:
            cell = blank_cell(spec)
            typed.append(pl.repeat(cell.value, frame.height, dtype=dtype_of(spec), eager=True).alias(value_col(name)))
            if has_none(spec):
                typed.append(pl.repeat(cell.none, frame.height, dtype=pl.Boolean, eager=True).alias(none_col(name)))
            continue
        header = table.headers[columns[name]]
        column = _parse_column(frame, Table.column_name(columns[name]), spec, header, rejects)
        typed.append(column.get_column("v").alias(value_col(name)))
        if has_none(spec):
            typed.append(column.get_column("n").alias(none_col(name)))
        fallback = fallback | column.get_column("f")
        if spec.required:
            required_blank.append((spec, header, column.get_column("b")))
    out = frame.with_columns(*typed, fallback.alias(FALLBACK))
    for spec, header, blank in required_blank:
        rows = out.get_column(ROW).filter(blank).to_list()
        rejects.extend(Reject(r, header, "", _blank_reason(spec)) for r in rows)
    if rejects:
        bad = sorted({r.row for r in rejects})
        out = out.filter(~pl.col(ROW).is_in(bad))
    rejects.sort(key=lambda r: (r.row, r.column))
    return Parsed(out, rejects)


def _parse_column(frame: pl.DataFrame, raw: str, spec: FactSpec, header: str, rejects: list[Reject]
                  ) -> pl.DataFrame:
    """Columns v (value), n (did not happen), f (needs the interpreter), b (blank) for one fact column."""
    s = pl.col(raw)
    dtype = dtype_of(spec)
    bc = blank_cell(spec)
    blank = is_blank(s)
    first = plain_path(spec, s) or fast_path(spec, s)
    base = frame.select(
        ROW, raw, blank.alias("b"),
        pl.when(blank).then(pl.lit(bc.value, dtype=dtype)).when(first[1]).then(first[0].cast(dtype)).alias("v"),
        (~blank & ~first[1]).alias("rest"))
    rest = base.filter(pl.col("rest")).select(ROW, raw)
    none_value = pl.col("b") if bc.none else pl.lit(False)
    if rest.height == 0:
        return base.select("v", none_value.alias("n"), pl.lit(False).alias("f"), "b")
    if plain_path(spec, s) is not None:
        value, ok = fast_path(spec, s)
        rest = rest.with_columns(value.cast(dtype).alias("v2"), ok.alias("ok2"))
    else:
        rest = rest.with_columns(pl.lit(None, dtype=dtype).alias("v2"), pl.lit(False).alias("ok2"))
    slow = rest.filter(~pl.col("ok2")).get_column(raw).unique().to_list()
    cells: dict[str, Cell] = {}
    errors: dict[str, str] = {}
    for text in slow:
        try:
            cells[text] = to_cell(spec, read_value(spec, text))
        except FactError as exc:
            errors[text] = exc.reason
    if errors:
        hits = rest.filter(s.is_in(list(errors)))
        rejects.extend(Reject(r, header, t, errors[t]) for r, t in hits.select(ROW, raw).iter_rows())
    keys = list(cells)
    rest = rest.select(
        ROW,
        pl.when(pl.col("ok2")).then(pl.col("v2"))
        .otherwise(s.replace_strict(keys, [cells[k].value for k in keys], default=None, return_dtype=dtype))
        .alias("v3"),
        s.is_in([k for k in keys if cells[k].none]).alias("n3"),
        s.is_in([k for k in keys if not cells[k].fits]).alias("f"))
    merged = base.join(rest, on=ROW, how="left", maintain_order="left")
    return merged.select(
        pl.coalesce("v", "v3").alias("v"),
        (none_value | pl.col("n3").fill_null(False)).alias("n"),
        pl.col("f").fill_null(False),
        "b")
