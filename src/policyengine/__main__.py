"""`python -m policyengine` runs the command line."""

from policyengine.cli import main

main()
