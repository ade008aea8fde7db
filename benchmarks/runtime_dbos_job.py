"""Run one DBOS job of `benchmarks.runtime` in a fresh interpreter:

    .venv/bin/python -m benchmarks.runtime_dbos_job '{"job": "steps", "mode": "queue", ...}'

A module of its own, so that the workflows are imported once, as `benchmarks.runtime_dbos`,
both here and in the process its workers are forked from (a `-m benchmarks.runtime_dbos`
main would define them a second time there, as `__mp_main__`).
"""

from __future__ import annotations

import sys

from benchmarks.runtime_dbos import main

if __name__ == "__main__":
    sys.exit(main())
