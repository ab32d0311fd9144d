"""The benchmark's yardstick (benchmarks/handwritten_evaluate.py) decides what `evaluate()` decides: same
versions, clause statuses and amounts after settlement, and totals, with both bundled packages."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

from policyengine import Package
from policyengine.model.bundled import load_bundled

from .support import ROOT


def _benchmark(name: str) -> ModuleType:
    folder = str(ROOT / "benchmarks")
    if folder not in sys.path:
        sys.path.append(folder)
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def packages() -> list[Package]:
    return load_bundled()


def test_hand_written_agrees_with_evaluate(packages: list[Package]) -> None:
    bench, hand = _benchmark("bench_evaluate"), _benchmark("handwritten_evaluate")
    examples = bench.example_rows(packages)
    assert len(examples) > 40
    rows = [*examples, *bench.synthetic_rows(packages, 300, 2021), *hand.maxed_rows()]
    assert hand.check(packages, rows) == []


def test_the_check_sees_a_difference(packages: list[Package], monkeypatch: pytest.MonkeyPatch) -> None:
    hand = _benchmark("handwritten_evaluate")
    row = hand.maxed_rows()[0]  # application year 2019: 皇钻十六条 2.0, whose per-applicant cap binds
    assert hand.check(packages, [row]) == []
    monkeypatch.setattr(hand._HZ20, "APPLICANT_CAP", 3_000_001)
    problems = hand.check(packages, [row])
    assert problems and all("huangzuan16@2.0" in p or "grand total" in p for p in problems)
    assert any("a15: library (eligible, 50000), hand-written (eligible, 50001)" in p for p in problems)
