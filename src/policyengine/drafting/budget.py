"""How hard `policyengine check` searches (kept apart from the search, so the command line reads it cheaply)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """How hard to search: examples per search, and the seed that makes the run repeatable."""

    applicants: int = 400
    pairs: int = 200
    populations: int = 100
    seed: int = 0
    sweep: bool = True
    """try every clause's corners before the random search (off only to test the search on its own)"""

    @classmethod
    def scaled(cls, max_examples: int, seed: int = 0) -> Budget:
        """`max_examples` applicants; half as many pairs and a quarter as many populations."""
        return cls(max_examples, max(1, max_examples // 2), max(1, max_examples // 4), seed)
