"""Scoring a population: read → type → decide (columnar, or row by row) → settle → prorate → output columns.

The columnar backend decides every row it can; rows holding a value it cannot represent exactly, and every
row of a version it cannot compile, are decided by `evaluate()` (the reference interpreter) instead, so the
result is the same either way. `--backend interpreter|rete` decides every row through `evaluate()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from policyengine.batch import reasons as R
from policyengine.batch.parse import FALLBACK, NUMERIC, Parsed, has_none, none_col, parse_table, value_col
from policyengine.batch.read import ROW, HeaderMap, Reject, Table, map_headers
from policyengine.batch.settle import (
    YEAR,
    Budget,
    a_col,
    budgets,
    prorate_population,
    r_col,
    s_col,
    settle_applicants,
    total_col,
    ver_col,
    why_col,
)
from policyengine.batch.write import UniqueNames, neutralise
from policyengine.decide import versions
from policyengine.decide.decision import Decision
from policyengine.decide.evaluate import evaluate, fact_index
from policyengine.decide.versions import VersionChoice
from policyengine.engines.columnar import (
    ELIGIBLE,
    FAILED,
    STATUS_NAMES,
    Compiled,
    NotCompilable,
    Population,
    compile_version,
    population_bound,
)
from policyengine.errors import PolicyEngineError
from policyengine.model.policy import Package, PolicyVersion
from policyengine.model.rulefile import FactSpec

if TYPE_CHECKING:
    from policyengine.store.facts_text import Preparation

Progress = Callable[[int], None]
Prepare = Literal["object", "positional", "both"]
"""Which forms of the facts text `score_table` prepares while it decides: the audit file's object, the store's
positional array, or both (each with the facts hash)."""
STATUS_CODE = {name: i for i, name in enumerate(STATUS_NAMES)}
STATUS = pl.Enum(STATUS_NAMES)
"""The dtype of the output's status columns."""


def c_col(pkg: str, clause: str) -> str:
    """A clause's own amount before settlement (`computed`; null where the clause was not eligible)."""
    return f"c:{pkg}.{clause}"


@dataclass
class Scored:
    """The outcome of scoring one table."""

    output: pl.DataFrame
    """The contract columns, one row per accepted input row, in input order."""
    rejects: list[Reject]
    rows_in: int
    budgets: list[Budget]
    packages: list[Package]
    backend: str
    interpreted_rows: int
    not_compiled: dict[str, str]
    header_map: HeaderMap
    table: Table
    accepted: pl.DataFrame
    """Internal: the accepted rows with their typed facts, raw cells (unless scored with `keep_cells=False`) and
    per-clause columns (after proration)."""
    specs: dict[str, FactSpec] = field(default_factory=dict)
    version: VersionChoice = None
    prepared: Preparation | None = field(default=None, repr=False)
    """The facts text of the rows (`policyengine.store.facts_text`), built while they were decided."""

    @property
    def rows_out(self) -> int:
        return self.output.height

    @property
    def rows_rejected(self) -> int:
        return len({r.row for r in self.rejects})

    @property
    def proration(self) -> list[list[Any]]:
        """The over-subscribed funds whose awards were scaled, as a run records them: `[package, version,
        application year, fund, demand]` each (`policyengine.decide.settlement.recorded_over` reads them)."""
        return [[b.package, b.version, b.application_year, b.fund, b.demand]
                for b in self.budgets if b.prorated and b.fund is not None]


def clause_ids(package: Package) -> list[str]:
    """Every clause id of any version of the package, in first-seen order (the output's column order)."""
    out: list[str] = []
    for v in package.versions:
        out.extend(c.id for c in v.clauses if c.id not in out)
    return out


def clause_labels(packages: Sequence[Package]) -> dict[tuple[str, str], str]:
    """How the `reasons` column names a clause: its id, or `package.id` when two packages share the id."""
    seen: dict[str, int] = {}
    for p in packages:
        for cid in clause_ids(p):
            seen[cid] = seen.get(cid, 0) + 1
    return {(p.id, cid): cid if seen[cid] == 1 else f"{p.id}.{cid}" for p in packages for cid in clause_ids(p)}


def _choose_versions(frame: pl.DataFrame, packages: Sequence[Package], version: VersionChoice) -> pl.DataFrame:
    """`ver:p` (the version each row is decided under) and `pr:p` (why none applies), as `evaluate` picks."""
    cols = []
    year = pl.col(YEAR)
    for p in packages:
        chosen = versions.forced(p, version)
        if chosen is not None:
            cols += [pl.lit(chosen.version, dtype=pl.String).alias(ver_col(p.id)),
                     pl.lit(None, dtype=pl.String).alias(why_col(p.id))]
            continue
        chain: Any = pl
        for v, first, last in versions.windows(p):
            cond = year >= first
            if last is not None:
                cond = cond & (year <= last)
            chain = chain.when(cond).then(pl.lit(v.version))
        ver = chain.otherwise(pl.lit(None, dtype=pl.String))
        before, after = versions.no_version_reason(p, "\x00").split("\x00")
        why = pl.when(ver.is_null()).then(pl.concat_str([pl.lit(before), year.cast(pl.String), pl.lit(after)]))
        cols += [ver.alias(ver_col(p.id)), why.alias(why_col(p.id))]
    return frame.with_columns(cols)


def _result_schema(package: Package, wide: bool = False) -> dict[str, pl.DataType]:
    """Result columns; amounts are Int64 (as the output writes them), or Int128 with `wide` (as the interpreter
    gives them, before they are checked to fit)."""
    money = pl.Int128() if wide else pl.Int64()
    schema: dict[str, pl.DataType] = {ROW: pl.Int64(), ver_col(package.id): pl.String(),
                                      why_col(package.id): pl.String()}
    for cid in clause_ids(package):
        schema[s_col(package.id, cid)] = pl.UInt8()
        schema[a_col(package.id, cid)] = money
        schema[r_col(package.id, cid)] = pl.Categorical()  # a few distinct texts, many rows
        schema[c_col(package.id, cid)] = money  # before caps; the interpreter's may exceed Int64: see _interpret
    schema[total_col(package.id)] = money
    return schema


def _population(frame: pl.DataFrame, version: PolicyVersion) -> Population:
    """What `frame` holds of the version's facts: which are unknown somewhere, which 'did not happen' somewhere,
    and a bound on each number."""
    nullable = frozenset(f for f in version.facts if frame.get_column(value_col(f)).null_count())
    noneable = frozenset(f for f, spec in version.facts.items()
                         if has_none(spec) and frame.get_column(none_col(f)).any())
    numeric = [f for f, spec in version.facts.items() if spec.type in NUMERIC]
    largest = frame.select(pl.col(value_col(f)).abs().max().alias(f) for f in numeric).row(0) if numeric else ()
    bounds = tuple((f, population_bound(n or 0)) for f, n in zip(numeric, largest, strict=True))
    return Population(nullable, noneable, bounds)


def _decide(rows: pl.DataFrame, package: Package, version: PolicyVersion) -> pl.DataFrame:
    """Result columns (row, version, clause statuses, settled amounts and reasons, total) for rows that are all
    decided under `version`, aligned with `rows`."""
    pid = package.id
    c = compile_version(version, _population(rows, version))
    lazy = rows.lazy()
    for stage in c.stages:
        lazy = lazy.with_columns(stage)
    lazy = lazy.with_columns([e.status.alias(s_col(pid, cid)) for cid, e in c.clauses.items()])
    need = "__need"
    lazy = lazy.with_columns(*(e.amount.alias(a_col(pid, cid)) for cid, e in c.clauses.items()),
                             pl.any_horizontal([e.needs_reason for e in c.clauses.values()]).alias(need))
    # without common-subexpression elimination: it would hold every shared part of a stage's expressions at once
    # (the compiler has already put the parts worth sharing in stage columns)
    decided = lazy.collect(engine="in-memory", optimizations=pl.QueryOptFlags(comm_subexpr_elim=False))
    reasons = _clause_reasons(decided, c, pid, decided.get_column(need))
    base = decided.select(ROW, ver_col(pid), why_col(pid), *(f(pid, cid) for cid in c.clauses for f in (s_col, a_col)),
                          *(pl.when(pl.col(s_col(pid, cid)) == ELIGIBLE).then(pl.col(a_col(pid, cid)))
                            .alias(c_col(pid, cid)) for cid in c.clauses))
    del decided  # the stages' temporary columns: released before settlement makes its copies
    settled = settle_applicants(base.hstack(reasons), version)
    keep = [ROW, ver_col(pid), why_col(pid), total_col(pid)]
    keep += [f(pid, cid) for cid in c.clauses for f in (s_col, a_col, r_col, c_col)]
    return settled.select(keep)


def _clause_reasons(decided: pl.DataFrame, c: Compiled, pid: str, need: pl.Series) -> list[pl.Series]:
    """Each clause's listed reason (Categorical, null where none is listed). Reasons are long strings: they are
    built only on the rows that list one (`need`), from only the columns they read, then put in place."""
    where = need.arg_true()
    reasons_of = [e.reason.alias(r_col(pid, cid)) for cid, e in c.clauses.items()]
    text_names = {e.meta.output_name() for e in c.text_stage}
    read = [n for e in [*c.text_stage, *reasons_of] for n in e.meta.root_names() if n not in text_names]
    rows = decided.select(list(dict.fromkeys(read))).filter(need)
    texts = _with_texts(rows, c.text_stage).lazy().select(reasons_of).collect(engine="in-memory")
    reasons = []
    for name in texts.columns:
        full = pl.repeat(None, decided.height, dtype=pl.Categorical, eager=True).alias(name)
        if where.len():
            full.scatter(where, texts.get_column(name))
        reasons.append(full)
    return reasons


def _with_texts(frame: pl.DataFrame, texts: Sequence[pl.Expr]) -> pl.DataFrame:
    """`frame` with the text columns `texts` added. A text is computed once per distinct combination of the
    columns it reads where those are few (a general condition's reason reads two or three facts with a few
    values each), else on every row."""
    columns: list[pl.Series] = []
    direct: list[pl.Expr] = []
    for e in texts:
        read = list(dict.fromkeys(e.meta.root_names()))
        distinct = frame.select(read).unique() if read else None
        if distinct is not None and distinct.height * 8 <= frame.height:
            rendered = distinct.with_columns(e)
            columns.append(frame.select(read).join(rendered, on=read, how="left", nulls_equal=True,
                                                   maintain_order="left").get_column(e.meta.output_name()))
        else:
            direct.append(e)
    return frame.with_columns(columns).with_columns(direct)


PROGRESS_CHUNK = 100_000
"""With a progress bar to feed, a large population is decided this many rows at a time (each row's decision
depends on that row alone, and proration comes after), so that the bar advances as the work does."""


def _columnar_results(rows: pl.DataFrame, packages: Sequence[Package], compiled: Mapping[str, Any],
                      progress: Progress | None) -> dict[str, pl.DataFrame]:
    """Every package's result columns for `rows`, decided by the columnar backend; `progress` is told of the
    rows as they are decided."""
    if progress is None or rows.height <= PROGRESS_CHUNK:
        results = {p.id: _columnar_package(rows, p, compiled) for p in packages}
        if progress is not None:
            progress(rows.height)
        return results
    parts: dict[str, list[pl.DataFrame]] = {p.id: [] for p in packages}
    for start in range(0, rows.height, PROGRESS_CHUNK):
        chunk = rows.slice(start, PROGRESS_CHUNK)
        for p in packages:
            parts[p.id].append(_columnar_package(chunk, p, compiled))
        progress(chunk.height)
    return {pid: pl.concat(frames, how="vertical_relaxed") for pid, frames in parts.items()}


def _columnar_package(frame: pl.DataFrame, package: Package, compiled: Mapping[str, Any]) -> pl.DataFrame:
    """One package's result columns for rows that the columnar backend decides, in the order of `frame`."""
    schema = _result_schema(package)
    ver = pl.col(ver_col(package.id))
    versions = frame.get_column(ver_col(package.id))
    present = set(versions.unique().drop_nulls().to_list())
    todo = [v for v in package.versions if v.version in present]
    if len(todo) == 1 and not versions.null_count():
        return _conform(_decide(frame, package, todo[0]), schema)
    parts = [_decide(frame.filter(ver == v.version), package, v).lazy() for v in todo]
    parts.append(frame.lazy().filter(ver.is_null()).select(ROW, ver_col(package.id), why_col(package.id)))
    out = pl.concat(parts, how="diagonal").sort(ROW).collect(engine="in-memory")
    return _conform(out, schema)


def _conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Add missing result columns (a clause another version lacks: no status, amount 0) in schema order."""
    cols = []
    present = set(frame.columns)
    for name, dtype in schema.items():
        if name in present and frame.schema[name] == dtype and not (
                name.startswith(("a:", "t:")) and frame.get_column(name).null_count()):
            cols.append(pl.col(name))  # already as wanted: no copy
            continue
        col = pl.col(name).cast(dtype) if name in present else pl.lit(None, dtype=dtype)
        if name.startswith(("a:", "t:")):
            col = col.fill_null(0)
        cols.append(col.alias(name))
    return frame.select(cols)


def decision_row(decision: Decision, row: int, packages: Sequence[Package]) -> dict[str, dict[str, Any]]:
    """One interpreted decision as result columns, per package."""
    out: dict[str, dict[str, Any]] = {}
    for p in packages:
        res = decision.package(p.id)
        cols: dict[str, Any] = {ROW: row, ver_col(p.id): res.version,
                                why_col(p.id): res.reason if res.status != "evaluated" else None}
        version = p.version(res.version) if res.version is not None else None
        for c in res.clauses:
            cols[s_col(p.id, c.clause)] = STATUS_CODE[c.status]
            cols[a_col(p.id, c.clause)] = c.amount
            listed = version is not None and R.is_listed(version, c)
            cols[r_col(p.id, c.clause)] = c.reason if listed else None
            cols[c_col(p.id, c.clause)] = c.computed
        cols[total_col(p.id)] = res.total
        out[p.id] = cols
    return out


def row_facts(frame: pl.DataFrame, header_map: HeaderMap) -> list[tuple[int, dict[str, object]]]:
    """Each row's raw cells by fact name, as `evaluate()` takes them (a blank cell is None)."""
    names = list(header_map.facts)
    cols = [ROW, *(Table.column_name(header_map.facts[n]) for n in names)]
    return [(r[0], dict(zip(names, r[1:], strict=True))) for r in frame.select(cols).iter_rows()]


def _interpret(frame: pl.DataFrame, packages: Sequence[Package], header_map: HeaderMap, version: VersionChoice,
               backend: str, progress: Progress | None
               ) -> tuple[dict[str, pl.DataFrame], list[Reject]]:
    rows: dict[str, list[dict[str, Any]]] = {p.id: [] for p in packages}
    rejects: list[Reject] = []
    for row, facts in row_facts(frame, header_map):
        try:
            decision = evaluate(packages, facts, version=version, backend=backend)
        except PolicyEngineError as exc:
            rejects.append(Reject(row, "", "", f"cannot be decided: {exc}"))
            continue
        finally:
            if progress is not None:
                progress(1)
        for pid, cols in decision_row(decision, row, packages).items():
            rows[pid].append(cols)
    out = {}
    for p in packages:
        schema = _result_schema(p, wide=True)
        df = pl.DataFrame(rows[p.id], schema={k: v for k, v in schema.items()}, orient="row") if rows[p.id] \
            else pl.DataFrame(schema=schema)
        narrow = _result_schema(p)
        for name in narrow:
            # an amount before caps that does not fit Int64 keeps Int128 (the columnar rows' Int64 widens to it)
            if name.startswith("c:") and df.height and not df.select(pl.col(name).abs().max() < 2**63).item():
                narrow[name] = pl.Int128()
        out[p.id] = _conform(df, narrow)
    return out, rejects


def _failed_rows(results: Mapping[str, pl.DataFrame], packages: Sequence[Package]) -> list[Reject]:
    """Rows where a clause's amount has no value: `evaluate()` raises there, so the row is rejected."""
    rejects: dict[int, Reject] = {}
    for p in packages:
        df = results[p.id]
        for v in p.versions:
            for c in v.clauses:
                col = s_col(p.id, c.id)
                hit = df.filter((pl.col(ver_col(p.id)) == v.version) & (pl.col(col) == FAILED))
                for row in hit.get_column(ROW).to_list():
                    rejects.setdefault(row, Reject(row, "", "", f"cannot be decided: {v.key} {c.id}: "
                                                              "the amount has no value (none)"))
    return list(rejects.values())


def score_table(table: Table, packages: Sequence[Package], *, version: VersionChoice = None,
                backend: str = "columnar", progress: Progress | None = None, keep_cells: bool = True,
                prepare: Prepare | None = None) -> Scored:
    """Decide every row of `table` under `packages`, settle, and prorate each over-subscribed fund.

    With `keep_cells=False` the fact cells (text) are released from `table` once typed and the rows the
    interpreter decides are set aside, so that the text of a large file and its typed columns are not all held
    at once; `Scored.accepted` then lacks them (audit records need them: keep them for `--audit`).

    `prepare`: build the facts text of every row (`policyengine.store.facts_text`) in a thread of its own while
    the rows are decided (it depends on the typed facts only), for the audit file or the store to take."""
    packages = list(packages)
    if not packages:
        raise PolicyEngineError("no rule packages to score with")
    index = fact_index(packages)
    specs = dict(index.specs)
    required = [s for s in specs.values() if s.required]
    hmap = map_headers(table.headers, index, required, specs)
    possible: list[PolicyVersion] = []
    for p in packages:
        forced = versions.forced(p, version)  # an unknown forced version is an error before any work
        possible += [forced] if forced is not None else p.versions
    # every fact the file has is read (a bad cell rejects its row, as evaluate() rejects it); of the others, only
    # those a version that can apply reads, each a column of its blank value
    typed = {n: s for n, s in specs.items()
             if n in hmap.facts or n in OUTPUT_FACTS or n == "application_year" or any(n in v.facts for v in possible)}
    parsed: Parsed = parse_table(table, hmap.facts, typed)
    frame = _choose_versions(parsed.frame, packages, version)
    rejects = list(parsed.rejects)
    del parsed  # `frame` holds what it did: with keep_cells=False its cells are let go below
    prepared = None
    if prepare is not None:
        from policyengine.store.facts_text import FactsSource, Preparation

        prepared = Preparation(frame, FactsSource.of(hmap.facts, specs, packages),
                               positional=prepare != "object", keep_object=prepare != "positional")
    cells = [Table.column_name(i) for i in hmap.facts.values()]

    try:
        not_compiled: dict[str, str] = {}
        interpreted = 0
        if backend == "columnar":
            compiled: dict[str, Compiled] = {}
            for p in packages:
                for v in p.versions:
                    try:
                        compiled[v.key] = compile_version(v)
                    except NotCompilable as exc:
                        not_compiled[v.key] = str(exc)
            slow = pl.col(FALLBACK)
            for p in packages:
                for v in p.versions:
                    if v.key in not_compiled:
                        slow = slow | (pl.col(ver_col(p.id)) == v.version).fill_null(False)
            slow_mask = frame.select(slow.alias("slow")).get_column("slow")
            slow_rows = frame.filter(slow_mask) if slow_mask.any() else frame.clear()
            if not keep_cells:
                # the text of a large file is let go before the duplicate check and the decisions (only the rows
                # the interpreter decides keep theirs)
                table.frame = table.frame.drop(cells)
                frame = frame.drop(cells)
            frame, duplicates = _duplicate_applicants(frame, table, hmap)
            if duplicates:
                slow_rows = slow_rows.filter(pl.col(ROW).is_in(frame.get_column(ROW).implode()))
            rejects += duplicates
            if progress is not None:  # rows rejected before deciding count as done
                progress(len({r.row for r in rejects}))
            fast_rows = frame.filter(~pl.col(ROW).is_in(slow_rows.get_column(ROW).implode())) \
                if slow_rows.height else frame
            interpreted = slow_rows.height
            results = _columnar_results(fast_rows, packages, compiled, progress)
            del fast_rows
            if slow_rows.height:
                extra, bad = _interpret(slow_rows, packages, hmap, version, "interpreter", progress)
                rejects += bad
                results = {pid: pl.concat([results[pid], extra[pid]], how="vertical_relaxed").sort(ROW)
                           for pid in results}
            del slow_rows
            rejects += _failed_rows(results, packages)
        else:
            frame, duplicates = _duplicate_applicants(frame, table, hmap)
            rejects += duplicates
            if progress is not None:  # rows rejected before deciding count as done
                progress(len({r.row for r in rejects}))
            results, bad = _interpret(frame, packages, hmap, version, backend, progress)
            interpreted = frame.height
            rejects += bad
            if not keep_cells:
                table.frame = table.frame.drop(cells)
                frame = frame.drop(cells)

        failed = {r.row for r in rejects}
        keep = frame.filter(~pl.col(ROW).is_in(sorted(failed))) if failed else frame
        wide = keep
        for p in packages:
            res = results[p.id]
            if failed:
                res = res.filter(~pl.col(ROW).is_in(sorted(failed)))
            wide = wide.drop(ver_col(p.id), why_col(p.id))
            if res.height == wide.height and res.get_column(ROW).equals(wide.get_column(ROW)):
                wide = wide.hstack(res.drop(ROW).get_columns())  # the same rows in the same order: no join needed
            else:
                wide = wide.join(res, on=ROW, how="left", maintain_order="left")
        # what the budgets compare: the settled totals before proration (not every amount, which proration replaces)
        before = wide.select(YEAR, *(c for p in packages for c in (ver_col(p.id), total_col(p.id))))
        all_budgets: list[Budget] = []
        for p in packages:
            wide = prorate_population(wide, p, clause_ids(p))
            all_budgets += budgets(before, wide, p)
        rejects.sort(key=lambda r: (r.row, r.column))
        output = build_output(wide, packages, hmap, table, specs)
    except BaseException:
        if prepared is not None:
            prepared.stop()
        raise
    return Scored(output, rejects, table.rows_in, all_budgets, packages, backend, interpreted, not_compiled, hmap,
                  table, wide, specs, version, prepared)


DUPLICATES_NAMED = 10
"""A duplicate's reason names at most this many of the other rows."""


def _duplicate_applicants(frame: pl.DataFrame, table: Table, hmap: HeaderMap) -> tuple[pl.DataFrame, list[Reject]]:
    """One applicant, one award: accepted rows that share a USCC and an application year are all rejected,
    each naming the others (`统一社会信用代码与第2、59行重复（同一申报年度）`); which copy is right is for a
    person to say."""
    keys = [value_col("uscc"), YEAR]
    if "uscc" not in hmap.facts or any(k not in frame.columns for k in keys) or frame.height < 2:
        return frame, []
    # a 64-bit hash of each key first, and repeats found by sorting them (a struct of a million strings, or a
    # hash table of a million keys, is costly in memory); rows whose hash repeats are then compared by their
    # keys, so that a hash collision is never taken for a duplicate
    hashes = frame.select(pl.col(keys[0]).hash(1).xor(pl.col(keys[1]).hash(2))).to_series()
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    del ordered
    if not repeated.len():
        return frame, []
    where = hashes.is_in(repeated.implode()).arg_true()
    dup = pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
    dup.scatter(where, frame.select(pl.struct(keys).gather(where).is_duplicated()).to_series())
    if not dup.any():
        return frame, []
    header = table.headers[hmap.facts["uscc"]]
    rejects: list[Reject] = []
    groups = frame.filter(dup).group_by(keys, maintain_order=True).agg(pl.col(ROW))
    for code, _year, rows in groups.iter_rows():
        for row in rows:
            others = [r for r in rows if r != row]
            named = "、".join(str(r) for r in others[:DUPLICATES_NAMED])
            if len(others) > DUPLICATES_NAMED:
                named += f"等共{len(others)}"
            rejects.append(Reject(row, header, code, f"统一社会信用代码与第{named}行重复（同一申报年度）"))
    return frame.filter(~dup), rejects


OUTPUT_FACTS = ("uscc", "name")
"""Facts the output shows (the applicant's identity), before the decisions."""


def build_output(wide: pl.DataFrame, packages: Sequence[Package], hmap: HeaderMap, table: Table,
                 specs: Mapping[str, FactSpec]) -> pl.DataFrame:
    """The output contract: uscc, name, per clause status and amount, package totals, total, reasons, then the
    input's unrecognised columns untouched (their headers neutralised and made unique)."""
    # statuses as an Enum: a byte per cell rather than a string (FAILED rows are rejected)
    names = pl.Series("status", [*STATUS_NAMES, None], dtype=STATUS)
    cols: list[pl.Expr] = []
    for fact in OUTPUT_FACTS:
        cols.append((pl.col(value_col(fact)) if fact in specs else pl.lit(None, dtype=pl.String)).alias(fact))
    for p in packages:
        for cid in clause_ids(p):
            cols.append(pl.lit(names).gather(pl.col(s_col(p.id, cid))).alias(f"{p.id}.{cid}.status"))
            cols.append(pl.col(a_col(p.id, cid)).cast(pl.Int64).alias(f"{p.id}.{cid}.amount"))
            # the amount before settlement (caps, groups, proration): null where the clause was not eligible
            cols.append(pl.col(c_col(p.id, cid)).alias(f"{p.id}.{cid}.computed"))
    for p in packages:
        cols.append(pl.col(total_col(p.id)).cast(pl.Int64).alias(f"{p.id}.total"))
    cols.append(pl.sum_horizontal([pl.col(total_col(p.id)).cast(pl.Int128) for p in packages]).cast(pl.Int64)
                .alias("total"))
    cols.append(pl.lit(_reasons(wide, packages)).alias("reasons"))
    taken = {"uscc", "name", "total", "reasons"} | {f"{p.id}.total" for p in packages} | {
        f"{p.id}.{cid}.{k}" for p in packages for cid in clause_ids(p) for k in ("status", "amount", "computed")}
    # a pass-through header is neutralised like a cell; one that repeats gets a suffix (备注, 备注.2, 备注.3)
    unique = UniqueNames(taken)
    for i in hmap.passthrough:
        header = neutralise(table.headers[i])
        name = unique(header if header and header not in taken else f"input.{header or i + 1}")
        cols.append(pl.col(Table.column_name(i)).alias(name))
    return wide.select(cols)


def _reasons(wide: pl.DataFrame, packages: Sequence[Package]) -> pl.Series:
    labels_by = clause_labels(packages)
    cols: list[str] = []
    labels: list[str] = []
    for p in packages:
        cols.append(why_col(p.id))
        labels.append(p.id)
        for cid in clause_ids(p):
            cols.append(r_col(p.id, cid))
            labels.append(labels_by[(p.id, cid)])
    out = pl.repeat("", wide.height, dtype=pl.String, eager=True).alias("reasons")
    if wide.height == 0:
        return out
    # each text as a small code, each row's combination of codes as one 64-bit key: exact as long as no two
    # combinations share a key (checked; otherwise the texts themselves are the key); rows without any listed
    # reason read "", the others are rendered once per distinct combination
    codes = wide.select(pl.col(c).cast(pl.Categorical).to_physical() for c in cols)
    where = codes.select(pl.any_horizontal(pl.all().is_not_null())).to_series().arg_true()
    if not where.len():
        return out
    codes = codes[where]
    keys = codes.select(pl.struct(pl.all()).hash().alias("k")).get_column("k")
    combos = codes.with_columns(keys).with_row_index("__i").unique(subset=cols, keep="first")
    if combos.get_column("k").n_unique() == combos.height:
        firsts = wide.select(pl.col(cols).gather(where.gather(combos.get_column("__i"))))
        rendered = [R.render(list(r), labels) for r in firsts.iter_rows()]
        out.scatter(where, keys.replace_strict(combos.get_column("k"), rendered, return_dtype=pl.String))
        return out
    sep, null = "\x1f", "\x00"
    texts = wide.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null(null) for c in cols], separator=sep)
                        .gather(where))
    key = texts.to_series()
    uniques = key.unique().to_list()
    rendered = [R.render([None if x == null else x for x in k.split(sep)], labels) for k in uniques]
    out.scatter(where, key.replace_strict(uniques, rendered, return_dtype=pl.String))
    return out


def status_counts(output: pl.DataFrame, packages: Sequence[Package]) -> dict[str, Any]:
    """Per package and clause: how many rows have each status, and the amount paid."""
    exprs = []
    for p in packages:
        for cid in clause_ids(p):
            sc = f"{p.id}.{cid}.status"
            exprs += [(pl.col(sc) == s).sum().alias(f"{sc}={s}") for s in STATUS_NAMES]
            exprs.append(pl.col(f"{p.id}.{cid}.amount").sum().alias(f"{p.id}.{cid}.amount"))
        exprs.append(pl.col(f"{p.id}.total").sum().alias(f"{p.id}.total"))
    exprs.append(pl.col("total").sum().alias("total"))
    row = output.select(exprs).row(0, named=True) if output.height else {}
    out: dict[str, Any] = {}
    for p in packages:
        clauses = {}
        for cid in clause_ids(p):
            sc = f"{p.id}.{cid}.status"
            clauses[cid] = {s: int(row.get(f"{sc}={s}") or 0) for s in STATUS_NAMES}
            clauses[cid]["amount"] = int(row.get(f"{p.id}.{cid}.amount") or 0)
        out[p.id] = {"clauses": clauses, "total": int(row.get(f"{p.id}.total") or 0)}
    out["total"] = int(row.get("total") or 0)
    return out


__all__ = ["Scored", "clause_ids", "score_table"]
