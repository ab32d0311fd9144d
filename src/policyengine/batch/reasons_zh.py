"""The `说明` column (the `reasons` column with `--labels zh`): every listed reason and every cut as a Chinese
sentence, clauses sharing one sentence grouped (`第1–16条：注册地所在区为和平区，不在皇姑区`).

Which clauses are listed is as in `batch.reasons` (id mode); in addition every eligible clause whose amount
settlement cut says why: `本条上限…，核减…元`, `单户年度奖励上限500万元，核减…元`, `年度资金2000万元不足，按比例兑付
…%`. The excluded member of a group reads `与第3条就高不重复`.

Each condition sentence is rendered once per distinct id-mode reason of a clause (that text already carries the
deciding part and the values it shows): one row holding it is re-read through the reference interpreter
(`decide.sentences`), exactly, and the sentence is mapped back onto every row with that reason. Cuts are
computed on columns: the amount before settlement (`c:`), the amount after clause cap, groups and the
per-applicant cap (recomputed with `batch.settle.settle_applicants`) and the paid amount.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from policyengine.batch.parse import value_col
from policyengine.batch.read import ROW
from policyengine.batch.score import Scored, c_col, clause_ids, row_facts
from policyengine.batch.settle import YEAR, a_col, r_col, s_col, settle_applicants, ver_col, why_col
from policyengine.decide.evaluate import fact_index
from policyengine.decide.sentences import applicant_cap_cut, clause_cap_cut, clause_sentence, excluded_by
from policyengine.decide.sentences import prorated as prorated_sentence
from policyengine.engines.columnar import ELIGIBLE, EXCLUDED
from policyengine.engines.interpreter import Env
from policyengine.facts.applicant import read_facts
from policyengine.model.policy import Package, PolicyVersion

_EXCLUDED = re.compile(r"^excluded by (\S+) \(")
SEP = "；"


def _articles(version_clauses: dict[str, int], ids: Sequence[str]) -> str:
    arts = sorted(version_clauses[i] for i in ids)
    runs: list[list[int]] = []
    for a in arts:
        if runs and a == runs[-1][-1] + 1:
            runs[-1].append(a)
        else:
            runs.append([a])
    parts = [f"{r[0]}–{r[-1]}" if len(r) >= 3 else "、".join(str(x) for x in r) for r in runs]
    return "第" + "、".join(parts) + "条"


def _articles_of(package: Package) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in package.versions:
        for c in v.clauses:
            out.setdefault(c.id, c.article)
    return out


def _condition_texts(scored: Scored, package: Package) -> dict[str, pl.Series]:
    """Per clause: the Chinese sentence of its listed reason on each row (null where none is listed)."""
    wide = scored.accepted
    index = fact_index(scored.packages)
    out: dict[str, pl.Series] = {}
    envs: dict[tuple[str, int], Env] = {}
    for cid in clause_ids(package):
        col = r_col(package.id, cid)
        texts = wide.get_column(col).cast(pl.String)
        firsts = wide.select(ROW, ver_col(package.id), texts.alias("t")).filter(pl.col("t").is_not_null()) \
            .unique(subset=[ver_col(package.id), "t"], keep="first", maintain_order=True)
        keys: list[str] = []
        values: list[str] = []
        mapping: dict[tuple[str, str], str] = {}
        for row, ver, text in firsts.iter_rows():
            version = package.version(ver)
            hit = _EXCLUDED.match(text)
            if hit is not None and hit.group(1) in {c.id for c in version.clauses}:
                sentence = excluded_by(version.clause(hit.group(1)).article)
            else:
                env = envs.get((ver, row))
                if env is None:
                    raw = dict(row_facts(wide.filter(pl.col(ROW) == row), scored.header_map)[0][1])
                    env = envs[(ver, row)] = Env(version, read_facts(index, raw))
                sentence = clause_sentence(env.program.clause(cid), env) or text
            mapping[(ver, text)] = sentence
        if not mapping:
            out[cid] = pl.repeat(None, wide.height, dtype=pl.String, eager=True)
            continue
        joined = pl.concat_str([pl.col(ver_col(package.id)), texts.alias("t")], separator="\x1f")
        for (ver, text), sentence in mapping.items():
            keys.append(f"{ver}\x1f{text}")
            values.append(sentence)
        out[cid] = wide.with_columns(texts.alias("t")).select(
            joined.replace_strict(keys, values, default=None, return_dtype=pl.String)).to_series()
    return out


def _cut_texts(scored: Scored, package: Package) -> dict[str, pl.Series]:
    """Per clause: the cuts settlement made to an eligible clause's amount, in Chinese (null: no cut)."""
    wide = scored.accepted
    pid = package.id
    ids = clause_ids(package)
    out = {cid: pl.repeat(None, wide.height, dtype=pl.String, eager=True) for cid in ids}
    ver = wide.get_column(ver_col(pid))
    for version in package.versions:
        where = (ver == version.version).fill_null(False).arg_true()
        if not where.len():
            continue
        sub = wide[where]
        before = _before_proration(sub, version)
        prorated = {b.application_year: b for b in scored.budgets
                    if b.package == pid and b.version == version.version and b.prorated}
        year = sub.get_column(YEAR)
        for clause in version.clauses:
            cid = clause.id
            c = pl.col(c_col(pid, cid))
            eligible = pl.col(s_col(pid, cid)) == ELIGIBLE
            parts: list[pl.Expr] = []
            capped = c
            if clause.cap is not None:
                parts.append(pl.when(eligible & (c > clause.cap)).then(
                    _around(clause_cap_cut(clause.cap, _CUT), (c - clause.cap).cast(pl.String))))
                capped = pl.min_horizontal(c, pl.lit(clause.cap))
            y = pl.col("__y")
            if version.applicant_cap is not None:
                parts.append(pl.when(eligible & (y < capped)).then(
                    _around(applicant_cap_cut(version.applicant_cap, _CUT), (capped - y).cast(pl.String))))
            for yr, b in prorated.items():
                assert b.fund is not None
                parts.append(pl.when(eligible & (y != 0) & (pl.col(YEAR) == yr)).then(
                    pl.lit(prorated_sentence(b.fund, b.factor))))
            if not parts:
                continue
            frame = sub.select(c_col(pid, cid), s_col(pid, cid), YEAR).with_columns(
                before.get_column(a_col(pid, cid)).alias("__y"), year.alias(YEAR))
            text = frame.select(pl.concat_str(parts, separator=SEP, ignore_nulls=True)
                                .replace("", None).alias("t")).to_series()
            col = out[cid]
            col.scatter(where, text)
    return out


_CUT = "\x00"
"""Where the cut goes in a cut sentence rendered once per clause (the cut itself is a column)."""


def _around(sentence: str, cut: pl.Expr) -> pl.Expr:
    """`sentence` (rendered with `_CUT` for the cut) with each row's cut put in."""
    before, after = sentence.split(_CUT)
    return pl.concat_str([pl.lit(before), cut, pl.lit(after)])


def _before_proration(sub: pl.DataFrame, version: PolicyVersion) -> pl.DataFrame:
    """The amounts after clause caps, groups and the per-applicant cap (before fund proration), recomputed
    from each clause's amount before settlement."""
    pid = version.package_id
    cols = []
    for c in version.clauses:
        computed = pl.col(c_col(pid, c.id))
        status = pl.when(computed.is_not_null()).then(pl.lit(ELIGIBLE, dtype=pl.UInt8)) \
            .otherwise(pl.col(s_col(pid, c.id)).replace(EXCLUDED, None))
        cols += [status.alias(s_col(pid, c.id)), computed.fill_null(0).cast(pl.Int64).alias(a_col(pid, c.id)),
                 pl.lit(None, dtype=pl.Categorical).alias(r_col(pid, c.id))]
    return settle_applicants(sub.select(cols), version)


def zh_reasons(scored: Scored) -> pl.Series:
    """The `说明` column: one Chinese text per output row."""
    wide = scored.accepted
    several = len(scored.packages) > 1
    entries: list[pl.Series] = []
    labels: list[str] = []
    for p in scored.packages:
        title = short_title(p)
        prefix = f"{title}" if several else ""
        year = wide.get_column(value_col("application_year")).cast(pl.String)
        why = wide.get_column(why_col(p.id))
        entries.append(_no_version(why, year))
        labels.append(f"{title}")
        arts = _articles_of(p)
        conds = _condition_texts(scored, p)
        cuts = _cut_texts(scored, p)
        for cid in clause_ids(p):
            entries.append(conds[cid].fill_null(cuts[cid]))
            labels.append(f"{prefix}\x1e{cid}\x1e{arts[cid]}")
    frame = pl.DataFrame(entries, schema=[f"e{i}" for i in range(len(entries))], orient="col")
    if not frame.width or not frame.height:
        return pl.Series("说明", [""] * wide.height, dtype=pl.String)
    sep, null = "\x1f", "\x00"
    key = frame.select(pl.concat_str([pl.col(c).fill_null(null) for c in frame.columns], separator=sep)).to_series()
    uniques = key.unique().to_list()
    rendered = [_render([None if x == null else x for x in k.split(sep)], labels, arts_by_label(labels))
                for k in uniques]
    texts: pl.Series = key.replace_strict(uniques, rendered, return_dtype=pl.String)
    return texts.alias("说明")


def short_title(package: Package) -> str:
    """How the `说明` column names a package: the short name in the title's last brackets (`皇钻十六条`), or
    the title."""
    title = package.versions[-1].meta.title if package.versions else package.id
    found = re.findall(r"（([^（）]+)）", title)
    return found[-1] if found else title


def _no_version(why: pl.Series, year: pl.Series) -> pl.Series:
    return pl.DataFrame({"w": why, "y": year}).select(
        pl.when(pl.col("w").is_not_null()).then(
            pl.concat_str([pl.lit("申报年度"), pl.col("y").fill_null("未填写"),
                           pl.lit("不在本政策任何版本的适用期内")]))
    ).to_series()


def arts_by_label(labels: Sequence[str]) -> dict[str, tuple[str, int]]:
    out = {}
    for lab in labels:
        if "\x1e" in lab:
            prefix, _cid, art = lab.split("\x1e")
            out[lab] = (prefix, int(art))
    return out


def _render(entries: Sequence[str | None], labels: Sequence[str], arts: dict[str, tuple[str, int]]) -> str:
    groups: dict[str, list[str]] = {}
    for text, label in zip(entries, labels, strict=True):
        if text is not None:
            groups.setdefault(text, []).append(label)
    parts = []
    for text, labs in groups.items():
        named: list[str] = []
        by_prefix: dict[str, list[int]] = {}
        for lab in labs:
            if lab in arts:
                prefix, art = arts[lab]
                by_prefix.setdefault(prefix, []).append(art)
            else:
                named.append(lab)
        for prefix, articles in by_prefix.items():
            named.append(prefix + _articles({str(a): a for a in articles}, [str(a) for a in articles]))
        parts.append(f"{'、'.join(named)}：{text}")
    return SEP.join(parts)
