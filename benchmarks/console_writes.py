"""What keeping the state index and the counts per state costs a send that changes state.

    .venv/bin/python -m benchmarks.console_writes               # SQLite FULL, NORMAL, PostgreSQL
    .venv/bin/python -m benchmarks.console_writes --seconds 1 --no-postgres

`Engine.send` of TOGGLE round-robin over 1,000 instances that flip between two states (so
every send moves an instance to another state: the triggers' every row is written), and of
INC on a counter that stays in its state (a send the triggers skip), one second each in
turns. Run it on two commits (`PYTHONPATH=<other checkout>/src`) to compare them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from statewright.engine import Engine

FLIP = {
    "id": "flip",
    "initial": "a",
    "states": {"a": {"on": {"TOGGLE": "b"}}, "b": {"tags": ["on"], "on": {"TOGGLE": "a"}}},
}
INC = {"actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]}
COUNTER = {
    "id": "counter",
    "initial": "on",
    "context": {"n": 0},
    "states": {"on": {"on": {"INC": INC}}},
}
INSTANCES = 1000


def rates(url: str, seconds: float, turns: int) -> dict[str, float]:
    """Median sends/s of each kind over `turns` turns."""
    found: dict[str, list[float]] = {"TOGGLE (state changes)": [], "INC (same state)": []}
    with Engine.open(url, head_cache=0) as engine:
        engine.register(FLIP)
        engine.register(COUNTER)
        for number in range(INSTANCES):
            engine.start("flip", instance_id=f"f{number}")
            engine.start("counter", instance_id=f"c{number}")
        for _ in range(turns):
            for name, prefix, event in (
                ("TOGGLE (state changes)", "f", "TOGGLE"),
                ("INC (same state)", "c", "INC"),
            ):
                sent, began = 0, time.perf_counter()
                while time.perf_counter() - began < seconds:
                    engine.send(f"{prefix}{sent % INSTANCES}", event)
                    sent += 1
                found[name].append(sent / (time.perf_counter() - began))
    return {name: statistics.median(values) for name, values in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        databases = [
            ("SQLite FULL", f"sqlite:///{Path(folder) / 'full.db'}"),
            ("SQLite NORMAL", f"sqlite:///{Path(folder) / 'normal.db'}?synchronous=normal"),
        ]
        for name, url in databases:
            for kind, rate in rates(url, options.seconds, options.turns).items():
                print(f"{name}: {kind} {rate:,.0f} sends/s", flush=True)
    if not options.no_postgres:
        from statewright.testing.postgres import TemporaryPostgres

        with TemporaryPostgres() as server:
            url = server.create_database("writes")
            for kind, rate in rates(url, options.seconds, options.turns).items():
                print(f"PostgreSQL: {kind} {rate:,.0f} sends/s", flush=True)


if __name__ == "__main__":
    main()
