"""A child process for the acceptance tests: sends events through a real engine and prints
each committed (instance, version) only after the commit returned.

    python workload.py stream URL INSTANCES          # INC events round-robin until killed
    python workload.py race URL INSTANCES COUNT SEED # COUNT optimistic INCs on random instances
    python workload.py threads URL INSTANCES THREADS # THREADS threads streaming INCs at once
                                                     # (group commits) until killed
    python workload.py asyncio URL INSTANCES TASKS   # TASKS asyncio tasks streaming INCs
                                                     # through Engine.send_async until killed
    python workload.py starts URL INSTANCES TASKS    # TASKS asyncio tasks starting counters
                                                     # through Engine.start_async until killed
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import uuid
from collections.abc import Iterator

from statewright import Machine
from statewright.engine import Engine, Instance
from statewright.errors import VersionConflict

COUNTER = {
    "id": "counter",
    "initial": "counting",
    "context": {"n": 0},
    "states": {
        "counting": {
            "on": {
                "INC": {
                    "actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]
                }
            }
        }
    },
}


def counter_machine() -> Machine:
    return Machine.from_config(COUNTER)


def stream(url: str, instances: int) -> None:
    with Engine.open(url) as engine:
        engine.register(counter_machine())
        ids = [f"c-{index}" for index in range(instances)]
        turn = 0
        while True:
            instance_id = ids[turn % instances]
            entry = engine.send(instance_id, {"type": "INC"})
            print(f"{instance_id} {entry.seq}", flush=True)
            turn += 1


def race(url: str, instances: int, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with Engine.open(url) as engine:
        engine.register(counter_machine())
        for _ in range(count):
            instance_id = f"c-{rng.randrange(instances)}"
            version = engine.get(instance_id).version
            try:
                entry = engine.send(instance_id, {"type": "INC"}, expected_version=version)
            except VersionConflict as conflict:
                print(f"conflict {instance_id} {conflict.expected} {conflict.found}", flush=True)
            else:
                print(f"ok {instance_id} {entry.seq}", flush=True)


def threads(url: str, instances: int, count: int) -> None:
    """Threads of one engine sending at once (their commits grouped), each to every instance
    in turn; a line per send only after it returned, so after its group committed."""
    printing = threading.Lock()
    with Engine.open(url) as engine:
        engine.register(counter_machine())

        def sender(offset: int) -> None:
            turn = offset
            while True:
                instance_id = f"c-{turn % instances}"
                entry = engine.send(instance_id, {"type": "INC"})
                with printing:
                    print(f"{instance_id} {entry.seq}", flush=True)
                turn += 1

        for offset in range(count):
            threading.Thread(target=sender, args=(offset,), daemon=True).start()
        threading.Event().wait()


def tasks(url: str, instances: int, count: int) -> None:
    """Tasks of one event loop sending at once through `send_async` (in batches of one
    transaction), each to every instance in turn; a line per send only after it returned."""

    async def sender(engine: Engine, offset: int) -> None:
        turn = offset
        while True:
            instance_id = f"c-{turn % instances}"
            entry = await engine.send_async(instance_id, {"type": "INC"})
            print(f"{instance_id} {entry.seq}", flush=True)
            turn += 1

    async def main() -> None:
        with Engine.open(url) as engine:
            engine.register(counter_machine())
            await asyncio.gather(*(sender(engine, offset) for offset in range(count)))

    asyncio.run(main())


def starts(url: str, count: int) -> None:
    """Tasks of one event loop starting counters at once through `start_async` (in batches
    of one transaction), under ids of this process's own; a line per start (its id and
    version 1) only after it returned."""
    prefix = uuid.uuid4().hex[:8]

    async def starter(engine: Engine, task: int) -> None:
        turn = 0
        while True:
            instance = await engine.start_async("counter", instance_id=f"s-{prefix}-{task}-{turn}")
            print(f"{instance.id} {instance.version}", flush=True)
            turn += 1

    async def main() -> None:
        with Engine.open(url) as engine:
            engine.register(counter_machine())
            await asyncio.gather(*(starter(engine, task) for task in range(count)))

    asyncio.run(main())


if __name__ == "__main__":
    mode, url, *rest = sys.argv[1:]
    if mode == "asyncio":
        tasks(url, int(rest[0]), int(rest[1]))
    elif mode == "starts":
        starts(url, int(rest[1]))
    elif mode == "stream":
        stream(url, int(rest[0]))
    elif mode == "threads":
        threads(url, int(rest[0]), int(rest[1]))
    else:
        race(url, int(rest[0]), int(rest[1]), int(rest[2]))


def every_instance(engine: Engine) -> Iterator[Instance]:
    """Every instance of the default tenant, page after page (a page holds at most 1000),
    so that a check at a larger size (the size variables) sees them all."""
    cursor = None
    while True:
        page = engine.list(limit=1000, cursor=cursor)
        yield from page
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
