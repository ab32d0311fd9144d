"""The `policyengine` command line. Each command lives in its own module of this package."""

from __future__ import annotations

from .common import main
from .evaluate import evaluate_command
from .rules import lint_command, schema_command, test_command

main.add_command(schema_command)
main.add_command(lint_command)
main.add_command(test_command)
main.add_command(evaluate_command)
main.add_command(__import__(f"{__name__}.score", fromlist=["score_command"]).score_command)
main.add_command(__import__(f"{__name__}.doc", fromlist=["doc_command"]).doc_command)

__all__ = ["main"]
