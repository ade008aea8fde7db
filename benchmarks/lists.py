"""How long an operator's list takes as a tenant's instances grow: the first page of
`Engine.list` by runtime status and by business state (both indexes; the state index is kept
by triggers), paging through every match with cursors, and `count_by_state`.

    .venv/bin/python -m benchmarks.lists         # 5,000 instances, SQLite and PostgreSQL
    .venv/bin/python -m benchmarks.lists --size 50000 --no-postgres

PostgreSQL is a throwaway server started for the run (statewright.testing.postgres).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from statewright import Engine, Machine

REVIEW = {
    "id": "review",
    "initial": "draft",
    "states": {
        "draft": {"on": {"SUBMIT": "review"}},
        "review": {
            "tags": ["busy"],
            "initial": "legal",
            "states": {
                "legal": {"on": {"OK": "finance"}},
                "finance": {"on": {"OK": "#review.done"}},
            },
        },
        "done": {"type": "final"},
    },
}


def populate(engine: Engine, size: int) -> None:
    """`size` instances: a quarter each in draft, review.legal, review.finance and done."""
    engine.register(Machine.from_config(REVIEW))
    for number in range(size):
        instance_id = f"r-{number:07d}"
        engine.start("review", instance_id=instance_id, tenant="acme")
        for event in ("SUBMIT", "OK", "OK")[: number % 4]:
            engine.send(instance_id, event, tenant="acme")


def timed(what: str, call: Callable[[], object], repeat: int = 5) -> None:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - began)
    print(f"  {what:<52} {best * 1000:9.1f} ms")


def page_through(engine: Engine, **filters: str) -> int:
    seen, cursor = 0, None
    while True:
        page = engine.list(tenant="acme", cursor=cursor, limit=1000, **filters)
        seen += len(page)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def measure(url: str, size: int) -> None:
    with Engine.open(url) as engine:
        began = time.perf_counter()
        populate(engine, size)
        print(f"{url.split(':')[0]}: {size} instances made in {time.perf_counter() - began:.1f} s")
        timed("first page (100) by runtime status", lambda: engine.list(
            tenant="acme", runtime_status="active", limit=100))  # fmt: skip
        timed("first page (100) by state review.legal", lambda: engine.list(
            tenant="acme", state="review.legal", limit=100))  # fmt: skip
        timed("a state no instance is in (every value tested)", lambda: engine.list(
            tenant="acme", state="nowhere", limit=100))  # fmt: skip
        timed("first page (100) by tag busy", lambda: engine.list(
            tenant="acme", tag="busy", limit=100))  # fmt: skip
        timed(f"every page of state review ({size // 2})", lambda: page_through(
            engine, state="review"), repeat=2)  # fmt: skip
        timed("count_by_state (whole tenant)", lambda: engine.count_by_state(tenant="acme"))
        timed("count_by_state of state review", lambda: engine.count_by_state(
            tenant="acme", state="review"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure(f"sqlite:///{Path(folder) / 'lists.db'}?synchronous=normal", args.size)
    if not args.no_postgres:
        from statewright.testing.postgres import TemporaryPostgres

        with TemporaryPostgres() as server:
            measure(server.create_database("lists"), args.size)


if __name__ == "__main__":
    main()
