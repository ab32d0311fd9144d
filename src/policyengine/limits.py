"""The bounds on what rule files, expressions and facts files may hold: every one stated here, in one place.

Each bound is far above what a real policy needs (the bundled packages use a small fraction of each) and far
below what would make loading slow or recurse without limit; beyond it the input is refused with one line naming
the file, the line and the bound. docs/authoring.md lists them for drafters (规则文件的限制 / Limits).

YAML aliases (`*name`, and so merge keys `<<: *name`) are refused outright in rule and facts files, not merely
counted: an alias repeats a node without writing it out, so a few lines can expand to billions of nodes
("billion laughs"); an error inside a repeated part could only point at the anchor's line; and a clause must read
on its own where it is written, for review against the official text. No bundled package uses them. Anchors alone
(`&name`) are harmless and allowed.
"""

from __future__ import annotations

# -- files ----------------------------------------------------------------------------------------------

MAX_RULE_FILE_BYTES = 1 << 20
"""A rule file (one YAML file of a version folder, or a fact catalogue) holds at most 1 MiB."""

MAX_FACTS_FILE_BYTES = 1 << 20
"""A facts file (`policyengine evaluate FILE.yaml|json`, `explain`) holds at most 1 MiB."""

MAX_FACT_VALUE_CHARS = 65_536
"""A value in a facts file (text, or a number written as text) holds at most 65,536 characters, as a
spreadsheet cell does."""

MAX_NESTING = 32
"""YAML and JSON files nest collections (mappings, lists) at most 32 levels deep (rule files need 5)."""

# -- expressions ----------------------------------------------------------------------------------------

MAX_EXPR_CHARS = 20_000
"""An expression's text holds at most 20,000 characters (checked before parsing)."""

MAX_EXPR_DEPTH = 64
"""An expression nests at most 64 levels: each operator, comparison, `not`, unary minus, call, lookup, `if`,
name and literal is a level (parentheses are not); `a` is 1 deep, `a + b + c` is `(a + b) + c`, 3 deep, so a
sum of n terms is n levels deep."""

MAX_EXPR_NODES = 5_000
"""An expression has at most 5,000 nodes (operators, names and literals)."""

MAX_LIST_ITEMS = 1_000
"""An `in [...]` list, or the arguments of `min`/`max`/`count`, hold at most 1,000 items."""

MAX_NUMBER_DIGITS = 30
"""A number has at most 30 digits: in an expression (`123.45`, `50万`), and as a plain number in a YAML or JSON
rule or facts file (money beyond 10^13 yuan is outside the engine's range anyway)."""

MAX_INLINED_DEPTH = 128
"""An expression with every definition it names written out in its place nests at most 128 levels (evaluators
and lint follow definitions; a chain of definitions each under MAX_EXPR_DEPTH could otherwise nest without
bound)."""

MAX_INLINED_NODES = 20_000
"""An expression with every definition it names written out has at most 20,000 nodes (`d2: d1 + d1`,
`d3: d2 + d2`, ... doubles at each step)."""

# -- amounts --------------------------------------------------------------------------------------------

MAX_AMOUNT_YUAN = 2**62
"""The largest amount (in yuan) the engine's 64-bit integers hold with room to add: `policyengine lint` reports
a clause whose amount could reach it for facts within their ranges (batch.parse.LIMIT)."""
