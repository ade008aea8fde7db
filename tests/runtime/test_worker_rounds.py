"""`Worker.run_once` works in rounds: a steady stream of steps never keeps a due timer
waiting until the stream ends. Time is virtual."""

from __future__ import annotations

import threading
import time

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.testing import VirtualClock

CHAIN = {
    "id": "chain",
    "initial": "working",
    "context": {"n": 0},
    "states": {
        "working": {
            "invoke": {
                "src": "work",
                "onDone": [
                    {
                        "guard": {"$expr": "context.n < 50"},
                        "target": "working",
                        "reenter": True,
                        "actions": [
                            {"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}
                        ],
                    },
                    {"target": "done"},
                ],
            }
        },
        "done": {"type": "final"},
    },
}

REMINDER = {
    "id": "reminder",
    "initial": "fetching",
    "states": {
        "fetching": {"invoke": {"src": "fetch", "onDone": "waiting"}},
        "waiting": {"after": {"0": "reminded"}},
        "reminded": {"type": "final"},
    },
}


def test_a_timer_due_between_steps_fires_before_the_stream_of_steps_ends(
    store_url: str,
) -> None:
    seen: list[object] = []
    with Engine.open(store_url, clock=VirtualClock(1_700_000_000_000)) as engine:

        def work(_: object) -> None:
            seen.append(engine.get("r-1").value)

        engine.register(Machine.from_config(CHAIN, actors={"work": work}))
        engine.register(Machine.from_config(REMINDER, actors={"fetch": lambda _: None}))
        engine.start("chain", instance_id="c-1")
        engine.start("reminder", instance_id="r-1")

        Worker(engine, concurrency=1).run_once()

        assert engine.get("c-1").value == "done"
        assert len(seen) == 51
        # The reminder's timer fell due after the first round's steps; it fired in the
        # next round, while the chain still had dozens of steps to go.
        assert seen.index("reminded") <= 3, seen[:10]


def test_a_sleeping_worker_sees_stop_long_before_its_poll_ends(store_url: str) -> None:
    with Engine.open(store_url) as engine:
        stop = threading.Event()
        thread = threading.Thread(
            target=Worker(engine).run, kwargs={"poll_ms": 60_000, "stop": stop}
        )
        thread.start()
        time.sleep(0.3)  # nothing to do: the worker sleeps, up to a minute
        stopped = time.monotonic()
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert time.monotonic() - stopped < 5
