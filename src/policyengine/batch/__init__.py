"""Batch scoring: whole applicant spreadsheets, decided by a columnar backend (polars) that agrees with the
reference interpreter clause by clause, settled, prorated over each fund, written atomically.

    from policyengine.batch import Job, run
    scored, summary = run(Job(Path("applicants.csv"), Path("scores.csv"), load_bundled()))
"""

from policyengine.batch.read import InputError, Reject, read_table
from policyengine.batch.run import Job, default_rejects_path, run
from policyengine.batch.score import Scored, score_table

__all__ = ["InputError", "Job", "Reject", "Scored", "default_rejects_path", "read_table", "run", "score_table"]
