"""A listener that runs longer than the outbox lease keeps its message: the worker renews the
claim while it runs, so no other worker delivers the same message meanwhile. Real time, on a
real SQLite file shared by two workers."""

from __future__ import annotations

import threading
import time

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.runtime.outbox import OutboxMessage

PING = {
    "id": "ping",
    "initial": "a",
    "states": {
        "a": {"on": {"GO": {"actions": [{"type": "emit", "params": {"event": {"type": "ping"}}}]}}}
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_a_listener_outlasting_the_lease_is_not_delivered_twice(store_url: str) -> None:
    calls: list[str] = []
    started, release = threading.Event(), threading.Event()

    def slow(message: OutboxMessage) -> None:
        calls.append(message.id)
        if len(calls) == 1:
            started.set()
            release.wait(10)  # far longer than the 300 ms lease

    with Engine.open(store_url) as engine, Engine.open(store_url) as elsewhere:
        engine.register(Machine.from_config(PING))
        elsewhere.register(Machine.from_config(PING))
        engine.start("ping", instance_id="p-1")
        engine.send("p-1", "GO")
        worker, other = Worker(engine, outbox_lease_ms=300), Worker(elsewhere)
        worker.listen("ping", slow)
        other.listen("ping", slow)
        delivered: list[int] = []
        running = threading.Thread(target=lambda: delivered.append(worker.run_once()))
        running.start()
        try:
            assert started.wait(10)
            time.sleep(1.0)  # over three leases: each renewed meanwhile
            assert other.run_once() == 0
            (record,) = engine.store.outbox("default", "p-1")
            assert record.next_attempt_at > engine.clock.now()  # still claimed
        finally:
            release.set()
            running.join(10)
        assert delivered == [1]
        assert calls == ["default/p-1/2/0"]
        (record,) = engine.store.outbox("default", "p-1")
        assert (record.status, record.attempts) == ("delivered", 1)


@pytest.mark.slow
@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_listeners_whose_deadlines_add_up_past_the_lease_keep_their_message(
    store_url: str,
) -> None:
    """Two listeners, each with a deadline shorter than the lease, run one after the other
    for longer than the lease: the claim is renewed meanwhile, so no other worker delivers
    the message at the same time."""
    calls: list[str] = []
    second, release = threading.Event(), threading.Event()

    def first_listener(message: OutboxMessage) -> None:
        calls.append(f"first {message.id}")
        time.sleep(0.6)  # within its deadline of 0.8 s

    def second_listener(message: OutboxMessage) -> None:
        calls.append(f"second {message.id}")
        second.set()
        release.wait(0.7)  # within its deadline of 0.8 s; 1.3 s with the first's

    def elsewhere_listener(message: OutboxMessage) -> None:
        calls.append(f"elsewhere {message.id}")

    with Engine.open(store_url) as engine, Engine.open(store_url) as elsewhere:
        engine.register(Machine.from_config(PING))
        elsewhere.register(Machine.from_config(PING))
        engine.start("ping", instance_id="p-1")
        engine.send("p-1", "GO")
        worker, other = Worker(engine, outbox_lease_ms=1000), Worker(elsewhere)
        worker.listen("ping", first_listener, deadline_s=0.8)
        worker.listen("ping", second_listener, deadline_s=0.8)
        other.listen("ping", elsewhere_listener)
        delivered: list[int] = []
        running = threading.Thread(target=lambda: delivered.append(worker.run_once()))
        running.start()
        try:
            assert second.wait(10)
            time.sleep(0.55)  # past the lease taken with the claim, the second still running
            assert other.run_once() == 0
        finally:
            release.set()
            running.join(10)
        assert delivered == [1]
        assert calls == ["first default/p-1/2/0", "second default/p-1/2/0"]
