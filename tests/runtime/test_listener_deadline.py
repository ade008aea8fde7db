"""A Python listener that hangs does not hold its message for ever: each call has a deadline
(its `deadline_s`, else the outbox policy's `timeout`), past which the delivery fails with
`ListenerTimeout`, is retried with backoff and dead-lettered in the end, and its claim is no
longer renewed. Real time, on a real SQLite file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import ConfigError
from statewright.runtime import ListenerTimeout, RetryPolicy, Worker
from statewright.runtime.outbox import OutboxMessage

PING = {
    "id": "ping",
    "initial": "a",
    "states": {
        "a": {"on": {"GO": {"actions": [{"type": "emit", "params": {"event": {"type": "ping"}}}]}}}
    },
}


def hanging(calls: list[str], release: threading.Event) -> Callable[[OutboxMessage], None]:
    def hang(message: OutboxMessage) -> None:
        calls.append(message.id)
        release.wait(30)

    return hang


def emitted(engine: Engine) -> None:
    engine.register(Machine.from_config(PING))
    engine.start("ping", instance_id="p-1")
    engine.send("p-1", "GO")


@pytest.mark.slow
@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_a_hanging_listener_fails_at_the_policy_timeout_and_is_dead_lettered(
    store_url: str,
) -> None:
    calls: list[str] = []
    release = threading.Event()
    with Engine.open(store_url) as engine, Engine.open(store_url) as elsewhere:
        emitted(engine)
        elsewhere.register(Machine.from_config(PING))
        worker, other = Worker(engine, outbox_lease_ms=300), Worker(elsewhere)
        worker.outbox.policy = RetryPolicy(attempts=2, delay_ms=0, jitter=False, timeout_ms=900)
        worker.listen("ping", hanging(calls, release))
        other.listen("ping", hanging(calls, release))
        try:
            running = threading.Thread(target=worker.run_once)
            began = time.monotonic()
            running.start()
            time.sleep(0.6)  # two leases: renewed meanwhile, up to the timeout
            assert other.run_once() == 0
            running.join(10)
            took = time.monotonic() - began
            assert 0.9 <= took < 5, took  # the timeout, not the listener's 30 s
            (record,) = engine.store.outbox("default", "p-1")
            assert (record.status, record.attempts) == ("pending", 1)  # retried (at once)
            assert worker.run_once() == 0
            # Two attempts, each ended by the timeout; the second dead-lettered it.
            assert calls == ["default/p-1/2/0"] * 2
            (record,) = engine.store.outbox("default", "p-1")
            assert (record.status, record.attempts) == ("dead", 2)
            assert record.last_error is not None
            assert record.last_error.startswith(
                "ListenerTimeout: listener hanging.<locals>.hang did not return within its "
                "deadline of 0.9 s (it may still be running"
            ), record.last_error
            # The calls still run, abandoned: the claim is no longer renewed.
            held_until = record.next_attempt_at
            time.sleep(0.4)
            (record,) = engine.store.outbox("default", "p-1")
            assert record.next_attempt_at == held_until
        finally:
            release.set()


@pytest.mark.slow
@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_a_deadline_given_to_listen_fails_the_delivery_and_retries_it(store_url: str) -> None:
    calls: list[str] = []
    release = threading.Event()
    with Engine.open(store_url) as engine:
        emitted(engine)
        worker = Worker(engine)
        worker.listen("ping", hanging(calls, release), deadline_s=0.2)
        try:
            began = time.monotonic()
            assert worker.run_once() == 0
            assert time.monotonic() - began < 5
        finally:
            release.set()
        (record,) = engine.store.outbox("default", "p-1")
        assert (record.status, record.attempts) == ("pending", 1)
        assert record.next_attempt_at > engine.clock.now()  # retried after the backoff
        assert record.last_error is not None and "deadline of 0.2 s" in record.last_error


@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_a_listener_returning_in_time_is_delivered_and_its_thread_reused(
    store_url: str,
) -> None:
    threads: list[int] = []
    with Engine.open(store_url) as engine:
        emitted(engine)
        engine.send("p-1", "GO")
        worker = Worker(engine)
        worker.listen("ping", lambda message: threads.append(threading.get_ident()))
        assert worker.run_once() == 2
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()


@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_what_a_listener_raises_still_fails_the_delivery_with_it(store_url: str) -> None:
    def refuse(message: OutboxMessage) -> None:
        raise TimeoutError("the warehouse did not answer")  # its own, not the deadline's

    with Engine.open(store_url) as engine:
        emitted(engine)
        worker = Worker(engine)
        worker.listen("ping", refuse)
        assert worker.run_once() == 0
        (record,) = engine.store.outbox("default", "p-1")
    assert record.last_error == "TimeoutError: the warehouse did not answer"


@pytest.mark.parametrize("deadline_s", [0, -1, float("nan"), float("inf"), "5", True])
@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_a_deadline_that_is_not_a_positive_number_of_seconds_is_refused(
    store_url: str, deadline_s: object
) -> None:
    with Engine.open(store_url) as engine:
        worker = Worker(engine)
        with pytest.raises(ConfigError) as refused:
            worker.listen("ping", print, deadline_s=deadline_s)  # type: ignore[arg-type]
        assert str(refused.value) == (
            f"listener for 'ping': deadline_s must be a number of seconds above 0, not "
            f"{deadline_s!r}; leave it out for the outbox policy's timeout (30 s)"
        )
        with pytest.raises(ConfigError, match="not shorter than the outbox lease"):
            worker.listen("ping", print, deadline_s=30)
        assert worker.outbox.patterns == []  # nothing registered


def test_listener_timeout_is_exported() -> None:
    assert issubclass(ListenerTimeout, Exception)
