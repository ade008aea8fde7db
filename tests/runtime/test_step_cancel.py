"""A step knows its run (`current_step()`): its idempotency key, and whether the run was
stopped. When its instance leaves the invoking state, the worker cancels the running step (an
async one's task; a sync one is told and no longer waited for) and discards its result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import StatewrightError
from statewright.runtime import StepContext, Worker, current_step
from statewright.testing import VirtualClock

#: Seconds a test waits at most for something another thread does.
PATIENCE = 10.0

CHARGE = {
    "id": "payment",
    "initial": "charging",
    "states": {
        "charging": {
            "invoke": {"id": "charge", "src": "charge", "onDone": "paid"},
            "on": {"CANCEL": "cancelled"},
        },
        "paid": {"type": "final"},
        "cancelled": {"type": "final"},
    },
}


@pytest.fixture
def open_engine(store_url: str, clock: VirtualClock) -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def open_(charge: Callable[..., object]) -> Engine:
        engine = Engine.open(store_url, clock=clock)
        engine.register(Machine.from_config(CHARGE, actors={"charge": charge}))
        engines.append(engine)
        return engine

    yield open_
    for engine in engines:
        engine.close()


def cancel_while_running(
    engine: Engine, started: threading.Event
) -> tuple[Engine, threading.Thread]:
    """Start p-1, let a worker (on a thread) start its step, then send CANCEL, which leaves
    the invoking state; returns the engine and the worker's thread."""
    engine.start("payment", instance_id="p-1")
    running = threading.Thread(target=Worker(engine).run_once)
    running.start()
    assert started.wait(PATIENCE)
    engine.send("p-1", "CANCEL")
    return engine, running


def test_a_step_knows_its_run_and_its_idempotency_key(open_engine: Callable[..., Engine]) -> None:
    seen: list[StepContext] = []

    def charge(_: object) -> dict[str, object]:
        seen.append(current_step())
        return {"ok": True}

    engine = open_engine(charge)
    engine.start("payment", instance_id="p-1")
    (stored,) = engine.store.steps("default", "p-1")
    Worker(engine).run_once()

    (context,) = seen
    assert (context.tenant, context.instance_id, context.invoke_id) == ("default", "p-1", "charge")
    assert context.src == "charge"
    assert context.attempt == 1
    assert context.idempotency_key == stored.idempotency_key
    assert not context.cancelled
    assert engine.get("p-1").value == "paid"


def test_current_step_outside_a_step_names_the_mistake() -> None:
    with pytest.raises(StatewrightError, match="outside a step"):
        current_step()


def test_an_async_step_whose_state_was_left_is_cancelled_and_its_result_dropped(
    open_engine: Callable[..., Engine],
) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def charge(_: object) -> dict[str, object]:
        started.set()
        try:
            await asyncio.sleep(PATIENCE * 3)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"ok": True}

    engine, running = cancel_while_running(open_engine(charge), started)
    try:
        assert cancelled.wait(PATIENCE), "the running step was not cancelled"
    finally:
        running.join(PATIENCE)
    assert not running.is_alive()
    assert engine.get("p-1").value == "cancelled"
    assert [e.event["type"] for e in engine.history("p-1")] == ["xstate.init", "CANCEL"]


def test_a_sync_step_whose_state_was_left_is_told_and_not_waited_for(
    open_engine: Callable[..., Engine],
) -> None:
    started, finish, returned = threading.Event(), threading.Event(), threading.Event()
    told: list[bool] = []

    def charge(_: object) -> dict[str, object]:
        started.set()
        told.append(current_step().wait_cancelled(PATIENCE))
        returned.set()
        finish.wait(PATIENCE)  # it goes on after it was told; the worker does not wait
        return {"ok": True}

    engine, running = cancel_while_running(open_engine(charge), started)
    try:
        running.join(PATIENCE)
        assert not running.is_alive(), "the worker waited for a stopped step"
        assert returned.wait(PATIENCE)
        assert told == [True]
    finally:
        finish.set()
    assert engine.get("p-1").value == "cancelled"
    assert [e.event["type"] for e in engine.history("p-1")] == ["xstate.init", "CANCEL"]
