"""Where things are written in a version's rule files (file:line), for messages about them.

`PolicyVersion` keeps the location of clauses and conditions; test cases, fact lists, the effective period
and invariants are found here by reading the version's YAML files again, in the loader's order.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from policyengine.model.loader import RULE_SUFFIXES
from policyengine.model.policy import Clause, Loc, PolicyVersion
from policyengine.model.yamlsource import KeyPath, YamlDocument, load_yaml, render_path


@lru_cache(maxsize=64)
def _documents(folder: Path) -> tuple[YamlDocument, ...]:
    files = sorted(p for p in folder.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())
    return tuple(doc for doc in (load_yaml(f) for f in files) if isinstance(doc.data, dict))


def documents(version: PolicyVersion) -> tuple[YamlDocument, ...]:
    """The version's rule files, parsed, in the order the loader merges them."""
    return _documents(version.source)


def list_items(version: PolicyVersion, section: str) -> list[Loc]:
    """The location of each item of a list section (`tests`, `invariants`, `clauses`), in merged order."""
    out: list[Loc] = []
    for doc in documents(version):
        items = doc.data.get(section) or []
        for i in range(len(items) if isinstance(items, list) else 0):
            path: KeyPath = (section, i)
            out.append(Loc(str(doc.file), doc.line_of(path), render_path(path)))
    return out


def key(version: PolicyVersion, *path: str | int) -> Loc:
    """The location of a key (`package`, `effective`), or of the version folder when no file has it."""
    for doc in documents(version):
        if isinstance(doc.data, dict) and path and path[0] in doc.data:
            return Loc(str(doc.file), doc.line_of(path), render_path(path))
    return Loc(str(version.source), None, render_path(path))


def fact_entry(version: PolicyVersion, name: str) -> Loc:
    """Where the version declares fact `name` (its entry in `facts:`)."""
    for doc in documents(version):
        facts = doc.data.get("facts")
        if not isinstance(facts, list):
            continue
        for i, item in enumerate(facts):
            if item == name or (isinstance(item, dict) and item.get("name") == name):
                return Loc(str(doc.file), doc.line_of(("facts", i)), f"facts[{i}]")
    return key(version, "facts")


def test_case(version: PolicyVersion, index: int) -> Loc:
    """Where test case number `index` (in `version.tests` order) is written."""
    found = list_items(version, "tests")
    return found[index] if index < len(found) else key(version, "tests")


def clause_key(version: PolicyVersion, clause: Clause, *more: str | int) -> Loc:
    """The location of a key of `clause` (`amount`, `cap`), or of the clause when it cannot be found."""
    m = re.fullmatch(r"clauses\[(\d+)\]", clause.loc.path)
    for doc in documents(version):
        if m and str(doc.file) == clause.loc.file:
            path: KeyPath = ("clauses", int(m.group(1)), *more)
            return Loc(str(doc.file), doc.line_of(path), render_path(path))
    return clause.loc
