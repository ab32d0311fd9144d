"""What it would take: the cheapest change to an applicant's changeable facts that makes a clause eligible
(z3's Optimize over the lowered program), confirmed by the reference interpreter before it is reported."""

from __future__ import annotations

from policyengine.advise.advice import Advice, AdviceReport, AdviseError, Blocking, Change, advise

__all__ = ["Advice", "AdviceReport", "AdviseError", "Blocking", "Change", "advise"]
