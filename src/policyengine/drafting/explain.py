"""`explain`: one applicant, every clause's outcome traced to its text, conditions, values and numbers.

The decision is `evaluate()`'s; the trace is re-read from the reference interpreter with the facts' Chinese
labels: for each clause its text, each condition with the values it saw (and the part that decided a false
one), the amount formula with the numbers put in, the cap, and every settlement step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from policyengine.decide.evaluate import evaluate, fact_index
from policyengine.decide.versions import VersionChoice
from policyengine.drafting.explain_zh import explain_zh_lines
from policyengine.drafting.render import STATUS_ZH, clause_heading, clause_trace, money
from policyengine.engines.interpreter import Env
from policyengine.facts.applicant import read_facts
from policyengine.model.policy import Package


def explain_lines(packages: Sequence[Package], raw: Mapping[str, object], version: VersionChoice = None,
                  where: str = "", labels: Literal["zh", "id"] = "id") -> list[str]:
    """The explanation of one applicant (`raw`: fact names or Chinese labels → cell text) under `packages`;
    `labels="zh"`: entirely in Chinese (`drafting.explain_zh`)."""
    facts = read_facts(fact_index(packages), raw)
    decision = evaluate(packages, facts, version=version)
    if labels == "zh":
        return explain_zh_lines(list(packages), facts, decision, where)
    name, uscc = facts.values.get("name"), facts.values.get("uscc")
    who = f"{name if isinstance(name, str) else '(no name)'}" + (f" ({uscc})" if isinstance(uscc, str) else "")
    out = [f"申报企业 applicant: {who}" + (f" — {where}" if where else ""),
           f"申报年度 application year: {decision.application_year if decision.application_year else 'unknown'}"]
    by_id = {p.id: p for p in packages}
    for p in decision.packages:
        out.append("")
        if p.status != "evaluated" or p.version is None:
            out.append(f"{p.package}: {p.status} — {p.reason}")
            continue
        v = by_id[p.package].version(p.version)
        out.append(f"{v.key} {v.meta.title}（文号 {v.meta.document_number}）")
        if not v.meta.verified:
            out.append("  注意 note: reconstructed text, verified: false — numbers pending the official document")
        env = Env(v, facts)
        for r in p.clauses:
            clause = v.clause(r.clause)
            out.append(f"  {clause_heading(clause, r)}")
            out.append(f"    条文 text: {clause.text}")
            if r.status in ("undetermined", "excluded") and r.reason:
                out.append(f"    {'原因 reason' if r.status == 'excluded' else '待补充 to supply'}: {r.reason}")
            out += clause_trace(v, facts, r, indent="    ", env=env)
        cap = f" (单户上限 per-applicant cap {money(v.applicant_cap)})" if v.applicant_cap is not None else ""
        out.append(f"  合计 total {v.key}: {money(p.total)} 元{cap}")
        states = {s: sum(1 for r in p.clauses if r.status == s) for s in STATUS_ZH}
        out.append("  " + ", ".join(f"{n} {s} {STATUS_ZH[s]}" for s, n in states.items() if n))
    out.append("")
    out.append(f"总计 total: {money(decision.total)} 元"
               + (" (before any fund proration of a batch)" if any(p.annual_fund for p in decision.packages) else ""))
    return out
