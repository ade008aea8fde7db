"""What keeping the state index and the counts per state costs a send that changes state.

    .venv/bin/python -m benchmarks.console_writes               # SQLite FULL, NORMAL, PostgreSQL
    .venv/bin/python -m benchmarks.console_writes --seconds 1 --no-postgres

Two databases of each kind: one as migrated, one with the triggers of migration 0010 dropped
(the write path before it). On each, `Engine.send` of TOGGLE round-robin over 1,000
instances that flip between two states (every send moves an instance to another state: the
triggers write their every row), and of INC on counters that stay in their state (a send the
triggers skip); each for `--seconds`, the two databases in turns, so that the machine's load
falls on both alike. Reported: the median sends/s of each and their ratio.
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


_SQLITE_TRIGGERS = ("instances_states_insert", "instances_states_update",
                    "instances_states_move", "instances_states_delete")  # fmt: skip
_POSTGRES_TRIGGERS = ("instances_states_rows", "instances_states_update")


def drop_triggers(url: str) -> None:
    """Drop migration 0010's triggers: the writes as they were before it."""
    if url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///").split("?")[0])
        for name in _SQLITE_TRIGGERS:
            db.execute(f"DROP TRIGGER {name}")
        db.commit()
        db.close()
        return
    import psycopg

    from statewright.store.url import parse_postgres_url

    with psycopg.connect(parse_postgres_url(url).conninfo, autocommit=True) as db:
        for name in _POSTGRES_TRIGGERS:
            db.execute(f"DROP TRIGGER {name} ON instances")  # type: ignore[arg-type]


def rates(urls: tuple[str, str], seconds: float, turns: int) -> dict[str, list[float]]:
    """Median sends/s of each kind on each database (kept, dropped) over `turns` turns."""
    kinds = {"TOGGLE (state changes)": ("f", "TOGGLE"), "INC (same state)": ("c", "INC")}
    found: dict[str, list[list[float]]] = {kind: [[], []] for kind in kinds}
    with Engine.open(urls[0], head_cache=0) as kept, Engine.open(urls[1], head_cache=0) as bare:
        drop_triggers(urls[1])
        engines = (kept, bare)
        for engine in engines:
            engine.register(FLIP)
            engine.register(COUNTER)
            for number in range(INSTANCES):
                engine.start("flip", instance_id=f"f{number}")
                engine.start("counter", instance_id=f"c{number}")
        for turn in range(turns):
            for kind, (prefix, event) in kinds.items():
                for index in (0, 1) if turn % 2 else (1, 0):
                    sent, began = 0, time.perf_counter()
                    while time.perf_counter() - began < seconds:
                        engines[index].send(f"{prefix}{sent % INSTANCES}", event)
                        sent += 1
                    found[kind][index].append(sent / (time.perf_counter() - began))
    return {kind: [statistics.median(v) for v in both] for kind, both in found.items()}


def show(database: str, found: dict[str, list[float]]) -> None:
    for kind, (kept, bare) in found.items():
        print(
            f"{database}: {kind}: {kept:,.0f} sends/s with the triggers, {bare:,.0f} without "
            f"({kept / bare:.2f})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name, query in (("SQLite FULL", ""), ("SQLite NORMAL", "?synchronous=normal")):
            urls = (
                f"sqlite:///{Path(folder) / 'kept.db'}{query}",
                f"sqlite:///{Path(folder) / 'bare.db'}{query}",
            )
            show(name, rates(urls, options.seconds, options.turns))
            for path in Path(folder).iterdir():
                path.unlink()
    if not options.no_postgres:
        from statewright.testing.postgres import TemporaryPostgres

        with TemporaryPostgres() as server:
            urls = (server.create_database("kept"), server.create_database("bare"))
            show("PostgreSQL", rates(urls, options.seconds, options.turns))


if __name__ == "__main__":
    main()
