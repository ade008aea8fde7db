"""An idle worker sleeps until the earliest due item it knows of: a timer, a step's retry, an
outbox message's retry, or a tick of its own cron schedules; the poll is only the latest.

The sleep is faked: `Store.wait_for_work` (the only way the worker sleeps) advances a fake
monotonic clock by the slice it was asked for, so the test reads how long the worker would
have slept, to the millisecond, without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.runtime import worker as worker_module
from statewright.runtime.retry import RetryPolicy
from statewright.testing import VirtualClock

MINUTE = 60_000
#: 13 s past a whole minute: the next "* * * * *" tick is 47 s away.
START = 1_700_000_040_000 + 13_000
POLL_MS = 10 * MINUTE

TIMER = {
    "id": "timer",
    "initial": "wait",
    "states": {"wait": {"after": {"d": "done"}}, "done": {"type": "final"}},
}


@pytest.fixture
def engine(tmp_path: object) -> Iterator[Engine]:
    with Engine.open(f"sqlite:///{tmp_path}/wait.db", clock=VirtualClock(START)) as opened:
        yield opened


class FakeSleep:
    """Stands in for the worker's sleep: the total it asked for, in ms."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
        self.now = 0.0
        self.slept_ms = 0.0
        monkeypatch.setattr(worker_module.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(engine.store, "wait_for_work", self.wait)

    def wait(self, timeout_s: float) -> bool:
        self.now += timeout_s
        self.slept_ms += timeout_s * 1000
        return False


def idle_wait(engine: Engine, worker: Worker, monkeypatch: pytest.MonkeyPatch) -> float:
    """Run one round (nothing due), then the worker's wait; how long it slept, in ms."""
    worker.run_once()
    sleep = FakeSleep(monkeypatch, engine)
    worker._wait(POLL_MS, worker_module.threading.Event())
    return round(sleep.slept_ms)


def every_minute(worker: Worker) -> None:
    worker.schedule({"name": "tick", "cron": "* * * * *", "action": {"start": "timer"}})


def test_the_wait_ends_at_the_next_tick_of_a_schedule(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.register(Machine.from_config(TIMER, delays={"d": 5 * MINUTE}))
    worker = Worker(engine)
    every_minute(worker)
    assert idle_wait(engine, worker, monkeypatch) == 47_000


def test_the_wait_ends_at_the_earliest_of_a_timer_and_a_tick(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.register(Machine.from_config(TIMER, delays={"d": 2_500}))
    engine.start("timer", instance_id="soon")
    worker = Worker(engine)
    every_minute(worker)
    assert idle_wait(engine, worker, monkeypatch) == 2_500


def test_a_tick_sooner_than_a_timer_ends_the_wait(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.register(Machine.from_config(TIMER, delays={"d": 3 * MINUTE}))
    engine.start("timer", instance_id="later")
    worker = Worker(engine)
    every_minute(worker)
    assert idle_wait(engine, worker, monkeypatch) == 47_000


def test_after_a_tick_ran_the_wait_is_until_the_next_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.register(Machine.from_config(TIMER, delays={"d": 5 * MINUTE}))
    worker = Worker(engine)
    every_minute(worker)
    worker.run_once()
    assert isinstance(engine.clock, VirtualClock)
    engine.clock.advance(47_000 + 250)  # the tick is due
    assert worker.run_once() == 1
    assert idle_wait(engine, worker, monkeypatch) == MINUTE - 250


def test_without_schedules_nor_due_work_the_wait_is_the_poll(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.register(Machine.from_config(TIMER, delays={"d": 5 * MINUTE}))
    assert idle_wait(engine, Worker(engine), monkeypatch) == POLL_MS


def fails(data: object) -> None:
    raise RuntimeError("down")


def refuse(message: object) -> None:
    raise RuntimeError("refused")


STEP = {
    "id": "step",
    "initial": "run",
    "states": {
        "run": {
            "entry": {"type": "emit", "params": {"event": {"type": "note.sent"}}},
            "invoke": {
                "src": "fails",
                "onDone": "done",
                "onError": "done",
                "statewright": {
                    "retry": {"attempts": 3, "delay": 4_000, "backoff": "fixed", "jitter": False}
                },
            },
        },
        "done": {"type": "final"},
    },
}


def test_a_step_retry_ends_the_wait(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    engine.register(Machine.from_config(STEP, actors={"fails": fails}))
    engine.start("step", instance_id="s")
    worker = Worker(engine, concurrency=1)
    every_minute(worker)
    assert idle_wait(engine, worker, monkeypatch) == 4_000


@pytest.mark.parametrize(("outbox_ms", "waited"), [(1_500, 1_500), (6_000, 4_000)])
def test_an_outbox_retry_or_a_step_retry_ends_the_wait_whichever_is_first(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, outbox_ms: int, waited: int
) -> None:
    engine.register(Machine.from_config(STEP, actors={"fails": fails}))
    engine.start("step", instance_id="s")
    worker = Worker(engine, concurrency=1)
    worker.outbox.policy = RetryPolicy(delay_ms=outbox_ms, backoff="fixed", jitter=False)
    worker.listen("note.*", refuse)
    every_minute(worker)
    assert idle_wait(engine, worker, monkeypatch) == waited
