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
from collections.abc import Sequence
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


def _fact_value(name: str, spec: FactSpec) -> pl.Expr:
    """The fact's JSON value for the rows where it is known, null where it is unknown (and so left out)."""
    v = pl.col(value_col(name))
    if spec.type in SCALE:
        text = pl.lit('"') + _decimal(v, SCALE[spec.type]) + pl.lit('"')
    elif spec.type == "bool":
        text = pl.when(v).then(pl.lit('"true"')).otherwise(pl.lit('"false"'))
    else:
        text = _json_text(v, "t")
    if has_none(spec):
        text = pl.when(pl.col(none_col(name))).then(pl.lit("null")).otherwise(text)
    return pl.when(v.is_null() & (~pl.col(none_col(name)) if has_none(spec) else pl.lit(True))) \
        .then(pl.lit(None, dtype=pl.String)).otherwise(text)


ABSENT = "0"
"""In the positional form of the facts, a fact the row does not have (values are strings or null, never 0)."""


def fact_names(scored: Scored) -> list[str]:
    """The facts a batch reads, in the order the positional form of its facts gives them."""
    return sorted(scored.header_map.facts)


def facts_json(scored: Scored, positional: bool = False) -> tuple[pl.Series, pl.Series | None]:
    """Each accepted row's canonical facts as compact, sorted JSON (see the module's note), and with
    `positional` the same facts as a JSON array in `fact_names` order (`ABSENT` where a fact is unknown): the
    form the store keeps, the run recording the names once."""
    frame = scored.accepted
    names = fact_names(scored)
    if not names:
        empty = pl.repeat("{}", frame.height, dtype=pl.String, eager=True)
        return empty, (pl.repeat("[]", frame.height, dtype=pl.String, eager=True) if positional else None)
    values = [_fact_value(n, scored.specs[n]).alias(f"f{i}") for i, n in enumerate(names)]
    keys = [json.dumps(n, ensure_ascii=False) + ":" for n in names]
    cols = frame.select(values)
    dict_body = pl.concat_str([pl.lit(k) + pl.col(f"f{i}") for i, k in enumerate(keys)], separator=",",
                              ignore_nulls=True).fill_null("")
    exprs = [(pl.lit("{") + dict_body + pl.lit("}")).alias("facts")]
    if positional:
        exprs.append((pl.lit("[") + pl.concat_str([pl.col(f"f{i}").fill_null(ABSENT) for i in range(len(names))],
                                                  separator=",") + pl.lit("]")).alias("pos"))
    built = cols.select(exprs)
    out = built.get_column("facts")
    pos = built.get_column("pos") if positional else None
    if FALLBACK in frame.columns:
        slow = frame.get_column(FALLBACK).arg_true()
        if slow.len():
            from policyengine.decide.evaluate import fact_index

            index = fact_index(scored.packages)
            cols_in = [Table.column_name(scored.header_map.facts[n]) for n in names]
            texts, pos_texts = [], []
            for cells in frame[slow].select(cols_in).iter_rows():
                facts = read_facts(index, dict(zip(names, cells, strict=True))).canonical()
                texts.append(canonical_json(facts))
                pos_texts.append(positional_json(facts, names))
            out.scatter(slow, pl.Series(texts, dtype=pl.String))
            if pos is not None:
                pos.scatter(slow, pl.Series(pos_texts, dtype=pl.String))
    return out, pos


def positional_json(facts: dict[str, str | None], names: Sequence[str]) -> str:
    """`facts` in the positional form (`facts_json`), or as a JSON object when it has a fact `names` lacks."""
    if not set(facts) <= set(names):
        return canonical_json(facts)
    return "[" + ",".join(json.dumps(facts[n], ensure_ascii=False) if n in facts else ABSENT for n in names) + "]"


def read_facts_text(text: str, names: Sequence[str] | None) -> dict[str, str | None]:
    """Stored facts (a JSON object, or the positional array given the run's fact names) as a dict."""
    data = json.loads(text)
    if isinstance(data, dict):
        return data
    if names is None or not isinstance(data, list) or len(data) != len(names):
        raise ValueError("positional facts without their run's fact names")
    return {n: v for n, v in zip(names, data, strict=True) if type(v) is not int}


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


def frame(scored: Scored, positional: bool = False) -> pl.DataFrame:
    """The stored columns (`COLUMNS`) of every accepted row, in row order; with `positional` the facts in the
    positional form (the store's), else as the JSON object (the audit file's)."""
    facts, pos = facts_json(scored, positional)
    sha = hashlib.sha256
    hashes = [sha(t).hexdigest() for t in facts.cast(pl.Binary).to_list()]
    acc = scored.accepted
    out = scored.output
    year = acc.get_column(YEAR) if YEAR in acc.columns else pl.repeat(None, acc.height, dtype=pl.Int64, eager=True)
    return pl.DataFrame([
        acc.get_column(ROW).alias("row"), out.get_column("uscc"), out.get_column("name"),
        year.cast(pl.Int64).alias("year"), (pos if pos is not None else facts).alias("facts"),
        pl.Series("facts_hash", hashes, dtype=pl.String),
        outcome_json(scored), out.get_column("total").alias("total"), out.get_column("reasons").alias("reasons"),
    ])


def line(values: Sequence[Any]) -> bytes:
    """The canonical text of one stored decision (the `COLUMNS` in order), as hashed into the chain."""
    return "\x1f".join("" if v is None else str(v) for v in values).encode("utf-8")


def digests(rows: pl.DataFrame) -> list[bytes]:
    """Each stored row's digest: the first 16 bytes of the SHA-256 of its canonical line (`line`; the lines are
    joined column-wise, then hashed one by one)."""
    lines = rows.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in COLUMNS],
                                      separator="\x1f").cast(pl.Binary).alias("line")).get_column("line")
    sha = hashlib.sha256
    return [sha(t).digest()[:16] for t in lines.to_list()]


def reject_line(row: int, column: str, value: str, reason: str) -> bytes:
    return "\x1e".join((str(row), column, value, reason)).encode("utf-8")


def outcome_of(decision: Any) -> dict[str, Any]:
    """The stored outcome of a `Decision` (the same shape as `outcome_json`'s)."""
    out: dict[str, Any] = {}
    for p in decision.packages:
        out[p.package] = {"v": p.version, "t": p.total,
                          "c": {c.clause: [STATUS_LETTER[c.status], c.amount, c.computed] for c in p.clauses}}
    return out
