"""A busy worker with free slots starts a newly committed step while its other steps run.

`Worker.run`'s step loop runs a batch of steps; a step committed by another process while
the batch runs wakes it (the wake-up is passed on from the calling thread), and the batch
claims for its free slots at once, never for more than those.

No timing is asserted: the long step blocks on an event the test holds, and what must
happen before it is released is waited for with a generous deadline. The step is committed
by a second engine on the same store, as another process would commit it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import StoreUnavailable
from statewright.runtime import Worker
from statewright.testing import VirtualClock

START = 1_700_000_000_000
WAIT_S = 20.0


def invoking(machine_id: str, src: str) -> dict[str, object]:
    return {
        "id": machine_id,
        "initial": "working",
        "states": {
            "working": {"invoke": {"src": src, "onDone": "done"}},
            "done": {"type": "final"},
        },
    }


class Blocker:
    """A step that runs until the test releases it; counts the calls that started."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, input: object) -> dict[str, bool]:
        with self._lock:
            self.calls += 1
        self.release.wait(60)
        return {"released": self.release.is_set()}


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT_S:g} s: {what}"
        time.sleep(0.02)


@pytest.fixture
def engines(store_url: str) -> Iterator[tuple[Engine, Engine]]:
    """The worker's engine, and another on the same store (another process's)."""
    clock = VirtualClock(START)
    with (
        Engine.open(store_url, clock=clock) as engine,
        Engine.open(store_url, clock=clock) as other,
    ):
        yield engine, other


def test_new_steps_start_while_a_long_step_runs(engines: tuple[Engine, Engine]) -> None:
    """Three new steps, one after the other, each committed once the last has ended: each
    starts while the long step runs. With `batch=2` the batch has claimed more runs in all
    than `batch` by then: in `run` that is no cap (the batch goes on while it has runs)."""
    engine, other = engines
    long, quick = Blocker(), Blocker()
    quick.release.set()
    for each in (engine, other):
        each.register(Machine.from_config(invoking("long", "long"), actors={"long": long}))
        each.register(Machine.from_config(invoking("quick", "quick"), actors={"quick": quick}))
    worker = Worker(engine, concurrency=4, batch=2)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"poll_ms": 50, "stop": stop})
    thread.start()
    try:
        other.start("long", instance_id="l-1")
        until(lambda: long.calls == 1, "the long step started")
        for n in (1, 2, 3):
            other.start("quick", instance_id=f"q-{n}")
            until(lambda n=n: engine.get(f"q-{n}").value == "done", f"new step {n} ran")
        assert not long.release.is_set()
        assert engine.get("l-1").value == "working"  # the long step still runs

        long.release.set()
        until(lambda: engine.get("l-1").value == "done", "the long step's result was applied")
    finally:
        long.release.set()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_wake_up_claims_no_more_runs_than_slots_are_free(
    engines: tuple[Engine, Engine],
) -> None:
    """With two slots and one long step running, two new long steps are committed: one
    starts, the other stays unclaimed (a claim holds a lease: a run claimed and not
    started would be hidden from other workers), and starts once a slot is free."""
    engine, other = engines
    first, second = Blocker(), Blocker()
    for each in (engine, other):
        each.register(Machine.from_config(invoking("first", "first"), actors={"first": first}))
        each.register(Machine.from_config(invoking("second", "second"), actors={"second": second}))
    worker = Worker(engine, concurrency=2)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"poll_ms": 50, "stop": stop})
    thread.start()
    try:
        other.start("first", instance_id="f-1")
        until(lambda: first.calls == 1, "the first step started")
        other.start("second", instance_id="s-1")
        other.start("second", instance_id="s-2")

        until(lambda: second.calls == 1, "a new step started in the free slot")
        runs = [run for i in ("s-1", "s-2") for run in engine.store.steps("default", i)]
        assert sorted(run.attempts for run in runs) == [0, 1]  # the other is not claimed
        assert second.calls == 1

        first.release.set()
        until(lambda: second.calls == 2, "the other step started once a slot was free")
        second.release.set()
        until(
            lambda: {engine.get(i).value for i in ("f-1", "s-1", "s-2")} == {"done"},
            "every result was applied",
        )
    finally:
        first.release.set()
        second.release.set()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_claim_that_fails_in_an_outage_leaves_the_runs_in_hand_running(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim the batch makes while it has runs in hand (here for a new step, on its
    wake-up) fails with the store away: the batch rides it out and goes on, so the long
    step's result is still applied by this worker (not left to its lease to lapse and run
    again), and the new step starts once claims succeed again."""
    engine, other = engines
    long, quick = Blocker(), Blocker()
    quick.release.set()
    for each in (engine, other):
        each.register(Machine.from_config(invoking("long", "long"), actors={"long": long}))
        each.register(Machine.from_config(invoking("quick", "quick"), actors={"quick": quick}))
    away = threading.Event()
    failed = threading.Event()
    claim_steps = engine.store.claim_steps

    def claim_or_fail(*args: object, **kwargs: object) -> object:
        if away.is_set():
            failed.set()
            raise StoreUnavailable("claiming due steps: the server went away")
        return claim_steps(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.store, "claim_steps", claim_or_fail)
    worker = Worker(engine, concurrency=4)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"poll_ms": 50, "stop": stop})
    thread.start()
    try:
        other.start("long", instance_id="l-1")
        until(lambda: long.calls == 1, "the long step started")
        away.set()
        other.start("quick", instance_id="q-1")
        until(failed.is_set, "a claim failed")
        away.clear()
        until(lambda: engine.get("q-1").value == "done", "the new step ran")

        long.release.set()
        until(lambda: engine.get("l-1").value == "done", "the long step's result was applied")
        assert long.calls == 1
    finally:
        long.release.set()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_work_a_step_result_creates_is_taken_while_the_batch_runs(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step's result emits an outbox message while another step of the batch runs on:
    the worker's other loop delivers it then, not when the batch ends (under steady load a
    batch rarely ends). The worker hears no wake-ups from the store here, as a PostgreSQL
    worker whose listening turn another worker holds: the step loop must tell it."""
    engine, other = engines
    long = Blocker()
    notifying = {
        "id": "notifying",
        "initial": "working",
        "states": {
            "working": {
                "invoke": {
                    "src": "quick",
                    "onDone": {
                        "target": "done",
                        "actions": [{"type": "emit", "params": {"event": {"type": "finished"}}}],
                    },
                }
            },
            "done": {"type": "final"},
        },
    }
    for each in (engine, other):
        each.register(Machine.from_config(invoking("long", "long"), actors={"long": long}))
        each.register(Machine.from_config(notifying, actors={"quick": lambda input: {}}))
    other.start("long", instance_id="l-1")
    other.start("notifying", instance_id="n-1")

    def deaf(timeout: float) -> bool:
        time.sleep(timeout)
        return False

    monkeypatch.setattr(engine.store, "wait_for_work", deaf)
    delivered = threading.Event()
    worker = Worker(engine, concurrency=4)
    worker.listen("finished", lambda message: delivered.set())
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"poll_ms": 60_000, "stop": stop})
    thread.start()
    try:
        until(lambda: long.calls == 1, "the long step started")
        until(delivered.is_set, "the quick step's message was delivered")
        assert engine.get("l-1").value == "working"  # the long step still runs
    finally:
        long.release.set()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
