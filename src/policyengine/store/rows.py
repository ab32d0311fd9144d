"""A scored batch as stored rows, built column-wise (no per-row `evaluate()`): for each accepted row its
normalised facts (the canonical text `Decision.facts` holds, as compact JSON), their hash (`Decision.facts_hash`),
the outcome (per package: version, per clause status / amount / amount before settlement, total), and the row's
digest (what the run's chain is made of).

The facts JSON is exactly `json.dumps(decision.facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`
for the decision `evaluate()` gives the row, so its SHA-256 is the decision's `facts_hash`; rows whose values the
columnar representation cannot hold (`FALLBACK`) are read by `read_facts` itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl

from policyengine.batch.parse import FALLBACK, SCALE, has_none, none_col, value_col
from policyengine.batch.read import ROW, Table
from policyengine.batch.score import Scored, c_col, clause_ids
from policyengine.batch.settle import YEAR, a_col, s_col, total_col, ver_col
from policyengine.engines.columnar import STATUS_NAMES
from policyengine.facts.applicant import read_facts
from policyengine.model.policy import Package
from policyengine.model.rulefile import FactSpec

STATUS_LETTER = {"eligible": "e", "ineligible": "i", "undetermined": "u", "excluded": "x"}
LETTER_STATUS = {v: k for k, v in STATUS_LETTER.items()}

COLUMNS = ("row", "uscc", "name", "year", "facts", "facts_hash", "outcome", "total", "reasons")
"""The stored columns of a decision, in order (then `digest`)."""


def _json_text(e: pl.Expr, name: str) -> pl.Expr:
    """A string column as JSON string literals (the same escapes as Python's `json.dumps(ensure_ascii=False)`)."""
    return pl.struct(e.alias("x")).struct.json_encode().str.slice(5).str.head(-1).alias(name)


def _decimal(e: pl.Expr, scale: int) -> pl.Expr:
    """value × scale (an integer column) as `format_decimal` writes the value: no exponent, no trailing zeros."""
    if scale == 1:
        return e.cast(pl.String)
    digits = len(str(scale)) - 1
    a = e.abs()
    whole = (a // scale).cast(pl.String)
    frac = (a % scale).cast(pl.String).str.zfill(digits).str.strip_chars_end("0")
    sign = pl.when(e < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, pl.when(frac == "").then(pl.lit("")).otherwise(pl.lit(".") + frac)])


def _fact_piece(name: str, spec: FactSpec) -> pl.Expr:
    """`"name":value` for the rows where the fact is known, null where it is unknown (and so left out)."""
    v = pl.col(value_col(name))
    if spec.type in SCALE:
        text = pl.lit('"') + _decimal(v, SCALE[spec.type]) + pl.lit('"')
    elif spec.type == "bool":
        text = pl.when(v).then(pl.lit('"true"')).otherwise(pl.lit('"false"'))
    else:
        text = _json_text(v, "t")
    if has_none(spec):
        text = pl.when(pl.col(none_col(name))).then(pl.lit("null")).otherwise(text)
    key = json.dumps(name, ensure_ascii=False) + ":"
    return pl.when(v.is_null() & (~pl.col(none_col(name)) if has_none(spec) else pl.lit(True))) \
        .then(pl.lit(None, dtype=pl.String)).otherwise(pl.lit(key) + text)


def facts_json(scored: Scored) -> pl.Series:
    """Each accepted row's canonical facts as compact, sorted JSON (see the module's note)."""
    frame = scored.accepted
    names = sorted(scored.header_map.facts)
    if not names:
        return pl.repeat("{}", frame.height, dtype=pl.String, eager=True)
    pieces = [_fact_piece(n, scored.specs[n]) for n in names]
    body = pl.concat_str(pieces, separator=",", ignore_nulls=True).fill_null("")
    out = frame.select((pl.lit("{") + body + pl.lit("}")).alias("facts")).to_series()
    if FALLBACK in frame.columns:
        slow = frame.get_column(FALLBACK).arg_true()
        if slow.len():
            from policyengine.decide.evaluate import fact_index

            index = fact_index(scored.packages)
            cols = [Table.column_name(scored.header_map.facts[n]) for n in names]
            texts = []
            for cells in frame[slow].select(cols).iter_rows():
                facts = read_facts(index, dict(zip(names, cells, strict=True)))
                texts.append(canonical_json(facts.canonical()))
            out.scatter(slow, pl.Series(texts, dtype=pl.String))
    return out


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _package_outcome(p: Package) -> pl.Expr:
    names = pl.Series("status", [*(STATUS_LETTER[s] for s in STATUS_NAMES), None], dtype=pl.String)
    clauses = []
    for cid in clause_ids(p):
        s = pl.col(s_col(p.id, cid))
        comp = pl.col(c_col(p.id, cid)).cast(pl.String).fill_null("null")
        clauses.append(pl.when(s.is_null() | (s >= len(STATUS_NAMES))).then(pl.lit(None, dtype=pl.String))
                       .otherwise(pl.concat_str([pl.lit(json.dumps(cid) + ':["'), pl.lit(names).gather(s),
                                                 pl.lit('",'), pl.col(a_col(p.id, cid)).cast(pl.String),
                                                 pl.lit(","), comp, pl.lit("]")])))
    ver = pl.col(ver_col(p.id))
    body = pl.concat_str([pl.lit('{"v":'), _json_text(ver, "v").fill_null("null"), pl.lit(',"t":'),
                          pl.col(total_col(p.id)).cast(pl.String), pl.lit(',"c":{'),
                          pl.concat_str(clauses, separator=",", ignore_nulls=True).fill_null(""), pl.lit("}}")])
    return pl.concat_str([pl.lit(json.dumps(p.id) + ":"), body])


def outcome_json(scored: Scored) -> pl.Series:
    """Each accepted row's outcome: `{"pkg":{"v":version,"t":total,"c":{"a01":["e",amount,computed],...}},...}`."""
    pieces = [_package_outcome(p) for p in scored.packages]
    expr = pl.lit("{") + pl.concat_str(pieces, separator=",") + pl.lit("}")
    return scored.accepted.select(expr.alias("outcome")).to_series()


def frame(scored: Scored) -> pl.DataFrame:
    """The stored columns (`COLUMNS`) of every accepted row, in row order."""
    facts = facts_json(scored)
    hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in facts.to_list()]
    acc = scored.accepted
    out = scored.output
    year = acc.get_column(YEAR) if YEAR in acc.columns else pl.repeat(None, acc.height, dtype=pl.Int64, eager=True)
    return pl.DataFrame([
        acc.get_column(ROW).alias("row"), out.get_column("uscc"), out.get_column("name"),
        year.cast(pl.Int64).alias("year"), facts.alias("facts"), pl.Series("facts_hash", hashes, dtype=pl.String),
        outcome_json(scored), out.get_column("total").alias("total"), out.get_column("reasons").alias("reasons"),
    ])


def line(values: Sequence[Any]) -> bytes:
    """The canonical text of one stored decision (the `COLUMNS` in order), as hashed into the chain."""
    return "\x1f".join("" if v is None else str(v) for v in values).encode("utf-8")


def digests(rows: pl.DataFrame) -> Iterator[bytes]:
    """Each stored row's digest: the first 16 bytes of the SHA-256 of its canonical line."""
    for values in rows.select(COLUMNS).iter_rows():
        yield hashlib.sha256(line(values)).digest()[:16]


def reject_line(row: int, column: str, value: str, reason: str) -> bytes:
    return "\x1e".join((str(row), column, value, reason)).encode("utf-8")


def outcome_of(decision: Any) -> dict[str, Any]:
    """The stored outcome of a `Decision` (the same shape as `outcome_json`'s)."""
    out: dict[str, Any] = {}
    for p in decision.packages:
        out[p.package] = {"v": p.version, "t": p.total,
                          "c": {c.clause: [STATUS_LETTER[c.status], c.amount, c.computed] for c in p.clauses}}
    return out
