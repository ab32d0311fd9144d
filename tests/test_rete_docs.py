"""The examples in docs/backends.md run and print what the page says (where the Rete backend runs)."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from .support import ROOT

pytest.importorskip("durable_rules_engine")

BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def test_backends_page_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    blocks = BLOCK.findall((ROOT / "docs" / "backends.md").read_text(encoding="utf-8"))
    assert blocks
    namespace: dict[str, object] = {}
    for i, block in enumerate(blocks):
        expected = "".join(line[2:] + "\n" for line in block.splitlines() if line.startswith("# "))
        code = "\n".join(line for line in block.splitlines() if not line.startswith("# "))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"backends.md[block {i}]", "exec"), namespace)  # our own documentation example
        assert out.getvalue() == expected, f"backends.md, example {i + 1}"
