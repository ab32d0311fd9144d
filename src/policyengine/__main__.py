"""`python -m policyengine` runs the command line."""

from .cli import main

main()
