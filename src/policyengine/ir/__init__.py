"""The intermediate representation: each policy version lowered once (`lower.program`) into a `Program` that
every evaluator, report and check reads: definitions ordered and indexed, one plan per clause with its
reason plan, and one settlement plan."""

from policyengine.ir.lower import program
from policyengine.ir.program import ClausePlan, ConditionPlan, Program, SettlementPlan

__all__ = ["ClausePlan", "ConditionPlan", "Program", "SettlementPlan", "program"]
