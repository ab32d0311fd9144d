"""The Rete backend: each clause compiled to one durable_rules rule over the applicant fact.

Importing this package never imports durable_rules; `unavailable_reason()` says whether it can run here
(it cannot on Python 3.13 and later).
"""

from policyengine.engines.rete.backend import ReteBackend, prepare
from policyengine.engines.rete.compile import CompiledVersion, compile_version
from policyengine.engines.rete.driver import unavailable_reason
from policyengine.engines.rete.errors import ReteCompileError, ReteEngineError, ReteUnavailable, ReteUnsupportedValue

__all__ = [
    "CompiledVersion",
    "ReteBackend",
    "ReteCompileError",
    "ReteEngineError",
    "ReteUnavailable",
    "ReteUnsupportedValue",
    "compile_version",
    "prepare",
    "unavailable_reason",
]
