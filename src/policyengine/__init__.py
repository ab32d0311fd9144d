"""policyengine: subsidy policies as declarative rule files, evaluated into audited payout decisions.

    from policyengine import load_package, evaluate
    pkg = load_package("huangzuan16")          # a bundled package by name, or a package folder
    decision = evaluate(pkg, {"统一社会信用代码": "...", "申报年度": "2021", "上年度研发费用": "120万"})
    decision.package("huangzuan16").clause("a05").amount
    result = score("applicants.csv")          # a population (path, DataFrame or fact mappings), as the CLI
    result.decisions, result.rejects, result.summary; result.write("scores.xlsx")
    advise(pkg, facts).nearest()              # what it would take: the cheapest change that makes a clause pay

The whole public surface is below. Names are imported on first use, so that `import policyengine` (and the
command line's `--help`) stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Advice": "policyengine.advice.advice",
    "AdviceReport": "policyengine.advice.advice",
    "Clause": "policyengine.model.policy",
    "ClauseResult": "policyengine.decide.decision",
    "ConditionTrace": "policyengine.decide.decision",
    "Decision": "policyengine.decide.decision",
    "FactError": "policyengine.errors",
    "FactErrors": "policyengine.errors",
    "InternalConsistencyError": "policyengine.errors",
    "Package": "policyengine.model.policy",
    "PackageResult": "policyengine.decide.decision",
    "PolicyEngineError": "policyengine.errors",
    "PolicyVersion": "policyengine.model.policy",
    "ReplayResult": "policyengine.decide.evaluate",
    "RuleError": "policyengine.errors",
    "RuleErrors": "policyengine.errors",
    "ScoreResult": "policyengine.batch.api",
    "SettlementStep": "policyengine.decide.decision",
    "Status": "policyengine.decide.decision",
    "advise": "policyengine.advice.advice",
    "bundled_packages": "policyengine.model.bundled",
    "evaluate": "policyengine.decide.evaluate",
    "load_package": "policyengine.model.loader",
    "prorate": "policyengine.decide.settlement",
    "replay": "policyengine.decide.evaluate",
    "score": "policyengine.batch.api",
}

__all__ = [
    "Advice",
    "AdviceReport",
    "Clause",
    "ClauseResult",
    "ConditionTrace",
    "Decision",
    "FactError",
    "FactErrors",
    "InternalConsistencyError",
    "Package",
    "PackageResult",
    "PolicyEngineError",
    "PolicyVersion",
    "ReplayResult",
    "RuleError",
    "RuleErrors",
    "ScoreResult",
    "SettlementStep",
    "Status",
    "advise",
    "bundled_packages",
    "evaluate",
    "load_package",
    "prorate",
    "replay",
    "score",
]

if TYPE_CHECKING:
    from policyengine.advice.advice import Advice, AdviceReport, advise
    from policyengine.batch.api import ScoreResult, score
    from policyengine.decide.decision import (
        ClauseResult,
        ConditionTrace,
        Decision,
        PackageResult,
        SettlementStep,
        Status,
    )
    from policyengine.decide.evaluate import ReplayResult, evaluate, replay
    from policyengine.decide.settlement import prorate
    from policyengine.errors import (
        FactError,
        FactErrors,
        InternalConsistencyError,
        PolicyEngineError,
        RuleError,
        RuleErrors,
    )
    from policyengine.model.bundled import bundled_packages
    from policyengine.model.loader import load_package
    from policyengine.model.policy import Clause, Package, PolicyVersion


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'policyengine' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
