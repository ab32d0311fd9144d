"""Paths and small builders shared by the tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
VALID_USCC = "91350100M000100Y43"


def mini_facts(**overrides: object) -> dict[str, object]:
    """An applicant of the mini package who qualifies for c01 (市级) and c03; `...` removes a fact."""
    facts: dict[str, object] = {
        "uscc": VALID_USCC, "application_year": "2021", "district": "皇姑区", "honest": "是",
        "level": "市级", "level_year": "2020", "spend": "100万", "spend_prev": "80万", "share": "50%",
    }
    facts.update(overrides)
    return {k: v for k, v in facts.items() if v is not ...}
