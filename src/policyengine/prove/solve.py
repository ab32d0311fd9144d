"""Asking the solver: satisfiable (with the smallest model it finds in time), unsatisfiable, or unknown."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import z3

from policyengine.prove.translate import FactVar, Term

TIMEOUT_S = 20.0
"""Default time the solver may spend on one question before the answer is `unknown`."""

MINIMISE_S = 3.0
"""Time spent making a found counterexample smaller (fewest non-blank facts, smallest numbers)."""


@dataclass
class Answer:
    result: Literal["sat", "unsat", "unknown"]
    model: Any
    seconds: float


def smallness(facts: Mapping[str, FactVar], year: int | None = None) -> list[tuple[Term, int]]:
    """Soft goals of a small row: each fact blank (weight 10), numbers 0, the application year `year`."""
    out: list[tuple[Term, int]] = []
    for name, fv in facts.items():
        out.append((fv.blank, 10))
        if fv.tv.kind == "num":
            if fv.spec.type == "year":
                if name == "application_year" and year is not None:
                    out.append((fv.tv.val == year, 5))
            else:
                out.append((fv.tv.val == 0, 1))
    return out


FIRST_SLICE_S = 2.0
"""The first attempt's share of the time. The solver's search depends on its random seed and on the order in
which terms were made (a long session makes them in another order): where one attempt wanders, another seed
usually answers at once. So a question is asked with seed 0 for this long, then again with seeds 1, 2, … each
given twice the time of the one before, until it is answered or the question's whole time is spent."""


def solver(seed: int = 0) -> Any:
    """A solver that first simplifies: values propagated, equations solved, if-then-else lifted into cases (the
    settlement's caps and cuts), which turns minutes of search into milliseconds on the bundled packages."""
    return z3.Then("simplify", "propagate-values", "solve-eqs", "elim-term-ite", "simplify",
                   z3.With("smt", random_seed=seed)).solver()


def _check(hard: list[Term], timeout_s: float, start: float) -> tuple[Any, Any]:
    """The solver's answer to `hard` within `timeout_s` (counted from `start`), trying seed after seed."""
    seed, slice_s = 0, min(FIRST_SLICE_S, timeout_s)
    while True:
        s = solver(seed)
        s.set("timeout", max(1, int(slice_s * 1000)))
        s.add(*hard)
        r = s.check()
        left = timeout_s - (time.perf_counter() - start)
        if r != z3.unknown or left <= 0:
            return r, s
        seed, slice_s = seed + 1, min(left, 2 * slice_s)


def solve(constraints: Iterable[Term], soft: Iterable[tuple[Term, int]] = (), timeout_s: float = TIMEOUT_S,
          minimise_s: float = MINIMISE_S) -> Answer:
    """Whether `constraints` can all hold; when they can, a model, made small by `soft` where time allows."""
    hard = list(constraints)
    start = time.perf_counter()
    r, s = _check(hard, timeout_s, start)
    if r == z3.unsat:
        return Answer("unsat", None, time.perf_counter() - start)
    if r != z3.sat:
        return Answer("unknown", None, time.perf_counter() - start)
    model = s.model()
    goals = sorted(soft, key=lambda g: -g[1])
    deadline = time.perf_counter() + minimise_s
    kept: list[Term] = []
    for weight in sorted({w for _, w in goals}, reverse=True):  # first, every goal of a weight at once
        batch = [g for g, w in goals if w == weight]
        t = solver()
        t.set("timeout", 1000)
        t.add(*hard, *kept, *batch)
        if t.check() == z3.sat:
            kept += batch
            model = t.model()
        else:
            break
    # greedy: each soft goal in turn (heaviest first) kept when the constraints still hold with it
    for goal, _ in goals:
        if time.perf_counter() > deadline:
            break
        if any(goal is k for k in kept):
            continue
        if z3.is_true(model.eval(goal, model_completion=True)):
            kept.append(goal)
            continue
        t = solver()
        t.set("timeout", 1000)
        t.add(*hard, *kept, goal)
        if t.check() == z3.sat:
            kept.append(goal)
            model = t.model()
    return Answer("sat", model, time.perf_counter() - start)
