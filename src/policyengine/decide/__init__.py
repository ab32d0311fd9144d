"""From clause outcomes to a decision: settlement (clause cap → group → per-applicant cap → proration),
the `Decision` model, `evaluate()` and `replay()`."""
