"""Compact audit records for a batch (`score --audit FILE.jsonl`): one JSON line per accepted row holding what
was decided and on what, never the trace. Each line is a record on its own (no header line).

    {"format":"policyengine-audit/4","row":2,"facts":{...canonical text...},"facts_hash":"sha256:…",
     "outcome":{"huangzuan16@3.0":[288,"iiiiiiiiiiEiiEiE",196,603445,55,171849,37,113781],"municipal":[0]},
     "total":288,"rules":{"huangzuan16@3.0":"sha256:…"},"run":{"version":null,"proration":[...]}}

`outcome` gives, per package, keyed `package@version` (the version the row was decided under), the package's
total, then one status letter per clause of that version, in the version's own clause order (`e`ligible,
`i`neligible, `u`ndetermined, e`x`cluded; lower case: paid 0 with no amount before settlement; upper case: its
amount paid and amount before settlement follow, in clause order). A package no version of which applies to the
row is keyed by its id alone, with its total only. The clause order is fixed by the version's content, which
`rules` names with its hash (`policyengine.store.rows.read_clauses` reads the letters back). `rules` names the
package versions this row was decided under with their content hashes; rules from outside the bundled rules
also have their folder in `sources` (`{"pkg@version": folder}`, only where there are such rules). `run.version`
is the forced version (`--version`), `run.proration` the over-subscribed funds ([package, version, year, fund,
demand]) whose awards were scaled. The reasons are not kept: `replay()` re-derives them with the trace. The
records are built column-wise from the batch's own output (no per-row `evaluate()`); `replay()` re-evaluates a
record and checks it. `policyengine.store` keeps the same rows in a database.

Read by `replay()` still: format 3 (the outcome as objects, `{"huangzuan16": {"v": "3.0", "t": 5000000, "c":
{"a01": ["i", 0, null], ...}}}`, and the reasons, `"reasons": "…"`), and format 2 (as 3, but giving every
version of every package of the run with its content hash and folder on every line: `"run": {"rules":
{"pkg@version": {"content_hash": …, "source": …}}, "version": …, "proration": …}`).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from policyengine.batch.score import Scored
from policyengine.model.policy import Package, PolicyVersion

if TYPE_CHECKING:
    from policyengine.atomic import OutputSet

FORMAT = "policyengine-audit/4"
FORMATS = ("policyengine-audit/2", "policyengine-audit/3", FORMAT)
"""The formats `replay()` reads."""


def run_info(scored: Scored) -> dict[str, Any]:
    return {
        "version": scored.version,
        "proration": scored.proration,
    }


def _bundled(folder: Path) -> bool:
    from policyengine.model.bundled import bundled_rules_dir

    try:
        return folder.resolve().is_relative_to(bundled_rules_dir().resolve())
    except OSError:
        return False


def _per_version(scored: Scored, text: Callable[[PolicyVersion], str | None]) -> pl.Expr | None:
    """A JSON object per row: `"pkg@version": text(version)` for each package version the row was decided
    under (and `text` gives), or None when `text` gives nothing for any version."""
    from policyengine.batch.settle import ver_col

    items = []
    for p in scored.packages:
        mapping = {v.version: json.dumps(v.key, ensure_ascii=False) + ":" + json.dumps(t, ensure_ascii=False)
                   for v in p.versions if (t := text(v)) is not None}
        if mapping:
            items.append(pl.col(ver_col(p.id)).replace_strict(mapping, default=None, return_dtype=pl.String))
    if not items:
        return None
    return pl.concat_str([pl.lit("{"), pl.concat_str(items, separator=",", ignore_nulls=True).fill_null(""),
                          pl.lit("}")])


def _line(scored: Scored) -> tuple[pl.Expr, list[pl.Expr]]:
    """The record of a stored row (`policyengine.store.rows.frame`) as a JSON line, and the extra columns of
    the frame it reads."""

    tail = ',"run":' + json.dumps(run_info(scored), ensure_ascii=False, separators=(",", ":")) + "}"
    rules = _per_version(scored, lambda v: v.content_hash)
    sources = _per_version(scored, lambda v: None if _bundled(v.source) else str(v.source))
    extra = [e.alias(n) for n, e in (("rules", rules), ("sources", sources)) if e is not None]
    named = [pl.lit(',"rules":'), pl.col("rules")] if rules is not None else [pl.lit(',"rules":{}')]
    if sources is not None:
        named += [pl.lit(',"sources":'), pl.col("sources")]
    line = pl.concat_str([
        pl.lit('{"format":"' + FORMAT + '","row":'), pl.col("row").cast(pl.String),
        pl.lit(',"facts":'), pl.col("facts"), pl.lit(',"facts_hash":"sha256:'), pl.col("facts_hash"),
        pl.lit('","outcome":'), pl.col("outcome"), pl.lit(',"total":'), pl.col("total").cast(pl.String),
        *named, pl.lit(tail)]).alias("line")
    return line, extra


def _lines(scored: Scored) -> Iterator[pl.DataFrame]:
    """The records, a block of rows at a time, as a one-column frame of JSON lines."""
    from policyengine.store import rows as R

    line, extra = _line(scored)
    return R.built(scored, lambda block: block.select(line), extra=extra)


def _texts(scored: Scored) -> Iterator[memoryview]:
    """The records, a block of rows at a time, as the file's text, made in the threads that build the blocks."""
    from policyengine.store import rows as R

    line, extra = _line(scored)
    return R.built(scored, lambda block: _text(block.select(line)), extra=extra)


def _text(block: pl.DataFrame) -> memoryview:
    """A block of records as the file's text (polars writes into memory: a file object's write, called from
    polars, could swallow a Ctrl-C), without a copy."""
    buffer = io.BytesIO()
    block.write_csv(buffer, include_header=False, quote_style="never", line_terminator="\n")
    return buffer.getbuffer()


def records(scored: Scored) -> Iterator[str]:
    """One compact record (a JSON line, without the newline) per accepted row, in row order."""
    for block in _lines(scored):
        yield from block.get_column("line").to_list()


def write(scored: Scored, target: Path, outputs: OutputSet | None = None) -> int:
    """The records as a JSON Lines file, written from the blocks as they are (UTF-8, one record a line),
    atomically or as part of `outputs`; returns the number of records."""
    from policyengine.atomic import OutputError, atomic_path
    from policyengine.direct_write import sequential

    def into(path: Path) -> None:
        with sequential(path) as fh:   # around the page cache where the system can (`direct_write`)
            for text in _texts(scored):
                fh.write(text)
    try:
        if outputs is not None:
            into(outputs.path(target))
        else:
            with atomic_path(target) as tmp:
                into(tmp)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return scored.accepted.height


def is_compact(record: object) -> bool:
    if isinstance(record, str):
        found = re.match(r'\s*\{\s*"format"\s*:\s*"([^"]*)"', record)
        return found is not None and found.group(1) in FORMATS
    return isinstance(record, Mapping) and record.get("format") in FORMATS


def _rules(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """A record's rules (`pkg@version` → content hash) and the folders of those given by folder."""
    if data["format"] != "policyengine-audit/2":
        return dict(data["rules"]), dict(data.get("sources") or {})
    listed = data["run"]["rules"]
    return ({k: r["content_hash"] for k, r in listed.items()},
            {k: r["source"] for k, r in listed.items() if r.get("source")})


def _packages(data: Mapping[str, Any], sources: Mapping[str, str]) -> tuple[list[Package], list[str]]:
    """The packages a record's outcome names, loaded from the folders it gives (else the bundled rules)."""
    from policyengine.model.bundled import bundled_rules_dir
    from policyengine.model.loader import load_package

    folders: dict[str, Path] = {}
    for key, src in sources.items():
        folders.setdefault(key.rpartition("@")[0], Path(src).parent)
    for key in data["outcome"]:
        pid = key.partition("@")[0]
        folders.setdefault(pid, bundled_rules_dir() / pid)
    out = []
    for pid, folder in folders.items():
        try:
            out.append(load_package(folder if folder.is_dir() else bundled_rules_dir() / pid))
        except Exception as exc:
            return [], [f"{pid}: cannot load the package: {exc}"]
    return out, []


def named_packages(record: Mapping[str, Any]) -> tuple[str, Callable[[], tuple[list[Package], list[str]]]]:
    """What a compact record's rules are loaded from (a key: records with the same key load the same packages)
    and the loading (`replay()` without packages): the packages, or the problems loading them."""
    sources = _rules(record)[1]
    key = json.dumps([sorted(sources.items()), sorted(k.partition("@")[0] for k in record["outcome"])])
    return key, lambda: _packages(record, sources)


def read_outcome(outcome: Mapping[str, Any], versions: Mapping[str, PolicyVersion]) -> dict[str, Any]:
    """A format-4 outcome (`"pkg@version": [total, "letters", amounts...]`, `"pkg": [total]`) as the object
    format 3 gave and `policyengine.store.rows.outcome_of` gives, the letters read against the clauses of the
    version (`versions`: by `pkg@version`); `ValueError` where the record does not fit them, `KeyError` for a
    version not in `versions`."""
    from policyengine.store.rows import read_clauses

    out: dict[str, Any] = {}
    for key, entry in outcome.items():
        pid, _, version = key.partition("@")
        if not isinstance(entry, list) or not entry or (not version and len(entry) != 1):
            raise ValueError(f"{key}: not an outcome")
        cids = [c.id for c in versions[key].clauses] if version else []
        out[pid] = {"v": version or None, "t": entry[0],
                    "c": read_clauses(key, cids, entry[1], entry[2:]) if version else {}}
    return out


def write_outcome(outcome: Mapping[str, Any], versions: Mapping[str, PolicyVersion]) -> dict[str, Any]:
    """An outcome object (`policyengine.store.rows.outcome_of`'s shape) in format 4's form (`read_outcome`)."""
    from policyengine.store.rows import write_clauses

    out: dict[str, Any] = {}
    for pid, o in outcome.items():
        if o["v"] is None:
            out[pid] = [o["t"]]
        else:
            key = f"{pid}@{o['v']}"
            out[key] = [o["t"], *write_clauses(o["c"], [c.id for c in versions[key].clauses])]
    return out


def replay_compact(record: str | Mapping[str, Any], packages: Sequence[Package] | None = None) -> Any:
    """`replay()` of a compact record: re-evaluate its facts under its rules and compare the outcome."""
    from policyengine.decide.evaluate import ReplayResult, evaluate
    from policyengine.decide.settlement import prorate_decision, recorded_over
    from policyengine.errors import FactError, PolicyEngineError
    from policyengine.store.db import StoredDecision
    from policyengine.store.verify import compare

    try:
        data = json.loads(record) if isinstance(record, str) else dict(record)
        facts, outcome = data["facts"], data["outcome"]
        if not isinstance(facts, dict) or not isinstance(outcome, dict):
            raise TypeError("its facts and outcome are not objects")
        rules, sources = _rules(data)
        row, total, facts_hash, run = int(data["row"]), int(data["total"]), data["facts_hash"], dict(data["run"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PolicyEngineError(f"not an audit record: {exc}") from None
    if packages is None:
        pkgs, problems = _packages(data, sources)
        if problems:
            return ReplayResult(False, problems)
    else:
        pkgs = list(packages)
    differences: list[str] = []
    by_key = {v.key: v for p in pkgs for v in p.versions}
    if data["format"] == FORMAT:
        used = [k for k in outcome if "@" in k]
    else:
        used = [f"{pid}@{o.get('v')}" for pid, o in outcome.items() if isinstance(o, dict) and o.get("v") is not None]
    for key in used:
        have = by_key.get(key)
        if have is None:
            return ReplayResult(False, [f"{key}: not given"])
        if key in rules and have.content_hash != rules[key]:
            differences.append(f"{key}: rules changed since the record (content hash "
                               f"{rules[key]} → {have.content_hash})")
    if data["format"] == FORMAT:   # the clause letters are read against the clauses of the version named
        try:
            outcome = read_outcome(outcome, by_key)
        except (ValueError, TypeError, IndexError) as exc:
            return ReplayResult(False, [*differences, f"outcome: cannot be read: {exc}"])
    stored = StoredDecision(run=0, row=row, uscc=facts.get("uscc"), name=facts.get("name"), year=None,
                            facts=facts, facts_hash=facts_hash, outcome=outcome, total=total,
                            reasons=data.get("reasons"))
    try:
        decision = evaluate(pkgs, stored.facts, version=run.get("version"), backend="interpreter")
    except FactError as exc:
        return ReplayResult(False, [f"the recorded facts cannot be read: {exc}"])
    over = recorded_over(run.get("proration") or [])
    if over:
        decision = prorate_decision(decision, over, copy=False)   # (this decision is ours alone)
    if decision.facts_hash != stored.facts_hash:
        differences.append(f"facts_hash: recorded {stored.facts_hash}, now {decision.facts_hash}")
    differences += compare(stored, decision)
    return ReplayResult(not differences, differences, decision)
