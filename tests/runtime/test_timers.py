"""Durable timers on both backends: fired exactly once through the engine, cancelled by
leaving their state, fired late after downtime. Time is virtual."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import TransitionFailed
from statewright.runtime import Worker
from statewright.testing import VirtualClock

APPROVAL = {
    "id": "approval",
    "initial": "waiting",
    "context": {"reminders": 0},
    "states": {
        "waiting": {
            "after": {
                "1h": {
                    "guard": {"$expr": "context.reminders < 0"},
                    "target": "never",
                },
                "48h": "escalated",
            },
            "on": {
                "APPROVE": "approved",
                "REMIND": {
                    "actions": [
                        {
                            "type": "assign",
                            "params": {"reminders": {"$expr": "context.reminders + 1"}},
                        },
                        {"type": "raise", "params": {"event": {"type": "NUDGE"}, "delay": "2h"}},
                    ]
                },
                "NUDGE": {"actions": [{"type": "emit", "params": {"event": {"type": "nudged"}}}]},
            },
        },
        "never": {},
        "escalated": {"on": {"APPROVE": "approved"}},
        "approved": {"type": "final"},
    },
}


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(Machine.from_config(APPROVAL))
        yield opened


def events(engine: Engine, instance_id: str) -> list[str]:
    return [str(entry.event["type"]) for entry in engine.history(instance_id)]


def test_a_due_timer_fires_once_through_the_engine(engine: Engine, clock: VirtualClock) -> None:
    engine.start("approval", instance_id="a-1")
    worker = Worker(engine)

    clock.advance("47h")
    worker.run_once()
    clock.advance("1h")
    worker.run_once()
    worker.run_once()

    assert engine.get("a-1").value == "escalated"
    assert events(engine, "a-1") == [
        "xstate.init",
        "xstate.after.1h.approval.waiting",
        "xstate.after.48h.approval.waiting",
    ]
    assert engine.history("a-1")[-1].at == clock.now()
    assert engine.store.pending_timers("default", "a-1") == []
    assert engine.verify("a-1").ok


def test_a_guarded_timer_whose_guard_fails_is_consumed(engine: Engine, clock: VirtualClock) -> None:
    engine.start("approval", instance_id="a-1")
    clock.advance("1h")

    assert Worker(engine).run_once() == 1

    assert engine.get("a-1").value == "waiting"
    assert [t.timer_id for t in engine.store.pending_timers("default", "a-1")] == [
        "xstate.after.48h.approval.waiting"
    ]
    assert engine.get("a-1").runtime_status == "waiting"


def test_leaving_the_state_cancels_its_timers(engine: Engine, clock: VirtualClock) -> None:
    engine.start("approval", instance_id="a-1")
    engine.send("a-1", "APPROVE")

    clock.advance("72h")

    assert Worker(engine).run_once() == 0
    assert events(engine, "a-1") == ["xstate.init", "APPROVE"]


def test_timers_that_fell_due_during_downtime_fire_late_in_order(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    engine.start("approval", instance_id="a-1")
    engine.send("a-1", "REMIND")
    clock.advance("30d")

    with Engine.open(store_url, clock=clock) as restarted:
        restarted.register(Machine.from_config(APPROVAL))
        assert Worker(restarted).run_once() == 3

    assert events(engine, "a-1") == [
        "xstate.init",
        "REMIND",
        "xstate.after.1h.approval.waiting",
        "NUDGE",
        "xstate.after.48h.approval.waiting",
    ]
    assert engine.get("a-1").value == "escalated"
    assert [m.event for m in engine.store.outbox("default", "a-1")] == ['{"type":"nudged"}']


def test_racing_workers_fire_each_timer_exactly_once(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    for index in range(20):
        engine.start("approval", instance_id=f"a-{index}")
    clock.advance("49h")
    engines = [Engine.open(store_url, clock=clock) for _ in range(3)]
    counts: list[int] = []
    try:
        for other in engines:
            other.register(Machine.from_config(APPROVAL))
        threads = [
            threading.Thread(target=lambda e=e: counts.append(Worker(e).run_once()))
            for e in engines
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for other in engines:
            other.close()

    assert sum(counts) == 40
    for index in range(20):
        fired = [e for e in events(engine, f"a-{index}") if e.startswith("xstate.after")]
        assert fired == ["xstate.after.1h.approval.waiting", "xstate.after.48h.approval.waiting"]


@pytest.mark.parametrize("returned", [1e300, 10**30, float("nan")])
def test_a_named_delay_past_1000_years_refuses_the_event_by_name(
    store_url: str, clock: VirtualClock, returned: float
) -> None:
    config = {
        "id": "sleepy",
        "initial": "waiting",
        "states": {"waiting": {"after": {"later": "done"}}, "done": {"type": "final"}},
    }
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(Machine.from_config(config, delays={"later": lambda c, e: returned}))
        with pytest.raises(TransitionFailed, match="return milliseconds up to 31557600000000"):
            engine.start("sleepy", instance_id="s-1")
        assert engine.list(definition_id="sleepy") == []
