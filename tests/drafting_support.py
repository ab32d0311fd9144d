"""Builders for the drafting tests: copies of a bundled version with one planted edit, and a CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from policyengine.cli import main

from .support import FIXTURES, ROOT

Edit = Callable[[dict[str, Any]], None]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def clause(data: dict[str, Any], cid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["clauses"] if c["id"] == cid)
    return found


def copy_version(tmp: Path, package: str = "huangzuan16", version: str = "3.0", edit: Edit | None = None,
                 invariants: Path | None = FIXTURES / "hz30_invariants.yaml", keep_tests: bool = False) -> Path:
    """A copy of a bundled version folder in `tmp/<package>/<version>`, with `edit` applied to its rule data.

    The bundled test cases and invariants are left out (they are another drafter's and change), unless
    `keep_tests`; `invariants` is copied in instead. Returns the version folder.
    """
    src = ROOT / "rules" / package / version
    dst = tmp / package / version
    dst.mkdir(parents=True)
    for f in sorted(src.glob("*.yaml")):
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        if not keep_tests:
            data.pop("tests", None)
            data.pop("invariants", None)
        if not data:
            continue
        if "facts_catalog" in data:
            data["facts_catalog"] = str((src / data["facts_catalog"]).resolve())
        if "clauses" in data and edit is not None:
            edit(data)
        (dst / f.name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if invariants is not None:
        shutil.copy(invariants, dst / "zz_invariants.yaml")
    return dst
