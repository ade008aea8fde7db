"""A running worker is woken by new work: a step starts long before the poll interval.
PostgreSQL wakes it with NOTIFY, SQLite with a datagram on a Unix socket (wakeup.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

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


# PostgreSQL passes one listening turn among idle workers; SQLite wakes them all.
@pytest.mark.parametrize("empty_store_url", ["postgres"], indirect=True)
def test_one_of_several_idle_workers_listens_and_all_the_work_is_done(
    store_url: str,
) -> None:
    ran_by: list[int] = []

    def machine_for(index: int) -> Machine:
        return Machine.from_config(JOB, actors={"work": lambda input: ran_by.append(index)})

    stop = threading.Event()
    engines = [Engine.open(store_url) for _ in range(3)]
    threads = []
    with Engine.open(store_url) as client:
        client.register(machine_for(-1))
        for index, engine in enumerate(engines):
            engine.register(machine_for(index))
            thread = threading.Thread(
                target=Worker(engine).run, kwargs={"poll_ms": 30_000, "stop": stop}
            )
            thread.start()
            threads.append(thread)
        try:
            assert wait_for(lambda: sum(e.store.listening for e in engines) == 1)
            time.sleep(0.3)
            assert sum(e.store.listening for e in engines) == 1
            for n in range(30):
                client.start("job", instance_id=f"j-{n}")
                client.send(f"j-{n}", "GO")
            assert wait_for(lambda: len(ran_by) == 30), ran_by
            assert wait_for(lambda: not client.list(status="active", limit=1))
            assert wait_for(lambda: sum(e.store.listening for e in engines) == 1)
        finally:
            stop.set()
            for n in range(3):  # wake-ups, so that each worker sees `stop` soon
                client.start("job", instance_id=f"last-{n}")
                client.send(f"last-{n}", "GO")
            for thread in threads:
                thread.join(timeout=60)
            for engine in engines:
                engine.close()
    assert not any(thread.is_alive() for thread in threads)
    assert len(ran_by) == 30, ran_by  # and none ran twice


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
