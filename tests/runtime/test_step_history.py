"""Failed step attempts in the history, the worker's INFO lines, and leases set per worker.
Time is virtual; the attempts themselves run in real time."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import pytest

from statewright import Machine
from statewright.engine import AuditEntry, Engine, StepAttempt
from statewright.runtime import WORKER_LOST, Worker
from statewright.testing import VirtualClock


class CardDeclined(Exception):
    """What the failing step raises."""


def payment(attempts: int) -> dict[str, object]:
    return {
        "id": "payment",
        "initial": "charging",
        "states": {
            "charging": {
                "invoke": {
                    "id": "charge",
                    "src": "charge",
                    "statewright": {"retry": {"attempts": attempts, "delay": "1s"}},
                    "onDone": "paid",
                    "onError": "review",
                },
            },
            "review": {},
            "paid": {"type": "final"},
        },
    }


@pytest.fixture
def open_engine(store_url: str, clock: VirtualClock) -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def open_(attempts: int, charge: Callable[..., object]) -> Engine:
        engine = Engine.open(store_url, clock=clock)
        engine.register(Machine.from_config(payment(attempts), actors={"charge": charge}))
        engines.append(engine)
        return engine

    yield open_
    for engine in engines:
        engine.close()


def _declines(times: int) -> Callable[[object], dict[str, object]]:
    calls: list[int] = []

    def charge(_: object) -> dict[str, object]:
        calls.append(1)
        if len(calls) <= times:
            raise CardDeclined(f"card declined (call {len(calls)})")
        return {"ok": True}

    return charge


def test_failed_attempts_appear_in_the_history_by_time_and_verify_ignores_them(
    open_engine: Callable[..., Engine], clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(3, _declines(5))
    engine.start("payment", instance_id="p-1", tenant="acme")
    worker = Worker(engine, concurrency=1)
    caplog.set_level(logging.INFO, logger="statewright.worker")

    for _ in range(3):
        worker.run_once()
        clock.advance("1m")

    assert engine.get("p-1", tenant="acme").value == "review"
    history = engine.history("p-1", tenant="acme", attempts=True)
    assert [entry.kind for entry in history] == [
        "transition", "step_attempt", "step_attempt", "step_attempt", "transition",
    ]  # fmt: skip
    attempts = [entry for entry in history if isinstance(entry, StepAttempt)]
    assert [(a.attempt, a.error_type, a.error_message) for a in attempts] == [
        (n, "CardDeclined", f"card declined (call {n})") for n in (1, 2, 3)
    ]
    assert all(a.src == "charge" and a.invoke_id == "charge" for a in attempts)
    assert all(a.duration_ms == 0 for a in attempts)  # the virtual clock stood still
    assert [a.at for a in attempts] == sorted(a.at for a in attempts)
    given_up = history[-1]
    assert isinstance(given_up, AuditEntry)
    assert given_up.event["type"] == "xstate.error.actor.charge"
    assert attempts[-1].at <= given_up.at
    # The plain history holds transitions only; replay is unaffected.
    assert engine.history("p-1", tenant="acme") == [
        entry for entry in history if isinstance(entry, AuditEntry)
    ]
    assert engine.step_attempts("p-1", tenant="acme") == attempts
    assert engine.verify("p-1", tenant="acme").ok

    lines = [r.getMessage() for r in caplog.records if r.name == "statewright.worker"]
    about = "p-1 (tenant acme) charge (charge)"
    assert [line for line in lines if line.startswith("step started: ")] == [
        f"step started: {about}, attempt {n}" for n in (1, 2, 3)
    ]
    failed = [line for line in lines if line.startswith("step failed: ")]
    assert [re.sub(r"\d+ ms", "N ms", line) for line in failed] == [
        f"step failed: {about}, attempt {n} of 3 in N ms: CardDeclined: card declined "
        f"(call {n}); retrying in N ms"
        for n in (1, 2)
    ]
    (given_up,) = [line for line in lines if line.startswith("step given up: ")]
    assert re.sub(r"\d+ ms", "N ms", given_up) == (
        f"step given up: {about}, attempt 3 of 3 in N ms: CardDeclined: card declined "
        "(call 3); no attempts left; sent xstate.error.actor.charge"
    )


def test_a_success_after_failures_logs_each_attempt(
    open_engine: Callable[..., Engine], clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(3, _declines(1))
    engine.start("payment", instance_id="p-1")
    worker = Worker(engine, concurrency=2)
    caplog.set_level(logging.INFO, logger="statewright.worker")

    worker.run_once()
    clock.advance("1m")
    worker.run_once()

    assert engine.get("p-1").status == "done"
    assert [a.attempt for a in engine.step_attempts("p-1")] == [1]
    lines = [r.getMessage() for r in caplog.records if r.name == "statewright.worker"]
    assert [re.sub(r"\d+ ms", "N ms", line) for line in lines if line.startswith("step ")] == [
        "step started: p-1 (tenant default) charge (charge), attempt 1",
        "step failed: p-1 (tenant default) charge (charge), attempt 1 of 3 in N ms: "
        "CardDeclined: card declined (call 1); retrying in N ms",
        "step started: p-1 (tenant default) charge (charge), attempt 2",
        "step succeeded: p-1 (tenant default) charge (charge), attempt 2 in N ms",
    ]


def test_a_run_taken_over_after_its_lease_is_logged_and_its_lost_attempt_kept(
    open_engine: Callable[..., Engine], clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(2, lambda _: {"ok": True})
    engine.start("payment", instance_id="p-1")
    engine.store.claim_steps(clock.now(), 30_000, 10)  # a worker that then dies
    caplog.set_level(logging.INFO, logger="statewright.worker")
    worker = Worker(engine)

    assert worker.run_once() == 0  # its lease holds
    clock.advance(30_000)
    worker.run_once()

    assert engine.get("p-1").status == "done"
    (lost,) = engine.step_attempts("p-1")
    assert (lost.attempt, lost.error_type, lost.started_at) == (1, WORKER_LOST, None)
    lines = [r.getMessage() for r in caplog.records if r.name == "statewright.worker"]
    assert (
        "step lease taken over: p-1 (tenant default) charge (charge), attempt 1: its worker "
        "stopped before it finished (its lease expired); claimed again here"
    ) in lines


def test_a_lost_last_attempt_gives_up_with_worker_lost_once_in_the_history(
    open_engine: Callable[..., Engine], clock: VirtualClock
) -> None:
    engine = open_engine(1, lambda _: {"ok": True})
    engine.start("payment", instance_id="p-1")
    engine.store.claim_steps(clock.now(), 30_000, 10)  # the only attempt's worker dies
    clock.advance(30_000)

    Worker(engine).run_once()

    assert engine.get("p-1").value == "review"
    history = engine.history("p-1", attempts=True)
    assert [entry.kind for entry in history] == ["transition", "step_attempt", "transition"]
    assert [(a.attempt, a.error_type) for a in engine.step_attempts("p-1")] == [(1, WORKER_LOST)]


def test_step_and_timer_leases_are_set_per_worker(store_url: str, clock: VirtualClock) -> None:
    def broken(_: object) -> bool:
        raise RuntimeError("guard broken")

    reminder = {
        "id": "reminder",
        "initial": "waiting",
        "states": {
            "waiting": {"after": {"1s": {"guard": "broken", "target": "done"}}},
            "done": {"type": "final"},
        },
    }
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(Machine.from_config(reminder, guards={"broken": broken}))
        engine.start("reminder", instance_id="r-1")
        clock.advance("1s")
        worker = Worker(engine, step_lease_ms=4_000, timer_lease_ms=2_000)
        worker.run_once()  # the guard raises: the timer stays claimed for its lease
        assert engine.store.claim_timers(clock.now() + 1_999, 60_000, 10) == []
        assert len(engine.store.claim_timers(clock.now() + 2_000, 60_000, 10)) == 1
        assert worker.steps.lease_ms == 4_000
        assert Worker(engine, lease_ms=7_000).steps.lease_ms == 7_000  # the older name
