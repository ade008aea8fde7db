"""A worker claims only the steps it can run, and only as many as it can start: a step no
running worker provides waits uncharged (and `Engine.get` says for what), a claimed run
always starts, and a worker that provides the step later finishes everything."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.store.records import StepRecord
from statewright.testing import VirtualClock

#: Seconds a test waits at most for something another thread does.
PATIENCE = 20.0

ORDER = {
    "id": "order",
    "initial": "charging",
    "states": {
        "charging": {
            "invoke": {
                "id": "charge",
                "src": "chargeCard",
                "statewright": {"retry": {"attempts": 3, "delay": "1s"}},
                "onDone": "shipping",
                "onError": "review",
            }
        },
        "shipping": {
            "invoke": {
                "id": "ship",
                "src": "shipOrder",
                "statewright": {"retry": {"attempts": 3, "delay": "1s"}},
                "onDone": "shipped",
                "onError": "review",
            }
        },
        "review": {},
        "shipped": {"type": "final"},
    },
}


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _charged(engine: Engine) -> Counter[str]:
    """Attempts charged to the step runs still in the store, by source."""
    charged: Counter[str] = Counter()
    for instance in engine.list(limit=1000):
        for run in engine.store.steps(instance.tenant, instance.id):
            charged[run.src] += run.attempts
    return charged


@pytest.fixture
def engines(store_url: str) -> Iterator[Callable[..., Engine]]:
    opened: list[Engine] = []

    def open_(**actors: Callable[..., object]) -> Engine:
        engine = Engine.open(store_url)
        if actors:
            engine.register(Machine.from_config(ORDER, actors=actors))
        opened.append(engine)
        return engine

    yield open_
    for engine in opened:
        engine.close()


@pytest.mark.slow
def test_workers_without_a_step_charge_nothing_and_a_full_worker_finishes_everything(
    store_url: str, engines: Callable[..., Engine]
) -> None:
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def actor(src: str) -> Callable[[object], dict[str, object]]:
        def run(_: object) -> dict[str, object]:
            with lock:
                calls[src] += 1
            return {"ok": True}

        return run

    orders = 24
    starter = engines(chargeCard=actor("chargeCard"), shipOrder=actor("shipOrder"))
    for number in range(orders):
        starter.start("order", instance_id=f"o-{number:03d}")

    # A worker with no step implementations at all (no machines registered) runs nothing.
    bare = Engine.open(store_url)
    try:
        assert Worker(bare).run_once() == 0
    finally:
        bare.close()
    assert _charged(starter) == Counter()
    assert starter.get("o-000").waiting_for == "a worker that provides chargeCard"

    # A worker with half of them charges the card, and leaves shipping pending, uncharged.
    half = engines(chargeCard=actor("chargeCard"))
    half_worker = Worker(half, concurrency=4)
    stop = threading.Event()
    thread = threading.Thread(target=half_worker.run, kwargs={"poll_ms": 50, "stop": stop})
    thread.start()
    try:
        _wait_until(lambda: calls["chargeCard"] == orders, "every card charged")
        _wait_until(
            lambda: all(i.value == "shipping" for i in starter.list(limit=1000)),
            "every order in shipping",
        )
        shipping = starter.get("o-007")
        assert shipping.runtime_status == "running"
        assert shipping.waiting_for == "a worker that provides shipOrder"
        waiting = _charged(starter)
    finally:
        stop.set()
        thread.join(PATIENCE)
    assert waiting == Counter()  # every shipOrder run pending with no attempt charged
    assert calls == Counter(chargeCard=orders)

    # A full worker started later finishes everything, each step once.
    full = engines(chargeCard=actor("chargeCard"), shipOrder=actor("shipOrder"))
    Worker(full).run_once()
    instances = starter.list(limit=1000)
    failed_attempts = sum(len(starter.step_attempts(i.id)) for i in instances)
    print(
        f"orders={orders} done={sum(i.status == 'done' for i in instances)} "
        f"step_calls={dict(calls)} failed_attempts={failed_attempts}"
    )
    assert [i.status for i in instances] == ["done"] * orders
    assert calls == Counter(chargeCard=orders, shipOrder=orders)
    assert failed_attempts == 0
    assert all(starter.verify(i.id).ok for i in instances)
    assert starter.get("o-007").waiting_for is None


def test_a_live_worker_that_provides_the_step_clears_waiting_for(
    engines: Callable[..., Engine],
) -> None:
    provider = engines(chargeCard=lambda _: None)
    provider.start("order", instance_id="o-1")
    engine = engines()  # another process: reads the instance, provides nothing
    assert engine.get("o-1").waiting_for == "a worker that provides chargeCard"

    presence = Worker(provider).presence
    presence.start()
    try:
        assert engine.get("o-1").waiting_for is None
        assert engine.get("o-1").runtime_status == "running"
    finally:
        presence.stop()
    assert engine.get("o-1").waiting_for == "a worker that provides chargeCard"


def test_a_batch_claims_only_the_runs_it_can_start_and_more_as_they_end(
    store_url: str, clock: VirtualClock
) -> None:
    permits = threading.Semaphore(0)
    started: list[str] = []

    def charge(_: object) -> None:
        started.append("charge")
        permits.acquire(timeout=PATIENCE)

    engine = Engine.open(store_url, clock=clock)
    try:
        engine.register(Machine.from_config(ORDER, actors={"chargeCard": charge}))
        for number in range(10):
            engine.start("order", instance_id=f"o-{number}")
        worker = Worker(engine, concurrency=2, batch=64)
        batch = threading.Thread(target=worker.steps.run_batch)
        batch.start()
        try:
            _wait_until(lambda: len(started) == 2, "two attempts started")
            at_first = sorted(run.attempts for run in _runs(engine))
            permits.release()  # one charge ends: its slot takes the next run
            _wait_until(lambda: len(started) == 3, "a third attempt started")
            # Its result is committed with others' or after RESULT_HOLD_S at the latest.
            _wait_until(
                lambda: any(i.value == "shipping" for i in engine.list()), "the first result"
            )
            after_one = sorted(run.attempts for run in _runs(engine))
        finally:
            permits.release(100)
            batch.join(PATIENCE)
        print(f"due=10 concurrency=2 started={len(started)} charged_at_first={sum(at_first)}")
        assert at_first == [0] * 8 + [1, 1]  # only the two that started are charged
        # The first order went on to shipping (a new run, not provided here, uncharged).
        assert after_one == [0] * 8 + [1, 1]
        assert len(started) == 10
        assert [i.value for i in engine.list()] == ["shipping"] * 10
    finally:
        engine.close()


def _runs(engine: Engine) -> list[StepRecord]:
    return [run for i in engine.list(limit=1000) for run in engine.store.steps(i.tenant, i.id)]
