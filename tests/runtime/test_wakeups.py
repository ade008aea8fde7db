"""A running worker is woken by new work: a step starts long before the poll interval.
PostgreSQL wakes it with NOTIFY, SQLite with a datagram on a Unix socket (wakeup.py)."""

from __future__ import annotations

import threading
import time

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker

JOB = {
    "id": "job",
    "initial": "idle",
    "states": {
        "idle": {"on": {"GO": "running"}},
        "running": {"invoke": {"id": "work", "src": "work", "onDone": "done"}},
        "done": {"type": "final"},
    },
}


def test_new_work_wakes_a_sleeping_worker(store_url: str) -> None:
    started = threading.Event()
    machine = Machine.from_config(JOB, actors={"work": lambda input: started.set()})
    stop = threading.Event()
    with Engine.open(store_url) as worker_engine, Engine.open(store_url) as client:
        worker_engine.register(machine)
        client.register(machine)
        client.start("job", instance_id="j-1")
        thread = threading.Thread(
            target=Worker(worker_engine).run, kwargs={"poll_ms": 30_000, "stop": stop}
        )
        thread.start()
        try:
            time.sleep(0.3)  # the worker has found nothing and sleeps (up to 30 s)
            sent = time.monotonic()
            client.send("j-1", "GO")
            assert started.wait(timeout=10), "the worker slept through the new step"
            latency = time.monotonic() - sent
        finally:
            stop.set()
            client.start("job", instance_id="j-2")
            client.send("j-2", "GO")  # a last wake-up so the worker sees `stop` at once
            thread.join(timeout=30)
    assert latency < 5, latency
    assert not thread.is_alive()
