"""The `reasons` column: short, human-readable, each entry the interpreter's `ClauseResult.reason`.

Which clauses are listed (the rest would only repeat "not in this category"):

* `undetermined` — the facts the applicant must still supply;
* `excluded` — which award in the group stands instead;
* `ineligible` — only when the failing condition carries a drafter-written reason (`reason:` in the rule file,
  e.g. `already rewarded at 省级`) or is a condition every clause shares (general eligibility such as `E`);
* a package with no version in force for the row: the package's reason.

Clauses with the same reason are written once (`a01–a16: …`, `a05, a09: …`); entries are separated by `; `.
"""

from __future__ import annotations

from collections.abc import Sequence

from policyengine.decide.decision import ClauseResult
from policyengine.ir.lower import program
from policyengine.model.policy import PolicyVersion


def is_listed(version: PolicyVersion, result: ClauseResult) -> bool:
    """Whether the `reasons` column reports this (settled) clause result."""
    if result.status in ("undetermined", "excluded"):
        return True
    if result.status != "ineligible":
        return False
    first = next((i for i, c in enumerate(result.conditions) if c.result == "false"), None)
    return first is not None and program(version).clause(result.clause).conditions[first].listed


def _labels(positions: Sequence[int], labels: Sequence[str]) -> str:
    runs: list[list[int]] = []
    for p in positions:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{labels[run[0]]}–{labels[run[-1]]}")
        else:
            parts.extend(labels[p] for p in run)
    return ", ".join(parts)


def render(entries: Sequence[str | None], labels: Sequence[str]) -> str:
    """`entries[i]` is the listed reason of the clause (or package) labelled `labels[i]`, or None."""
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(entries):
        if text is not None:
            groups.setdefault(text, []).append(i)
    return "; ".join(f"{_labels(pos, labels)}: {text}" for text, pos in groups.items())
