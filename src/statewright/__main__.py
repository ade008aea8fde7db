"""`python -m statewright` runs the command line."""

from statewright.cli import main

main()
