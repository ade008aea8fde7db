"""In-memory benchmark of the statechart core: statewright against its peers and XState.

Run from the repository root:

    .venv/bin/python -m benchmarks.core            # full run, a few minutes
    .venv/bin/python -m benchmarks.core --quick    # smoke run, seconds
    .venv/bin/python -m benchmarks.core --json results.json

Every scenario runs statewright and each peer that can express it in this one process, and
XState v5 in one Node process when `node` is on PATH, all timed round-robin (see
`_harness.py`). README.md in this folder describes the scenarios and how each peer mirrors
them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from benchmarks import _report, impl_xstate_node
from benchmarks._harness import FULL, QUICK, Bench, Budget, Result, Skip, measure


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scenario: its name, what its rate counts, and units per operation of a loop."""

    name: str
    title: str
    unit: str
    units: int


SCENARIOS = (
    Scenario("toggle", "(a) toggle: two states, one event flips them", "transitions/s", 1),
    Scenario("order", "(b) order workflow, created and run to its final state", "orders/s", 1),
    Scenario("deep", "(c) 5-level hierarchy, cross-level transitions", "transitions/s", 3),
    Scenario("snapshot", "(d) snapshot JSON round trip per transition", "transitions/s", 1),
)

#: Display name and module of each implementation, in table order; statewright first.
IMPLEMENTATIONS = (
    ("statewright", "benchmarks.impl_statewright"),
    ("xstate-statemachine", "benchmarks.impl_xstate_statemachine"),
    ("python-statemachine", "benchmarks.impl_python_statemachine"),
    ("sismic", "benchmarks.impl_sismic"),
    ("transitions", "benchmarks.impl_transitions"),
    ("xstate v5", "benchmarks.impl_xstate_node"),
)
NODE = "xstate v5"

Row = tuple[str, str, Callable[[], Bench]]


def load_rows(*, node: bool) -> tuple[list[Row], dict[str, str]]:
    """Import every implementation module; return their rows and why any failed to import."""
    rows: list[Row] = []
    failures: dict[str, str] = {}
    for name, module in IMPLEMENTATIONS:
        if name == NODE and not node:
            continue
        try:
            rows.extend(importlib.import_module(module).ROWS)
        except Exception as error:  # an unimportable peer must not stop the others
            failures[name] = f"cannot import: {type(error).__name__}: {error}"
    return rows, failures


def run_scenario(
    scenario: Scenario, rows: Sequence[Row], failures: dict[str, str], budget: Budget
) -> list[Result]:
    """Build every implementation's bench for `scenario`, time them, return the rows."""
    benches: dict[str, Bench] = {}
    others: list[Result] = []
    for name, reason in failures.items():
        others.append(Result(scenario=scenario.name, impl=name, skipped=reason))
    for row_scenario, label, build in rows:
        if row_scenario != scenario.name:
            continue
        try:
            benches[label] = build()
        except Skip as skip:
            others.append(Result(scenario=scenario.name, impl=label, skipped=str(skip)))
        except Exception as error:  # a broken mirror is reported, not fatal
            traceback.print_exc()
            reason = f"error: {type(error).__name__}: {error}"
            others.append(Result(scenario=scenario.name, impl=label, skipped=reason))
    results = measure(scenario.name, benches, scenario.units, budget) + others
    order = [name for name, _ in IMPLEMENTATIONS]
    results.sort(key=lambda r: next(i for i, n in enumerate(order) if r.impl.startswith(n)))
    return results


def versions() -> dict[str, str]:
    """Return the versions of Python, Node/XState and every Python implementation."""
    found = {"python": platform.python_version(), "node": impl_xstate_node.version()}
    for name, _ in IMPLEMENTATIONS:
        if name == NODE:
            continue
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.core", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write raw results here")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="run only this scenario (repeatable)",
    )
    parser.add_argument("--no-node", action="store_true", help="skip XState on Node")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables and summary; return the exit status."""
    args = parse(argv)
    budget = QUICK if args.quick else FULL
    impl_xstate_node.QUICK = args.quick
    rows, failures = load_rows(node=not args.no_node)
    for name, reason in failures.items():
        print(f"warning: {name}: {reason}", file=sys.stderr)
    started = datetime.now(UTC)
    results: list[Result] = []
    summaries: list[str] = []
    for scenario in SCENARIOS:
        if args.scenario and scenario.name not in args.scenario:
            continue
        found = run_scenario(scenario, rows, failures, budget)
        print(_report.table(f"{scenario.title} ({scenario.unit})", scenario.unit, found))
        print(flush=True)
        results += found
        summaries += _report.summary(scenario.name, found)
    print("Summary (ratios from this run):")
    print("\n".join(f"- {line}" for line in summaries))
    if args.json:
        report = {
            "started": started.isoformat(timespec="seconds"),
            "command": " ".join(["python -m benchmarks.core", *(argv or sys.argv[1:])]),
            "quick": args.quick,
            "versions": versions(),
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
