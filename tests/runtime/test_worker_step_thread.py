"""`Worker.run` runs steps on a thread of their own: a step that runs on does not hold back
the timers, the cron ticks and the outbox deliveries that fall due meanwhile, and the two
loops stop together, on a stop or on a fault of either.

No timing is asserted: each step below blocks on an event the test holds, and what must
happen meanwhile is waited for with a generous deadline. The clock is virtual; the worker
polls it every 50 ms.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import StoreError
from statewright.runtime import Worker
from statewright.runtime.outbox import OutboxMessage
from statewright.testing import VirtualClock

START = 1_700_000_040_000 + 13_000  # 47 s before a whole minute
WAIT_S = 20.0

BLOCKER = {
    "id": "blocker",
    "initial": "working",
    "states": {
        "working": {"invoke": {"src": "block", "onDone": "done"}},
        "done": {"type": "final"},
    },
}

REMINDER = {
    "id": "reminder",
    "initial": "waiting",
    "states": {
        "waiting": {"after": {"1000": "reminded"}},
        "reminded": {
            "entry": {"type": "emit", "params": {"event": {"type": "note.sent"}}},
            "type": "final",
        },
    },
}

TICKED = {"id": "ticked", "initial": "done", "states": {"done": {"type": "final"}}}


class Blocker:
    """A step that runs until the test releases it."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, input: object) -> dict[str, bool]:
        with self._lock:
            self.calls += 1
        self.started.set()
        self.release.wait(60)
        return {"released": self.release.is_set()}


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT_S:g} s: {what}"
        time.sleep(0.02)


@pytest.fixture
def engine(tmp_path: object) -> Iterator[Engine]:
    with Engine.open(f"sqlite:///{tmp_path}/steps.db", clock=VirtualClock(START)) as opened:
        yield opened


def running(worker: Worker, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=worker.run, kwargs={"poll_ms": 50, "stop": stop})
    thread.start()
    return thread


@pytest.mark.parametrize("concurrency", [8, 1])
def test_timers_ticks_and_messages_are_not_held_back_by_a_running_step(
    engine: Engine, concurrency: int
) -> None:
    blocker = Blocker()
    delivered: list[OutboxMessage] = []
    engine.register(Machine.from_config(BLOCKER, actors={"block": blocker}))
    engine.register(Machine.from_config(REMINDER))
    engine.register(Machine.from_config(TICKED))
    worker = Worker(engine, concurrency=concurrency)
    worker.listen("note.*", delivered.append)
    worker.schedule({"name": "tick", "cron": "* * * * *", "action": {"start": "ticked"}})
    stop = threading.Event()
    thread = running(worker, stop)
    try:
        engine.start("blocker", instance_id="b-1")
        until(blocker.started.is_set, "the step started")
        engine.start("reminder", instance_id="r-1")
        assert isinstance(engine.clock, VirtualClock)
        engine.clock.advance(60_000)  # the reminder's timer and the next tick fall due

        until(lambda: engine.get("r-1").value == "reminded", "the timer fired")
        until(lambda: len(delivered) == 1, "the message was delivered")
        until(lambda: len(engine.list(definition_id="ticked")) == 1, "the tick ran")
        assert not blocker.release.is_set()
        assert engine.get("b-1").value == "working"  # the step still runs
        fired = [e for e in engine.history("r-1") if e.event["type"].startswith("xstate.after")]
        assert len(fired) == 1

        blocker.release.set()
        until(lambda: engine.get("b-1").value == "done", "the step's result was applied")
    finally:
        blocker.release.set()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert not [t for t in threading.enumerate() if t.name == "statewright-steps"]


def test_a_step_committed_by_another_process_wakes_the_step_loop(engine: Engine) -> None:
    """The wake-up is taken by the other loop and passed on: the step loop, which polls
    only every minute here, starts the step without waiting for its poll."""
    blocker = Blocker()
    blocker.release.set()
    engine.register(Machine.from_config(BLOCKER, actors={"block": blocker}))
    worker = Worker(engine)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"poll_ms": 60_000, "stop": stop})
    thread.start()
    try:
        time.sleep(0.3)  # both loops sleep, up to a minute
        with Engine.open(engine.store.url, clock=engine.clock) as other:
            other.register(Machine.from_config(BLOCKER, actors={"block": blocker}))
            other.start("blocker", instance_id="b-2")
        until(lambda: engine.get("b-2").value == "done", "the step ran")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_stop_ends_both_loops_and_lets_the_running_step_finish(engine: Engine) -> None:
    blocker = Blocker()
    engine.register(Machine.from_config(BLOCKER, actors={"block": blocker}))
    worker = Worker(engine)
    stop = threading.Event()
    thread = running(worker, stop)
    engine.start("blocker", instance_id="b-1")
    engine.start("blocker", instance_id="b-2")
    until(lambda: blocker.calls == 2, "both steps started")  # both in hand at the stop
    stop.set()
    time.sleep(0.2)
    assert thread.is_alive()  # the steps in hand finish
    blocker.release.set()
    thread.join(30)
    assert not thread.is_alive()
    assert not [t for t in threading.enumerate() if t.name == "statewright-steps"]
    assert {engine.get(i).value for i in ("b-1", "b-2")} == {"done"}


@pytest.mark.parametrize("loop", ["steps", "timers"])
def test_a_fault_on_either_loop_stops_the_worker_and_is_raised(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, loop: str
) -> None:
    engine.register(Machine.from_config(REMINDER))
    worker = Worker(engine)

    def broken(*args: object, **kwargs: object) -> object:
        raise StoreError("the file is not a statewright database")

    if loop == "steps":
        monkeypatch.setattr(worker.steps, "run_batch", broken)
    else:
        monkeypatch.setattr(engine.store, "claim_timers", broken)
    stop = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            worker.run(poll_ms=50, stop=stop)
        except BaseException as error:
            failed.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert len(failed) == 1 and isinstance(failed[0], StoreError), failed
    assert stop.is_set()
    assert not [t for t in threading.enumerate() if t.name == "statewright-steps"]


def test_step_leases_are_renewed_while_a_listener_runs_on(engine: Engine) -> None:
    """A slow listener (the other loop) holds up no heartbeat: with a 300 ms lease and the
    clock moved a second on, the running step's lease is renewed past the new time, so no
    other worker could take the step over."""
    blocker = Blocker()
    in_listener, listener_release = threading.Event(), threading.Event()

    def slow(message: OutboxMessage) -> None:
        in_listener.set()
        listener_release.wait(60)

    engine.register(Machine.from_config(BLOCKER, actors={"block": blocker}))
    engine.register(Machine.from_config(REMINDER))
    worker = Worker(engine, step_lease_ms=300)
    worker.listen("note.*", slow, deadline_s=20)
    stop = threading.Event()
    thread = running(worker, stop)
    try:
        engine.start("blocker", instance_id="b-1")
        until(blocker.started.is_set, "the step started")
        engine.start("reminder", instance_id="r-1")
        assert isinstance(engine.clock, VirtualClock)
        engine.clock.advance(1_000)  # the timer falls due, and the step's first lease ends
        until(in_listener.is_set, "the listener was called")
        moved_to = engine.clock.now()

        def renewed() -> bool:
            (run,) = engine.store.steps("default", "b-1")
            return run.lease_until is not None and run.lease_until > moved_to

        until(renewed, "the step's lease was renewed past the moved clock")
        assert not listener_release.is_set() and not blocker.release.is_set()
    finally:
        blocker.release.set()
        listener_release.set()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
