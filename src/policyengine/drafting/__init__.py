"""The drafter's loop: test cases, invariant checks, extra lint checks, version diffs and explanations.

Each module does one job: `analysis` (static reading of conditions), `strategies` (hypothesis strategies from
a version's facts and numbers), `check` (invariant search), `lint_rules`, `diff`, `impact`, `report_html`,
`explain`, `testrun`, `render` (shared text), `population` (reading applicant files).
"""
