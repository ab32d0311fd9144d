"""The canonical form of a policy version (what it means, as plain data) and its content hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from policyengine.lang import printer
from policyengine.model.policy import PolicyVersion


def canonical_form(v: PolicyVersion) -> dict[str, Any]:
    """What a version means, as plain data: the basis of its content hash."""
    return {
        "package": v.meta.model_dump(mode="json", by_alias=True),
        # `changeable` is advice, not meaning (no decision reads it): left out, so marking a fact keeps the hash
        "facts": [s.model_dump(mode="json", exclude={"changeable"}) for s in v.facts.values()],
        "definitions": {k: printer.to_text(e) for k, e in v.definitions.items()},
        "tables": {k: {"type": t.type, "values": {kk: str(vv) for kk, vv in t.values.items()}}
                   for k, t in v.tables.items()},
        "clauses": [{"id": c.id, "article": c.article, "title": c.title, "text": c.text,
                     "conditions": [{"test": d.text, "reason": d.reason} for d in c.conditions],
                     "amount": printer.to_text(c.amount), "cap": c.cap, "group": c.group,
                     "rounding": c.rounding.model_dump(), "notes": c.notes, "verified": c.verified}
                    for c in v.clauses],
        "settlement": {"groups": {g.id: list(g.members) for g in v.groups.values()},
                       "applicant_cap": v.applicant_cap, "annual_fund": v.annual_fund,
                       "rounding": v.rounding.model_dump()},
    }


def content_hash(v: PolicyVersion) -> str:
    text = json.dumps(canonical_form(v), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
