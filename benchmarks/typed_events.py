"""What typed events cost: checking an event against the JSON Schema its definition declares
(one that fits, one that fails, a type without a schema), loading a definition with schemas,
and the engine's sequential send rate on a typed definition beside the same definition
without schemas, on the same database in the same run.

    .venv/bin/python -m benchmarks.typed_events              # SQLite and PostgreSQL
    .venv/bin/python -m benchmarks.typed_events --no-postgres --sends 5000

PostgreSQL is a throwaway server started for the run (statewright.testing.postgres).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from statewright import Engine, Machine, PayloadInvalid

PAY = {
    "type": "object",
    "properties": {
        "amount": {"type": "integer", "minimum": 1},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku"],
                "properties": {"sku": {"type": "string"}},
            },
        },
    },
    "required": ["amount"],
    "additionalProperties": False,
}
EVENT = {"type": "PAY", "amount": 3, "lines": [{"sku": "a"}, {"sku": "b"}]}


def config(typed: bool) -> dict[str, Any]:
    """A one-state counter; `typed` declares PAY's schema."""
    counted = {"actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]}
    made: dict[str, Any] = {
        "id": "typed" if typed else "plain",
        "initial": "open",
        "context": {"n": 0},
        "states": {"open": {"on": {"PAY": counted}}},
    }
    if typed:
        made["statewright"] = {"events": {"PAY": PAY}}
    return made


def per_call_us(call: Callable[[], object], count: int) -> float:
    began = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - began) / count * 1e6


def refused(machine: Machine) -> None:
    try:
        machine.check_event({"type": "PAY", "amount": 0, "lines": [{}]})
    except PayloadInvalid:
        return


def line(what: str, value: float, unit: str) -> None:
    print(f"  {what:<40} {value:8.1f} {unit}")


def checks(count: int) -> None:
    machine = Machine.from_config(config(True))
    other = {"type": "OTHER"}
    print("checks, in memory:")
    line("an event that fits", per_call_us(lambda: machine.check_event(EVENT), count), "µs")
    line("an event that fails (2 fields)", per_call_us(lambda: refused(machine), count), "µs")
    line("a type without a schema", per_call_us(lambda: machine.check_event(other), count), "µs")
    for typed in (False, True):
        took = per_call_us(lambda: Machine.from_config(config(typed)), 200) / 1000  # noqa: B023
        line("load, " + ("with schemas" if typed else "without"), took, "ms")


def sends(url: str, count: int) -> None:
    print(f"sequential sends, {url.split(':')[0]}:")
    with Engine.open(url) as engine:
        for typed in (False, True, False, True):  # interleaved: warm-up and drift show
            definition = config(typed)
            engine.register(definition)
            instance = f"{definition['id']}-1"
            if not engine.list(definition_id=definition["id"]):
                engine.start(definition["id"], instance_id=instance)
            rate = 1e6 / per_call_us(lambda: engine.send(instance, EVENT), count)  # noqa: B023
            line("typed" if typed else "plain", rate, "sends/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=20000)
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    checks(args.checks)
    with tempfile.TemporaryDirectory() as folder:
        sends(f"sqlite:///{Path(folder) / 'typed.db'}", args.sends)
    if not args.no_postgres:
        from statewright.testing.postgres import TemporaryPostgres

        with TemporaryPostgres() as server:
            sends(server.create_database("typed"), args.sends)


if __name__ == "__main__":
    main()
