"""What it would take (`policyengine.advise`, `policyengine advise`): the cheapest change to an applicant's
changeable facts that makes a clause eligible (z3 over the lowered program), confirmed by the reference
interpreter before it is reported."""

from __future__ import annotations

from policyengine.advice.advice import Advice, AdviceReport, AdviseError, Blocking, Change, advise

__all__ = ["Advice", "AdviceReport", "AdviseError", "Blocking", "Change", "advise"]

# the package is named `advice`, not `advise`: a subpackage `policyengine.advise` would, once imported, shadow the
# function `policyengine.advise` that the lazy exports give
