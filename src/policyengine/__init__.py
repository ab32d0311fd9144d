"""policyengine: subsidy policies as declarative rule files, evaluated into audited payout decisions.

    from policyengine import load_package, evaluate
    pkg = load_package("rules/huangzuan16")
    decision = evaluate(pkg, {"统一社会信用代码": "...", "申报年度": "2021", "上年度研发费用": "120万"})
    decision.package("huangzuan16").clause("a05").amount

The whole public surface is below.
"""

from policyengine.decide.decision import ClauseResult, ConditionTrace, Decision, PackageResult, SettlementStep, Status
from policyengine.decide.evaluate import ReplayResult, evaluate, replay
from policyengine.decide.settlement import prorate
from policyengine.errors import FactError, InternalConsistencyError, PolicyEngineError, RuleError, RuleErrors
from policyengine.model.loader import load_package
from policyengine.model.policy import Clause, Package, PolicyVersion

__version__ = "0.1.0"

__all__ = [
    "Clause",
    "ClauseResult",
    "ConditionTrace",
    "Decision",
    "FactError",
    "InternalConsistencyError",
    "Package",
    "PackageResult",
    "PolicyEngineError",
    "PolicyVersion",
    "ReplayResult",
    "RuleError",
    "RuleErrors",
    "SettlementStep",
    "Status",
    "evaluate",
    "load_package",
    "prorate",
    "replay",
]
