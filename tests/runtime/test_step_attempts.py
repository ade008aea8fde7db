"""How a worker runs step attempts: several at once, bounded by the policy's per-attempt
timeout, kept by lease heartbeats while they run, and given up when the worker running the
last allowed attempt died. Time is virtual; only the attempts themselves run in real time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import STEP_TIMEOUT, WORKER_LOST, Worker
from statewright.testing import VirtualClock

#: Seconds a test waits at most for something another thread does.
PATIENCE = 10.0


def payment(retry: dict[str, object]) -> dict[str, object]:
    """A machine that charges once (`retry` is the invoke's policy) and records the error."""
    return {
        "id": "payment",
        "initial": "charging",
        "context": {"error": None},
        "states": {
            "charging": {
                "invoke": {
                    "id": "charge",
                    "src": "charge",
                    "statewright": {"retry": retry},
                    "onDone": "paid",
                    "onError": {
                        "target": "review",
                        "actions": [
                            {"type": "assign", "params": {"error": {"$expr": "event.error"}}}
                        ],
                    },
                },
            },
            "review": {},
            "paid": {"type": "final"},
        },
    }


@pytest.fixture
def open_engine(store_url: str, clock: VirtualClock) -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def open_(retry: dict[str, object], charge: Callable[..., object]) -> Engine:
        engine = Engine.open(store_url, clock=clock)
        engine.register(Machine.from_config(payment(retry), actors={"charge": charge}))
        engines.append(engine)
        return engine

    yield open_
    for engine in engines:
        engine.close()


def test_a_sync_attempt_past_its_timeout_is_abandoned_and_retried(
    open_engine: Callable[..., Engine], clock: VirtualClock
) -> None:
    release = threading.Event()
    calls: list[int] = []

    def charge(_: object) -> dict[str, object]:
        calls.append(1)
        if len(calls) == 1:
            release.wait(PATIENCE)  # hangs past the timeout
        return {"ok": True}

    engine = open_engine({"attempts": 2, "delay": "1s", "timeout": "50ms"}, charge)
    engine.start("payment", instance_id="p-1")
    worker = Worker(engine)
    try:
        worker.run_once()
        (run,) = engine.store.steps("default", "p-1")
        assert (run.status, run.attempts) == ("retrying", 1)
        assert run.last_error is not None and run.last_error.startswith(STEP_TIMEOUT)
        assert "took longer than its timeout of 50 ms" in run.last_error
        clock.advance("1s")
        worker.run_once()
        assert engine.get("p-1").value == "paid"
        assert len(calls) == 2
    finally:
        release.set()
        worker.steps.close()


def test_an_async_attempt_past_its_timeout_is_cancelled_and_gives_up(
    open_engine: Callable[..., Engine],
) -> None:
    cancelled = threading.Event()

    async def charge(_: object) -> dict[str, object]:
        try:
            await asyncio.sleep(PATIENCE)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"ok": True}

    engine = open_engine({"attempts": 1, "timeout": "50ms"}, charge)
    engine.start("payment", instance_id="p-1")
    Worker(engine, concurrency=1).run_once()

    review = engine.get("p-1")
    assert review.value == "review"
    error: Any = review.context["error"]  # type: ignore[index]
    assert error["type"] == STEP_TIMEOUT
    # The cancellation reaches the coroutine on its own event loop, maybe a moment after.
    assert cancelled.wait(PATIENCE)
    assert engine.store.steps("default", "p-1") == []


def test_steps_of_a_batch_run_at_the_same_time(store_url: str, clock: VirtualClock) -> None:
    together = threading.Barrier(4, timeout=PATIENCE)  # broken unless 4 calls wait at once

    def charge(_: object) -> dict[str, object]:
        together.wait()
        return {"ok": True}

    with Engine.open(store_url, clock=clock) as engine:
        engine.register(Machine.from_config(payment({"attempts": 1}), actors={"charge": charge}))
        for number in range(4):
            engine.start("payment", instance_id=f"p-{number}")
        assert Worker(engine, concurrency=4).run_once() == 4
        assert [engine.get(f"p-{number}").value for number in range(4)] == ["paid"] * 4
        assert not together.broken


def test_a_heartbeat_keeps_a_long_step_from_being_taken_over(
    open_engine: Callable[..., Engine], clock: VirtualClock
) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def charge(_: object) -> dict[str, object]:
        calls.append(1)
        started.set()
        release.wait(PATIENCE)
        return {"ok": True}

    engine = open_engine({"attempts": 3}, charge)
    engine.start("payment", instance_id="p-1")
    worker = Worker(engine, lease_ms=300)  # a heartbeat every 100 ms of real time
    running = threading.Thread(target=worker.run_once)
    running.start()
    try:
        assert started.wait(PATIENCE)
        (claimed,) = engine.store.steps("default", "p-1")
        assert claimed.lease_until is not None
        clock.advance("10s")  # far past the lease taken at the claim
        deadline = time.monotonic() + PATIENCE
        while (engine.store.steps("default", "p-1")[0].lease_until or 0) <= clock.now():
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.01)
        assert engine.store.claim_steps(clock.now(), 300, 10) == []  # still the first worker's
    finally:
        release.set()
        running.join(PATIENCE)
    assert engine.get("p-1").value == "paid"
    assert len(calls) == 1


def test_a_run_whose_last_attempt_lost_its_worker_gives_up_with_worker_lost(
    open_engine: Callable[..., Engine], clock: VirtualClock
) -> None:
    calls: list[int] = []
    engine = open_engine({"attempts": 1}, lambda _: calls.append(1))
    engine.start("payment", instance_id="p-1")
    engine.store.claim_steps(clock.now(), 60_000, 10)  # a worker that then dies

    clock.advance("61s")
    Worker(engine).run_once()

    review = engine.get("p-1")
    error: Any = review.context["error"]  # type: ignore[index]
    assert (review.value, error["type"]) == ("review", WORKER_LOST)
    assert "stopped before it finished" in error["message"]
    assert calls == []


def test_an_output_that_cannot_be_stored_is_a_failed_attempt(
    open_engine: Callable[..., Engine], clock: VirtualClock
) -> None:
    outputs: list[object] = [{"card": object()}, {"ok": True}]
    engine = open_engine({"attempts": 2, "delay": "1s"}, lambda _: outputs.pop(0))
    engine.start("payment", instance_id="p-1")
    worker = Worker(engine, concurrency=1)

    worker.run_once()
    (run,) = engine.store.steps("default", "p-1")
    assert (run.status, run.attempts) == ("retrying", 1)
    assert run.last_error is not None and run.last_error.startswith("PayloadError")
    clock.advance("1s")
    worker.run_once()
    assert engine.get("p-1").value == "paid"
