"""The `policyengine` command line. Each command lives in its own module of this package."""

from __future__ import annotations

from policyengine.cli.common import main
from policyengine.cli.evaluate import evaluate_command
from policyengine.cli.rules import schema_command

main.add_command(schema_command)
main.add_command(evaluate_command)
main.add_command(__import__(f"{__name__}.score", fromlist=["score_command"]).score_command)
main.add_command(__import__(f"{__name__}.prove", fromlist=["prove_command"]).prove_command)
main.add_command(__import__(f"{__name__}.advise", fromlist=["advise_command"]).advise_command)
main.add_command(__import__(f"{__name__}.doc", fromlist=["doc_command"]).doc_command)
main.add_command(__import__(f"{__name__}.audit", fromlist=["audit_group"]).audit_group)
main.add_command(__import__(f"{__name__}.replay", fromlist=["replay_command"]).replay_command)
main.add_command(__import__(f"{__name__}.serve", fromlist=["serve_command"]).serve_command)
main.add_command(__import__(f"{__name__}.serve", fromlist=["token_group"]).token_group)
for _name in ("lint_command", "test_command", "check_command", "diff_command", "explain_command"):  # the drafter's loop
    main.add_command(getattr(__import__(f"{__name__}.drafting", fromlist=[_name]), _name))

__all__ = ["main"]
