"""Where durable_rules does not import (Python 3.13 and later), policyengine works with the interpreter and
says plainly that the Rete backend is unavailable. Simulated in a child process by blocking the import."""

from __future__ import annotations

import json
import subprocess
import sys

from .support import ROOT

_SCRIPT = r"""
import json, sys
sys.modules["durable_rules_engine"] = None        # `import durable_rules_engine` now raises ImportError
from policyengine import PolicyEngineError, evaluate, load_package
from policyengine.engines.base import available_backends, default_backend, get_backend

out = {"available": available_backends(), "default": default_backend().name}
try:
    get_backend("rete")
except PolicyEngineError as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
mini = load_package("tests/fixtures/mini")
facts = {"uscc": "91350100M000100Y43", "application_year": "2021", "district": "皇姑区", "honest": "是",
         "level": "市级", "level_year": "2020", "spend": "100万", "spend_prev": "80万", "share": "50%"}
d = evaluate(mini, facts)
out["backend"] = d.audit.backend
out["total"] = d.total
print(json.dumps(out, ensure_ascii=False))
"""


def test_without_durable_rules_the_interpreter_decides() -> None:
    child = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    out = json.loads(child.stdout)
    assert out["available"] == ["interpreter"] and out["default"] == "interpreter"
    assert out["error"].startswith("ReteUnavailable: the Rete backend is unavailable on Python ")
    assert "durable_rules_engine does not import" in out["error"] and "backend='interpreter'" in out["error"]
    assert out["backend"] == "interpreter" and out["total"] > 0
