"""The engine conditions the compiler emits mean what they say: linear comparisons over fields (one field,
a pivot with a unit coefficient, no unit coefficient at all, negative coefficients, missing fields) give
exactly Python's answer in durable_rules."""

from __future__ import annotations

import json
import random
from fractions import Fraction

import pytest

pytest.importorskip("durable_rules_engine")

from policyengine.engines.rete import conditions as ir
from policyengine.engines.rete import driver
from policyengine.engines.rete.fields import FACT_ID, SID, TAG_FIELD, TAG_VALUE

OPS = {"==": lambda x: x == 0, "!=": lambda x: x != 0, "<": lambda x: x < 0, "<=": lambda x: x <= 0,
       ">": lambda x: x > 0, ">=": lambda x: x >= 0}


def test_linear_comparisons_match_python() -> None:
    rng = random.Random(7)
    forms: list[tuple[str, dict[str, Fraction], Fraction]] = []
    rules: dict[str, list[ir.Path]] = {}
    for i in range(240):
        fields = rng.sample(["a", "b", "c"], rng.randint(1, 3))
        coefs = {f: Fraction(rng.choice([-3, -2, -1, 1, 2, 3, 5]), rng.choice([1, 1, 2, 3])) for f in fields}
        const = Fraction(rng.randint(-20, 20), rng.choice([1, 2, 3]))
        op = rng.choice(list(OPS))
        forms.append((op, coefs, const))
        rules[f"r{i}"] = ir.dnf(ir.num_cmp(op, coefs, const, {"a": 100, "b": 100, "c": 100}), {}, 10)
    engines = []
    names = list(rules)
    for start in range(0, len(names), 30):
        chunk = {n: rules[n] for n in names[start:start + 30]}
        definition, stack = ir.emit_rules(chunk, (TAG_FIELD, TAG_VALUE), (TAG_FIELD, "never"))
        assert stack <= ir.ENGINE_STACK
        engines.append(driver.EngineRuleset(f"linear-{start}", definition))
    for _ in range(300):
        values = {f: rng.randint(-15, 15) for f in "abc" if rng.random() < 0.9}
        message = json.dumps({"sid": SID, "id": FACT_ID, TAG_FIELD: TAG_VALUE, **values})
        fired = set().union(*(e.fire(message) for e in engines))
        for i, (op, coefs, const) in enumerate(forms):
            present = all(f in values for f in coefs)
            expected = present and OPS[op](sum(c * values[f] for f, c in coefs.items()) + const)
            assert (f"r{i}" in fired) == expected, (op, coefs, const, values)
