"""The evaluators, each a fold over the lowered program (`policyengine.ir`): the reference interpreter (one
applicant, with the trace; defines the meaning), the Rete backend (one applicant on durable_rules) and the
columnar backend (a population as polars expressions). `base` is the small interface they share."""
