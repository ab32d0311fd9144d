"""policyengine: subsidy policies as declarative rule files, evaluated into audited payout decisions.

    from policyengine import load_package, evaluate
    pkg = load_package("rules/huangzuan16")
    decision = evaluate(pkg, {"统一社会信用代码": "...", "申报年度": "2021", "上年度研发费用": "120万"})
    decision.package("huangzuan16").clause("a05").amount

The whole public surface is below.
"""

from .decision import ClauseResult, ConditionTrace, Decision, PackageResult, SettlementStep, Status
from .errors import FactError, InternalConsistencyError, PolicyEngineError, RuleError, RuleErrors
from .evaluate import ReplayResult, evaluate, replay
from .loader import load_package
from .policy import Clause, Package, PolicyVersion
from .settlement import prorate

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
