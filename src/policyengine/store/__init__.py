"""The decision store: every decision of every run in a database (SQLite or PostgreSQL), replayable later.

    import policyengine.store
    store = policyengine.store.open("audit.db")          # or "postgresql://user@host/db"
    run = store.record_run(scored)                        # a scored batch (batch.score_table)
    store.runs(); store.decisions(run=run, uscc="9121..."); store.verify(run)

See docs/audit.md.
"""

from __future__ import annotations

from policyengine.store.db import Run, Store, StoredDecision, open
from policyengine.store.verify import Report

__all__ = ["Report", "Run", "Store", "StoredDecision", "open"]
