"""A scored batch as stored rows, built column-wise (no per-row `evaluate()`): for each accepted row its
normalised facts (the canonical text `Decision.facts` holds, as compact JSON), their hash (`Decision.facts_hash`),
the outcome (per package: version, per clause status / amount / amount before settlement, total), and the row's
digest (what the run's chain is made of).

The facts text and hash are `policyengine.store.facts_text`'s (prepared while the batch is scored, when asked).

The store keeps a batch run's facts and outcomes **by position** (the run records the names once: `fact_names`,
`outcome_layout`): the facts as a JSON array of values in `fact_names` order, the outcome as one JSON array per
package (`outcome_positional`, read back by `read_outcome_text`). The audit file keeps the facts as a JSON
object, the outcome by position keyed by each package's version (`outcome_versioned`).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import polars as pl
import polars_hash as plh

from policyengine.batch.read import ROW
from policyengine.batch.score import Scored, c_col, clause_ids
from policyengine.batch.settle import YEAR, a_col, s_col, total_col, ver_col
from policyengine.engines.columnar import STATUS_NAMES
from policyengine.model.policy import Package
from policyengine.store.facts_text import FactsSource, build, json_text

STATUS_LETTER = {"eligible": "e", "ineligible": "i", "undetermined": "u", "excluded": "x"}
LETTER_STATUS = {v: k for k, v in STATUS_LETTER.items()}

COLUMNS = ("row", "uscc", "name", "year", "facts", "facts_hash", "outcome", "total", "reasons")
"""The stored columns of a decision, in order (then `digest`)."""

T = TypeVar("T")

BLOCK_ROWS = 20_000
"""Rows built at a time (column-wise), so that a large batch's stored text is never all held at once."""

BUILDERS = 2
"""Blocks built at once (`blocks`)."""


def fact_names(scored: Scored) -> list[str]:
    """The facts a batch reads, in the order the positional form of its facts gives them."""
    return facts_source(scored).names


def facts_source(scored: Scored) -> FactsSource:
    return FactsSource.of(scored.header_map.facts, scored.specs, scored.packages)


def facts_texts(scored: Scored, positional: bool = False, start: int = 0, length: int | None = None,
                ) -> pl.DataFrame:
    """The facts text (`policyengine.store.facts_text.build`: `facts`, `facts_hash`, with `positional` `pos`) of
    the accepted rows from `start` (`length` of them): taken from the text prepared while the batch was scored
    (`score_table(prepare=...)`) when there is one, else built now."""
    prepared = scored.prepared
    if prepared is not None and (prepared.positional or not positional) and (prepared.keep_object or positional):
        return prepared.for_rows(scored.accepted.get_column(ROW)).slice(start, length)
    return build(scored.accepted.slice(start, length), facts_source(scored), positional=positional)


def read_facts_text(text: str, names: Sequence[str] | None) -> dict[str, str | None]:
    """Stored facts (a JSON object, or the positional array given the run's fact names) as a dict."""
    data = json.loads(text)
    if isinstance(data, dict):
        return data
    if names is None or not isinstance(data, list) or len(data) != len(names):
        raise ValueError("positional facts without their run's fact names")
    return {n: v for n, v in zip(names, data, strict=True) if type(v) is not int}


# -- outcomes -----------------------------------------------------------------------------------------------------

Layout = list[tuple[str, list[str]]]
"""Each package and its clause ids, in the order a positional outcome gives them."""


def outcome_layout(packages: Sequence[Package]) -> Layout:
    return [(p.id, clause_ids(p)) for p in packages]


def _status(p: Package, cid: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """A clause's status code (null where the clause is not part of the row's outcome), amount and computed."""
    s = pl.col(s_col(p.id, cid))
    code = pl.when(s < len(STATUS_NAMES)).then(s.cast(pl.Int64))
    return code, pl.col(a_col(p.id, cid)), pl.col(c_col(p.id, cid))


def _clause_items(p: Package, cids: Sequence[str]) -> list[pl.Expr]:
    """The clauses `cids` of package `p` by position: their letters as one quoted JSON string, one letter per
    clause (`-` for a clause not in the row's outcome, lower case for one that paid 0 with no amount before
    settlement, upper case for one whose amount and amount before settlement follow), then those amounts (null
    where the clause is plain, so that `concat_str(..., ignore_nulls=True)` leaves them out)."""
    n = len(STATUS_NAMES)
    table = pl.Series("letters", [*(STATUS_LETTER[s] for s in STATUS_NAMES),
                                  *(STATUS_LETTER[s].upper() for s in STATUS_NAMES), "-"], dtype=pl.String)
    letters, amounts = [], []
    for cid in cids:   # the amounts are items of the package's array, left out where plain
        code, amount, computed = _status(p, cid)
        plain = ((amount == 0) & computed.is_null()).fill_null(False)
        keep = code.is_not_null() & ~plain
        letters.append(pl.lit(table).gather((code + pl.when(plain).then(0).otherwise(n)).fill_null(2 * n)))
        amounts += [pl.when(keep).then(amount.cast(pl.String).fill_null("null")),
                    pl.when(keep).then(computed.cast(pl.String).fill_null("null"))]
    quoted = pl.concat_str([pl.lit('"'), pl.concat_str(letters, separator=""), pl.lit('"')]) if letters \
        else pl.lit('""')
    return [quoted, *amounts]


def _package_positional(p: Package) -> pl.Expr:
    """`[version, total, "letters", amount, computed, ...]` over the clauses of `clause_ids(p)` (`_clause_items`)."""
    ver = json_text(pl.col(ver_col(p.id)), "v").fill_null("null")
    total = pl.col(total_col(p.id)).cast(pl.String).fill_null("null")
    return pl.concat_str([pl.lit("["), pl.concat_str([ver, total, *_clause_items(p, clause_ids(p))], separator=",",
                                                     ignore_nulls=True), pl.lit("]")])


def _package_versioned(p: Package) -> pl.Expr:
    """`"pkg@version":[total, "letters", amount, computed, ...]` over the clauses of the row's version, in that
    version's own clause order (`_clause_items`); `"pkg":[total]` where no version applies. Versions with the
    same clauses share one expression."""
    ver = pl.col(ver_col(p.id))
    keys = {v.version: json.dumps(v.key, ensure_ascii=False) + ":[" for v in p.versions}
    key = ver.replace_strict(keys, default=json.dumps(p.id, ensure_ascii=False) + ":[", return_dtype=pl.String)
    layouts: dict[tuple[str, ...], list[str]] = {}
    for v in p.versions:
        layouts.setdefault(tuple(c.id for c in v.clauses), []).append(v.version)
    bodies = [pl.when(ver.is_not_null() if len(layouts) == 1 else ver.is_in(versions))
              .then(pl.lit(",") + pl.concat_str(_clause_items(p, cids), separator=",", ignore_nulls=True))
              for cids, versions in layouts.items()]
    total = pl.col(total_col(p.id)).cast(pl.String).fill_null("null")
    rest = (bodies[0] if len(bodies) == 1 else pl.coalesce(bodies)).fill_null("") if bodies else pl.lit("")
    return pl.concat_str([key, total, rest, pl.lit("]")])


def outcome_versioned(scored: Scored, frame: pl.DataFrame | None = None) -> pl.Series:
    """Each accepted row's outcome as the audit file keeps it (`policyengine-audit/4`): a JSON object of one
    array per package, keyed by the version the row was decided under (`_package_versioned`), e.g.
    `{"huangzuan16@3.0":[288,"iiiiiiiiiiEiiEiE",196,603445,55,171849,37,113781],"municipal@2019":[0,"iii"]}`."""
    expr = pl.concat_str([pl.lit("{"), pl.concat_str([_package_versioned(p) for p in scored.packages],
                                                    separator=","), pl.lit("}")])
    return (scored.accepted if frame is None else frame).select(expr.alias("outcome")).to_series()


def outcome_positional(scored: Scored, frame: pl.DataFrame | None = None) -> pl.Series:
    """Each accepted row's outcome in the store's positional form: one array per package of
    `outcome_layout(scored.packages)` (`_package_positional`), e.g.
    `[["3.0",288,"iiiiiiiiiiEiiEiE",196,603445,55,171849,37,113781],["2019",0,"iii"]]`."""
    expr = pl.concat_str([pl.lit("["), pl.concat_str([_package_positional(p) for p in scored.packages],
                                                    separator=","), pl.lit("]")])
    return (scored.accepted if frame is None else frame).select(expr.alias("outcome")).to_series()


def read_clauses(pid: str, cids: Sequence[str], letters: Any, nums: Sequence[Any]) -> dict[str, list[Any]]:
    """The clauses of a positional outcome (`_clause_items`: one letter per clause of `cids`, then the amounts
    of the upper-case ones) as `{clause: [status letter, amount, computed]}`; `ValueError` if they do not fit."""
    if not isinstance(letters, str) or len(letters) != len(cids):
        raise ValueError(f"{pid}: not a positional outcome of {len(cids)} clauses")
    clauses: dict[str, list[Any]] = {}
    k = 0
    for cid, letter in zip(cids, letters, strict=True):
        if letter == "-":
            continue
        if letter.lower() not in LETTER_STATUS:
            raise ValueError(f"{pid} {cid}: unknown status letter {letter!r}")
        if letter.isupper():
            if k + 2 > len(nums):
                raise ValueError(f"{pid} {cid}: its amounts are missing")
            clauses[cid] = [letter.lower(), nums[k], nums[k + 1]]
            k += 2
        else:
            clauses[cid] = [letter, 0, None]
    if k != len(nums):
        raise ValueError(f"{pid}: {len(nums) - k} amounts more than its clauses")
    return clauses


def write_clauses(clauses: dict[str, list[Any]], cids: Sequence[str]) -> list[Any]:
    """`["letters", amount, computed, ...]`: the clauses of an outcome (`outcome_of`'s `c`) as `read_clauses`
    reads them."""
    letters, nums = [], []
    for cid in cids:
        c = clauses.get(cid)
        if c is None:
            letters.append("-")
        elif c[1] == 0 and c[2] is None:
            letters.append(c[0])
        else:
            letters.append(c[0].upper())
            nums += [c[1], c[2]]
    return ["".join(letters), *nums]


def read_outcome_text(text: str, layout: Layout | None) -> dict[str, Any]:
    """A stored outcome (a JSON object, or the positional arrays given the run's layout) as the object."""
    data = json.loads(text)
    if isinstance(data, dict):
        return data
    if layout is None or not isinstance(data, list) or len(data) != len(layout):
        raise ValueError("a positional outcome without its run's layout")
    out: dict[str, Any] = {}
    for (pid, cids), entry in zip(layout, data, strict=True):
        if not isinstance(entry, list) or len(entry) < 3:
            raise ValueError(f"{pid}: not a positional outcome of {len(cids)} clauses")
        out[pid] = {"v": entry[0], "t": entry[1], "c": read_clauses(pid, cids, entry[2], entry[3:])}
    return out


def write_outcome_text(outcome: dict[str, Any], layout: Layout) -> str:
    """An outcome (`outcome_of`'s shape) in the positional form `outcome_positional` builds column-wise."""
    entries = [[outcome[pid]["v"], outcome[pid]["t"], *write_clauses(outcome[pid]["c"], cids)]
               for pid, cids in layout]
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))


# -- stored rows --------------------------------------------------------------------------------------------------

def frame(scored: Scored, positional: bool = False, start: int = 0, length: int | None = None,
          extra: Sequence[pl.Expr] = ()) -> pl.DataFrame:
    """The stored columns (`COLUMNS`) of the accepted rows (from `start`, `length` of them), in row order; with
    `positional` the facts and outcome in the positional forms (the store's), else the facts as a JSON object
    and the outcome keyed by version (`outcome_versioned`: the audit file's); then the `extra` columns, computed
    on the accepted rows."""
    acc = scored.accepted.slice(start, length)
    out = scored.output.slice(start, length)
    texts = facts_texts(scored, positional, start, length)
    year = acc.get_column(YEAR) if YEAR in acc.columns else pl.repeat(None, acc.height, dtype=pl.Int64, eager=True)
    outcome = outcome_positional(scored, acc) if positional else outcome_versioned(scored, acc)
    more = acc.select(extra).get_columns() if extra else []
    return pl.DataFrame([
        acc.get_column(ROW).alias("row"), out.get_column("uscc"), out.get_column("name"),
        year.cast(pl.Int64).alias("year"), texts.get_column("pos" if positional else "facts").alias("facts"),
        texts.get_column("facts_hash"),
        outcome, out.get_column("total").alias("total"), out.get_column("reasons").alias("reasons"), *more,
    ])


def blocks(scored: Scored, positional: bool = False, size: int = BLOCK_ROWS, workers: int = BUILDERS,
           extra: Sequence[pl.Expr] = ()) -> Iterator[pl.DataFrame]:
    """`frame` a block of rows at a time, in row order, `workers` blocks being built at once (`built`)."""
    return built(scored, lambda block: block, positional, size, workers, extra)


def built(scored: Scored, make: Callable[[pl.DataFrame], T], positional: bool = False, size: int = BLOCK_ROWS,
          workers: int = BUILDERS, extra: Sequence[pl.Expr] = ()) -> Iterator[T]:
    """`make(frame(...))` a block of rows at a time, in row order, `workers` blocks being built (and made) at
    once, in threads of their own (polars builds one block's text mostly on one core, and releases the
    interpreter's lock while it does)."""
    starts = iter(range(0, scored.accepted.height, size))

    def one(start: int) -> T:
        return make(frame(scored, positional, start, size, extra))
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="policyengine-rows") as pool:
        pending: deque[Future[T]] = deque(pool.submit(one, start) for start in itertools.islice(starts, workers))
        try:
            while pending:
                done = pending.popleft().result()
                following = next(starts, None)
                if following is not None:
                    pending.append(pool.submit(one, following))
                yield done
        finally:
            for waiting in pending:
                waiting.cancel()


DIGESTED: dict[int, tuple[str, ...]] = {1: COLUMNS, 2: tuple(c for c in COLUMNS if c != "facts")}
"""The columns a row's digest is made of, by its run's digest form (`runs.digest_form`): 1 (runs recorded before
schema version 5) every stored column; 2 every one but the facts text, which the facts hash beside it stands
for (`audit verify` checks the facts against their hash, row by row)."""

DIGEST_FORM = 2
"""The digest form of the runs this version records."""


def line(values: Sequence[Any], form: int = 1) -> bytes:
    """The canonical text of one stored decision (`values`: the `COLUMNS` in order), as hashed into the chain:
    the columns of `DIGESTED[form]`."""
    picked = values if form == 1 else [v for c, v in zip(COLUMNS, values, strict=True) if c in DIGESTED[form]]
    return "\x1f".join("" if v is None else str(v) for v in picked).encode("utf-8")


def digests(rows: pl.DataFrame, form: int = DIGEST_FORM) -> pl.Series:
    """Each stored row's digest: the first 16 bytes of the SHA-256 of its canonical line (`line`; the lines are
    joined column-wise and hashed in polars)."""
    line = pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in DIGESTED[form]], separator="\x1f")
    return rows.select(line.alias("line")).select(
        plh.col("line").chash.sha2_256().str.head(32).str.decode("hex").alias("digest")).to_series()


def reject_line(row: int, column: str, value: str, reason: str) -> bytes:
    return "\x1e".join((str(row), column, value, reason)).encode("utf-8")


def outcome_of(decision: Any) -> dict[str, Any]:
    """The outcome of a `Decision` as an object: `{"pkg":{"v":version,"t":total,"c":{"a01":["e",amount,computed],
    ...}},...}` (what `read_outcome_text` gives)."""
    out: dict[str, Any] = {}
    for p in decision.packages:
        out[p.package] = {"v": p.version, "t": p.total,
                          "c": {c.clause: [STATUS_LETTER[c.status], c.amount, c.computed] for c in p.clauses}}
    return out
