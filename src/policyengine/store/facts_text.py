"""The facts of a scored batch as the text a decision is recorded with, built column-wise in polars.

For each row: the canonical facts as compact, sorted JSON (exactly `json.dumps(decision.facts, sort_keys=True,
ensure_ascii=False, separators=(",", ":"))` for the decision `evaluate()` gives the row, so its SHA-256 is the
decision's `facts_hash`), that hash, and on request the store's positional form of the same facts (a JSON array
in `fact_names` order, `ABSENT` where a fact is unknown; the run records the names once). Rows whose values the
columnar representation cannot hold (`FALLBACK`) are read by `read_facts` itself.

The text depends on the typed facts only, not on the decisions, so `Preparation` builds it in a thread of its
own as soon as a file's facts are typed, while the rows are being decided (`score_table(prepare=...)`), and the
store and the audit file take it from there.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl
import polars_hash as plh

from policyengine.batch.parse import FALLBACK, SCALE, has_none, none_col, value_col
from policyengine.batch.read import ROW, Table
from policyengine.model.policy import Package
from policyengine.model.rulefile import FactSpec

ABSENT = "0"
"""In the positional form of the facts, a fact the row does not have (values are strings or null, never 0)."""

NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
"""Characters `json.dumps` escapes in a string (besides those, `ensure_ascii=False` writes text as it is)."""

BLOCK_ROWS = 100_000
"""Rows `Preparation` builds at a time (the intermediate columns of a block are let go before the next)."""


def json_text(e: pl.Expr, name: str) -> pl.Expr:
    """A string column as JSON string literals (the same escapes as Python's `json.dumps(ensure_ascii=False)`)."""
    return pl.struct(e.alias("x")).struct.json_encode().str.slice(5).str.head(-1).alias(name)


def sha256_hex(texts: pl.Series) -> pl.Series:
    """The SHA-256 (hex) of each text, computed in polars (`polars-hash`), off the interpreter's lock."""
    return texts.to_frame("t").select(plh.col("t").chash.sha2_256().alias(texts.name)).to_series()


def canonical_json(data: object) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def positional_json(facts: dict[str, str | None], names: Sequence[str]) -> str:
    """`facts` in the positional form, or as a JSON object when it has a fact `names` lacks."""
    if not set(facts) <= set(names):
        return canonical_json(facts)
    return "[" + ",".join(json.dumps(facts[n], ensure_ascii=False) if n in facts else ABSENT for n in names) + "]"


@dataclass(frozen=True)
class FactsSource:
    """What the facts text of a batch is made from: its facts (in order) and their specs, where the file holds
    each (for the rows `read_facts` reads), and the packages (whose facts index reads them)."""

    names: list[str]
    specs: dict[str, FactSpec]
    columns: dict[str, int]
    packages: list[Package]

    @staticmethod
    def of(columns: dict[str, int], specs: dict[str, FactSpec], packages: Sequence[Package]) -> FactsSource:
        """The facts of a file whose header gives `columns` (fact → column index), in the stored order."""
        return FactsSource(sorted(columns), specs, dict(columns), list(packages))


def _number(v: pl.Expr, scale: int, fraction: bool, negative: bool) -> pl.Expr:
    """value × scale (an integer column) as `format_decimal` writes the value: no exponent, no trailing zeros.
    `fraction`/`negative`: whether any value of the block has a fractional part / is below 0 (when neither,
    the whole numbers are written as they are)."""
    if scale == 1:
        return v.cast(pl.String)
    a = v.abs() if negative else v
    text = (a // scale).cast(pl.String)
    if fraction:
        r = a % scale
        digits = (r + scale).cast(pl.String).str.slice(1).str.strip_chars_end("0")
        text = pl.concat_str([text, pl.when(r != 0).then(pl.lit(".") + digits).otherwise(pl.lit(""))])
    if negative:   # (a null value stays null)
        text = pl.concat_str([pl.when(v < 0).then(pl.lit("-")).otherwise(pl.lit("")), text])
    return text


@dataclass(frozen=True)
class _Fact:
    key: str
    """The fact's name as a JSON string."""
    raw: pl.Expr
    """Its value as text without quotes where it is known and not None, null elsewhere."""
    quoted: pl.Expr | None
    """Where `raw` would need escapes: its JSON string literal (quotes included)."""
    none: pl.Expr | None
    """Where the fact can be None: true in the rows where it is."""


def _clean(spec: FactSpec) -> bool:
    """Whether no value of the fact can hold a character JSON escapes: a USCC (its own alphabet), an enum
    whose values have none."""
    return spec.type == "uscc" or (spec.type == "enum" and not any(re.search(NEEDS_ESCAPE, x)
                                                                   for x in spec.values or []))


def _facts(frame: pl.DataFrame, src: FactsSource) -> list[_Fact]:
    """Each fact's value expressions for the rows of `frame`, shaped by what this block holds (a block with no
    fractional money needs no fraction digits, one whose text needs no escapes no JSON encoder)."""
    checks: list[pl.Expr] = []
    for n in src.names:
        spec, v = src.specs[n], pl.col(value_col(n))
        if spec.type in SCALE and SCALE[spec.type] != 1:
            checks += [(v % SCALE[spec.type] != 0).any().alias(f"f:{n}"), (v < 0).any().alias(f"n:{n}")]
        elif spec.type not in SCALE and spec.type != "bool" and not _clean(spec):
            checks.append(v.cast(pl.String).str.contains(NEEDS_ESCAPE).any().alias(f"e:{n}"))
    found = frame.select(checks).row(0, named=True) if checks and frame.height else {}
    out = []
    for n in src.names:
        spec, v = src.specs[n], pl.col(value_col(n))
        quoted = None
        if spec.type in SCALE:
            raw = _number(v, SCALE[spec.type], bool(found.get(f"f:{n}")), bool(found.get(f"n:{n}")))
        elif spec.type == "bool":
            raw = v.cast(pl.String)
        else:
            raw = v.cast(pl.String)
            if found.get(f"e:{n}"):
                quoted = pl.when(raw.is_not_null()).then(json_text(raw, n))
        none = pl.col(none_col(n)) if has_none(spec) else None
        out.append(_Fact(json.dumps(n, ensure_ascii=False), raw, quoted, none))
    return out


Piece = str | pl.Expr


def _join(pieces: list[Piece]) -> pl.Expr:
    """The pieces concatenated, adjacent literals merged first (a literal costs as much as a column per row);
    a null piece is left out."""
    merged: list[Piece] = []
    for p in pieces:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged], separator="",
                         ignore_nulls=True)


def _object(facts: list[_Fact], nulls: list[bool]) -> pl.Expr:
    """The canonical JSON object: a fact known in every row (`nulls[i]` false) is its key and value between
    literals; one that may be unknown or None is a piece of its own, null (so left out) where unknown."""
    pieces: list[Piece] = []
    for f, may_be_null in zip(facts, nulls, strict=True):
        if not may_be_null:
            pieces += [f",{f.key}:", f.quoted] if f.quoted is not None else [f',{f.key}:"', f.raw, '"']
            continue
        value = f.quoted if f.quoted is not None else pl.concat_str([pl.lit('"'), f.raw, pl.lit('"')])
        piece = pl.concat_str([pl.lit(f",{f.key}:"), value])
        if f.none is not None:
            piece = pl.when(f.none).then(pl.lit(f",{f.key}:null")).otherwise(piece)
        pieces.append(piece)
    if not pieces:
        return pl.lit("{}")
    if isinstance(pieces[0], str):   # the first fact is known in every row: no comma before it
        return _join(["{" + pieces[0][1:], *pieces[1:], "}"])
    return pl.concat_str([pl.lit("{"), _join(pieces).fill_null("").str.slice(1), pl.lit("}")])


def _positional(facts: list[_Fact], nulls: list[bool]) -> pl.Expr:
    """The facts as a JSON array in `names` order: None as null, an unknown fact as `ABSENT`."""
    pieces: list[Piece] = ["["]
    for i, (f, may_be_null) in enumerate(zip(facts, nulls, strict=True)):
        comma = "," if i else ""
        if not may_be_null:
            pieces += [comma, f.quoted] if f.quoted is not None else [comma + '"', f.raw, '"']
            continue
        value = f.quoted if f.quoted is not None else pl.concat_str([pl.lit('"'), f.raw, pl.lit('"')])
        if f.none is not None:
            value = pl.when(f.none).then(pl.lit("null")).otherwise(value)
        pieces += [comma, value.fill_null(ABSENT)]
    return _join([*pieces, "]"])


def build(frame: pl.DataFrame, src: FactsSource, *, positional: bool = False, keep_object: bool = True,
          ) -> pl.DataFrame:
    """For each row of `frame` (typed facts, and the cells for its `FALLBACK` rows): `facts` (the canonical
    object, unless not `keep_object`), `facts_hash` (its SHA-256, hex) and with `positional` `pos`."""
    if not src.names:
        obj = pl.repeat("{}", frame.height, dtype=pl.String, eager=True).alias("facts")
        cols = [obj, sha256_hex(obj).alias("facts_hash")]
        if positional:
            cols.append(pl.repeat("[]", frame.height, dtype=pl.String, eager=True).alias("pos"))
        return pl.DataFrame(cols if keep_object else cols[1:])
    facts = _facts(frame, src)
    # a fact unknown or None somewhere gets a piece of its own; the others are written between literals
    nulls = [bool(x) for x in frame.select(
        [(pl.col(value_col(n)).is_null() | (f.none if f.none is not None else False)).any()
         for n, f in zip(src.names, facts, strict=True)]).row(0)] if frame.height else [False] * len(facts)
    # the values first, each once (both forms read them), then the texts around them
    named: list[pl.Expr] = []
    for i, f in enumerate(facts):
        named += [f.raw.alias(f"r{i}")]
        named += [f.quoted.alias(f"q{i}")] if f.quoted is not None else []
        named += [f.none.alias(f"n{i}")] if f.none is not None and nulls[i] else []
    values = frame.select(named)
    facts = [_Fact(f.key, pl.col(f"r{i}"), pl.col(f"q{i}") if f.quoted is not None else None,
                   pl.col(f"n{i}") if f.none is not None and nulls[i] else None) for i, f in enumerate(facts)]
    exprs = [_object(facts, nulls).alias("facts")]
    if positional:
        exprs.append(_positional(facts, nulls).alias("pos"))
    built = values.select(exprs)
    obj = built.get_column("facts")
    pos = built.get_column("pos") if positional else None
    if FALLBACK in frame.columns:
        slow = frame.get_column(FALLBACK).arg_true()
        if slow.len():
            obj, pos = _fallback(frame, src, slow, obj, pos)
    cols = [obj, sha256_hex(obj).alias("facts_hash")] if keep_object else [sha256_hex(obj).alias("facts_hash")]
    return pl.DataFrame([*cols, pos] if pos is not None else cols)


def _fallback(frame: pl.DataFrame, src: FactsSource, slow: pl.Series, obj: pl.Series, pos: pl.Series | None,
              ) -> tuple[pl.Series, pl.Series | None]:
    """The texts of the rows the columnar representation cannot hold, read from their cells by `read_facts`."""
    from policyengine.decide.evaluate import fact_index
    from policyengine.facts.applicant import read_facts

    index = fact_index(src.packages)
    cols_in = [Table.column_name(src.columns[n]) for n in src.names]
    texts, pos_texts = [], []
    for cells in frame[slow].select(cols_in).iter_rows():
        facts = read_facts(index, dict(zip(src.names, cells, strict=True))).canonical()
        texts.append(canonical_json(facts))
        pos_texts.append(positional_json(facts, src.names))
    obj = obj.scatter(slow, pl.Series(texts, dtype=pl.String))
    if pos is not None:
        pos = pos.scatter(slow, pl.Series(pos_texts, dtype=pl.String))
    return obj, pos


class Preparation:
    """`build` for every row of a typed frame, in a thread of its own, a block at a time; `for_rows` waits for
    it and gives the rows of a later, filtered frame (the accepted rows), in their order."""

    def __init__(self, frame: pl.DataFrame, src: FactsSource, *, positional: bool, keep_object: bool,
                 size: int = BLOCK_ROWS) -> None:
        self.src = src
        self.positional = positional
        self.keep_object = keep_object
        self._stopped = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policyengine-facts")
        self._future: Future[pl.DataFrame] = self._pool.submit(self._run, frame, size)
        self._pool.shutdown(wait=False)
        self._aligned: pl.DataFrame | None = None

    def _run(self, frame: pl.DataFrame, size: int) -> pl.DataFrame:
        parts = []
        for start in range(0, max(frame.height, 1), size):   # (an empty frame: one empty block, for the columns)
            if self._stopped.is_set():
                raise CancelledError
            block = frame.slice(start, size)
            parts.append(pl.concat([block.select(ROW), build(block, self.src, positional=self.positional,
                                                             keep_object=self.keep_object)], how="horizontal"))
        return pl.concat(parts)

    def stop(self) -> None:
        """No more blocks (the scoring failed or was interrupted): the thread ends after the one it builds."""
        self._stopped.set()

    def for_rows(self, rows: pl.Series) -> pl.DataFrame:
        """The texts of the rows numbered `rows` (a subset of the frame's, in the frame's order)."""
        if self._aligned is None or self._aligned.height != rows.len():
            built = self._future.result()
            if built.height != rows.len() or not built.get_column(ROW).equals(rows, check_names=False):
                built = built.filter(pl.col(ROW).is_in(rows.implode()))
            if not built.get_column(ROW).equals(rows, check_names=False):
                raise AssertionError("the prepared facts do not cover the accepted rows")
            self._aligned = built.drop(ROW)
        return self._aligned
