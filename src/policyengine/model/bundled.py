"""Finding the rule packages that ship with policyengine."""

from __future__ import annotations

import os
from pathlib import Path

from policyengine.model.loader import load_package
from policyengine.model.policy import Package


def bundled_rules_dir() -> Path:
    """`$POLICYENGINE_RULES`, else the `rules/` folder of a source checkout, else the copy inside the wheel."""
    env = os.environ.get("POLICYENGINE_RULES")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent.parent / "rules", here.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no bundled rules folder found; set POLICYENGINE_RULES")


def bundled_package_dirs() -> list[Path]:
    root = bundled_rules_dir()
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def load_bundled() -> list[Package]:
    """Every bundled package, in name order."""
    return [load_package(p) for p in bundled_package_dirs()]


def bundled_packages() -> list[Package]:
    """Every rule package that ships with policyengine (皇钻十六条 `huangzuan16`, `municipal`), loaded, in name
    order; works from any working directory. Each call loads them afresh from their files: keep the list.
    `$POLICYENGINE_RULES` names another rules folder to use instead."""
    return load_bundled()
