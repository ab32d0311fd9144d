"""A package's clauses as a Markdown page, generated from its rule files (never written twice by hand).

Per version: metadata and provenance, a table (article, id, title, who qualifies, amount, cap, group,
verified), the clause texts with the drafters' notes, then settlement. Conditions and amounts are shown with
the facts' Chinese labels instead of their names. `policyengine doc PACKAGE_DIR` prints the page.
"""

from __future__ import annotations

from fractions import Fraction

from policyengine.facts.money import format_decimal
from policyengine.lang import ast as A
from policyengine.lang import printer
from policyengine.lang.fold import fold
from policyengine.model.policy import Clause, Package, PolicyVersion

_OPS = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥", "<": "<", ">": ">", "*": "×", "/": "÷", "+": "+", "-": "−"}
_WORDS = {"and": "且", "or": "或"}

_OR, _NOT, _ADD, _NEG = printer.PREC_OR, printer.PREC_NOT, printer.PREC_ADD, printer.PREC_NEG


class _Readable(printer.SourcePrinter):
    """Renders expressions of one version for people: Chinese labels, ×, ≥, 且/或, 若…则…否则…."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version

    def __call__(self, e: A.Expr) -> str:
        return fold(e, self)

    def op(self, op: str) -> str:
        return _OPS.get(op) or _WORDS[op]

    def str_(self, e: A.Str) -> str:
        return e.value

    def bool_(self, e: A.Bool) -> str:
        return "是" if e.value else "否"

    def name(self, e: A.Name) -> str:
        spec = self.version.facts.get(e.id)
        return spec.label if spec is not None else e.id

    def neg(self, e: A.Neg) -> str:
        return "−" + self.wrap(e.operand, _NEG)

    def not_(self, e: A.Not) -> str:
        return "非 " + self.wrap(e.operand, _NOT + 1)

    def in_(self, e: A.In) -> str:
        options = "、".join(fold(o, self) for o in e.options)
        return f"{self.wrap(e.item, _ADD)} {'∉' if e.negated else '∈'} {{{options}}}"

    def ifelse(self, e: A.IfElse) -> str:
        return f"若 {fold(e.cond, self)} 则 {self.wrap(e.then, _OR)} 否则 {self.wrap(e.else_, _OR)}"


def _yuan(amount: int | Fraction | None) -> str:
    """`500,000 (50万元)`; `—` for none."""
    if amount is None:
        return "—"
    value = Fraction(amount)
    whole = f"{int(value):,}" if value.denominator == 1 else format_decimal(value)
    if value >= 10_000:
        return f"{whole} ({format_decimal(value / 10_000)}万元)"
    return whole


def _table_value(kind: str, value: Fraction) -> str:
    return printer.literal_text(A.Money(value)) if kind == "money" and value else format_decimal(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _years(version: PolicyVersion) -> str:
    eff = version.meta.effective
    if eff.to_year is None:
        return f"{eff.from_year} and later"
    return f"{eff.from_year}–{eff.to_year}" if eff.to_year != eff.from_year else str(eff.from_year)


def _unverified(version: PolicyVersion) -> list[Clause]:
    return [c for c in version.clauses if not c.verified]


def _banner(package: Package) -> list[str]:
    folder = f"rules/{package.source.name}"
    unverified = [(v, _unverified(v)) for v in package.versions]
    if all(v.meta.verified and not cs for v, cs in unverified):
        return ["> Every clause of every version is marked `verified: true` (checked against the official text).", ""]
    counts = "; ".join(f"version {v.version}: {len(cs)} of {len(v.clauses)} clauses" for v, cs in unverified)
    return [
        "> **The numbers on this page are reconstructed, not verified.** Clauses marked `verified: false` were "
        "encoded from a reconstruction of the policy (see *Provenance* under each version), not checked against "
        f"the official document ({counts} unverified). Do not quote an amount here as the official figure.",
        ">",
        "> **How a bureau corrects a number:**",
        f"> 1. Edit the clause in `{folder}/<version>/policy.yaml`: its `conditions`, `amount` or `cap`, and its "
        "Chinese `text`, so that they say what the official document says.",
        "> 2. Once the clause has been checked against the official text, set `verified: true` on it "
        "(and on `package:` when every clause of the version is checked).",
        f"> 3. Run `policyengine lint {folder}` and `policyengine test {folder}`; update the test cases "
        "(`tests.yaml`) and invariants (`invariants.yaml`) whose numbers changed, computing them by hand.",
        f"> 4. Regenerate this page: `policyengine doc {folder} -o docs/rules/{package.source.name}.md`.",
        "",
    ]


def _metadata(version: PolicyVersion) -> list[str]:
    meta = version.meta
    rows = [
        ("Title", meta.title), ("Issuer", meta.issuer), ("Document number", meta.document_number),
        ("Version", meta.version), ("Application years", _years(version)),
        ("Verified", "yes" if meta.verified else "**no** (reconstruction)"),
        ("Unverified clauses", ", ".join(c.id for c in _unverified(version)) or "none"),
        ("Content hash", f"`{version.content_hash}`"),
    ]
    lines = ["| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in rows), ""]
    if meta.provenance:
        lines += [f"**Provenance.** {meta.provenance.strip()}", ""]
    if meta.notes:
        lines += [f"**Notes.** {meta.notes.strip()}", ""]
    return lines


def _definitions(version: PolicyVersion, show: _Readable) -> list[str]:
    if not version.definitions and not version.tables:
        return []
    lines = ["**Terms used below.**", ""]
    for name, expr in version.definitions.items():
        lines.append(f"- `{name}` = {show(expr)}")
    for name, table in version.tables.items():
        entries = " · ".join(f"{key} {_table_value(table.type, v)}" for key, v in table.values.items())
        lines.append(f"- `{name}[…]`: {entries}")
    return [*lines, ""]


def _unchangeable(version: PolicyVersion) -> list[str]:
    fixed = [version.facts[n].label for n in version.unchangeable]
    if not fixed:
        return []
    return [f"**Facts an enterprise cannot change** (`changeable: false`; `policyengine advise` never moves them): "
            f"{'、'.join(fixed)}.", ""]


def _clause_table(version: PolicyVersion, show: _Readable) -> list[str]:
    lines = ["| 条 | id | 标题 | 申报条件 (who qualifies) | 金额 (amount, yuan) | 上限 (cap) | 组 | verified |",
             "|---|---|---|---|---|---|---|---|"]
    for c in version.clauses:
        who = "<br>".join(_cell(show(cond.expr)) for cond in c.conditions) or "—"
        lines.append(f"| {c.article} | {c.id} | {_cell(c.title)} | {who} | {_cell(show(c.amount))} | "
                     f"{_yuan(c.cap)} | {c.group or '—'} | {'yes' if c.verified else 'no'} |")
    return [*lines, ""]


def _clause_texts(version: PolicyVersion) -> list[str]:
    lines = ["**Clause texts and drafters' readings.**", ""]
    for c in version.clauses:
        lines.append(f"- **第{c.article}条 {c.title}** (`{c.id}`): {c.text.strip()}")
        if c.notes:
            lines.append(f"  *Reading:* {' '.join(c.notes.split())}")
    return [*lines, ""]


def _settlement(version: PolicyVersion) -> list[str]:
    rounding = version.rounding
    cap, fund = version.applicant_cap, version.annual_fund
    lines = [
        "**Settlement** (in this order: clause amount, rounded → clause cap → exclusive group → "
        "per-applicant cap → annual fund).",
        "",
        f"- Rounding: {rounding.mode.replace('_', ' ')} to the {rounding.unit}, once per clause amount, "
        "before any cap.",
        "- Per-applicant cap: none." if cap is None else
        f"- Per-applicant cap: {_yuan(cap)} — over it, awards are reduced from the highest article number down "
        "until the total equals the cap.",
        "- Annual fund: none." if fund is None else
        f"- Annual fund: {_yuan(fund)} per application year — in a batch, an over-subscribed year scales every "
        "award by fund/demand, rounded down to the yuan.",
    ]
    for g in version.groups.values():
        label = f" {g.label}" if g.label else ""
        lines.append(f"- Group {g.id}{label}: {', '.join(g.members)} — only the highest award stands; a tie "
                     "goes to the lower article number; the others are reported `excluded`.")
    if not version.groups:
        lines.append("- Exclusive groups: none.")
    return [*lines, ""]


def version_markdown(version: PolicyVersion) -> str:
    """One version's section of the page."""
    show = _Readable(version)
    lines = [f"## Version {version.version} — application years {_years(version)}", "",
             *_metadata(version), *_definitions(version, show), *_unchangeable(version), *_clause_table(version, show),
             *_clause_texts(version), *_settlement(version)]
    return "\n".join(lines)


def clause_table_markdown(package: Package) -> str:
    """The whole page for `package`: a banner on verification, then each version, the newest first."""
    folder = f"rules/{package.source.name}"
    lines = [
        f"# Rule package `{package.id}`",
        "",
        f"<!-- Generated from {folder}/*/*.yaml by `policyengine doc {folder}`. Do not edit by hand. -->",
        f"*Generated from the rule files in `{folder}` by `policyengine doc`; do not edit this page by hand.* "
        f"Versions: {package.describe_versions()}.",
        "",
        *_banner(package),
    ]
    sections = [version_markdown(v) for v in reversed(package.versions)]
    return "\n".join(lines) + "\n" + "\n".join(sections).rstrip("\n") + "\n"
