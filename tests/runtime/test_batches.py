"""The engine's batch API, on which the worker's loops stand: many timers or step results
committed in one transaction, each with its own outcome. Time is virtual."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from statewright import Machine
from statewright.engine import AuditEntry, Engine
from statewright.engine.views import StepResult
from statewright.errors import NotFound, PayloadError, WorkGone
from statewright.testing import VirtualClock

APPROVAL = {
    "id": "approval",
    "initial": "waiting",
    "states": {
        "waiting": {
            "after": {"1h": {"guard": {"$expr": "false"}, "target": "never"}, "2h": "escalated"},
            "on": {"APPROVE": "approved"},
        },
        "never": {},
        "escalated": {"invoke": {"id": "notify", "src": "notify", "onDone": "approved"}},
        "approved": {"type": "final"},
    },
}


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(Machine.from_config(APPROVAL, actors={"notify": lambda _: None}))
        yield opened


def test_timers_of_one_instance_in_one_batch_fire_one_after_the_other(
    engine: Engine, clock: VirtualClock
) -> None:
    engine.start("approval", instance_id="a-1")
    clock.advance("3h")
    due = engine.store.due_timers(clock.now())

    outcomes = engine.fire_timers(due)

    assert [type(outcome) for outcome in outcomes] == [AuditEntry, AuditEntry]
    assert [entry.seq for entry in outcomes if isinstance(entry, AuditEntry)] == [2, 3]
    assert [str(entry.event["type"]) for entry in engine.history("a-1")[1:]] == [
        "xstate.after.1h.approval.waiting",
        "xstate.after.2h.approval.waiting",
    ]
    assert engine.get("a-1").value == "escalated"
    assert engine.verify("a-1").ok


def test_a_timer_gone_meanwhile_fails_alone(engine: Engine, clock: VirtualClock) -> None:
    for instance_id in ("a-1", "a-2", "a-3"):
        engine.start("approval", instance_id=instance_id)
    clock.advance("90m")
    due = engine.store.due_timers(clock.now())
    engine.send("a-2", "APPROVE")  # cancels a-2's timers after they were read

    outcomes = engine.fire_timers(due)

    assert [type(outcome) for outcome in outcomes] == [AuditEntry, WorkGone, AuditEntry]
    assert [len(engine.history(i)) for i in ("a-1", "a-2", "a-3")] == [2, 2, 2]


def test_step_results_commit_together_each_with_its_own_outcome(
    engine: Engine, clock: VirtualClock
) -> None:
    for instance_id in ("a-1", "a-2", "a-3"):
        engine.start("approval", instance_id=instance_id)
    clock.advance("3h")
    engine.fire_timers(engine.store.due_timers(clock.now()))
    claimed = sorted(engine.store.claim_steps(clock.now(), 60_000, 10), key=lambda r: r.instance_id)
    assert [run.instance_id for run in claimed] == ["a-1", "a-2", "a-3"]
    assert engine.step_functions(claimed) == [engine.step_function(run) for run in claimed]

    outcomes = engine.finish_steps(
        [
            StepResult(claimed[0], output={"sent": True}),
            StepResult(claimed[1], output={"not json": object()}),
            StepResult(claimed[2], error={"type": "Boom", "message": "no"}, failed=True),
        ]
    )

    assert [type(outcome) for outcome in outcomes] == [AuditEntry, PayloadError, AuditEntry]
    assert [engine.get(i).value for i in ("a-1", "a-2", "a-3")] == [
        "approved",
        "escalated",
        "escalated",
    ]
    assert engine.get("a-3").status == "error"  # nothing handles the step's error, as in XState
    assert [run.instance_id for run in engine.store.steps("default", "a-2")] == ["a-2"]


def test_work_for_a_missing_instance_is_not_found(engine: Engine, clock: VirtualClock) -> None:
    engine.start("approval", instance_id="a-1")
    clock.advance("3h")
    (timer, *_) = engine.store.due_timers(clock.now())
    lost = dataclasses.replace(timer, instance_id="x")

    (outcome,) = engine.fire_timers([lost])

    assert isinstance(outcome, NotFound)
    assert "no instance 'x'" in str(outcome)


def test_many_timers_of_one_instance_in_one_batch_all_fire(
    store_url: str, clock: VirtualClock
) -> None:
    never = {"guard": {"$expr": "false"}, "target": "never"}
    config = {
        "id": "reminders",
        "initial": "waiting",
        "states": {
            "waiting": {"after": {f"{n}s": never for n in range(1, 16)}},
            "never": {},
        },
    }
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(Machine.from_config(config))
        engine.start("reminders", instance_id="r-1")
        clock.advance("20s")

        outcomes = engine.fire_timers(engine.store.due_timers(clock.now()))

        assert [type(outcome) for outcome in outcomes] == [AuditEntry] * 15
        assert [entry.seq for entry in engine.history("r-1")] == list(range(1, 17))
        assert engine.store.pending_timers("default", "r-1") == []


def test_results_start_from_the_heads_step_functions_read_and_survive_a_stale_one(
    store_url: str, clock: VirtualClock
) -> None:
    """`finish_steps` does not read again the instances `step_functions` just read; if one
    moved meanwhile (another process sent it an event), its result is applied on the
    instance as it is now."""
    config = {
        "id": "pay",
        "initial": "paying",
        "context": {"notes": 0},
        "states": {
            "paying": {
                "invoke": {"id": "charge", "src": "charge", "onDone": "paid"},
                "on": {"NOTE": {"actions": {"type": "assign", "params": {"notes": 1}}}},
            },
            "paid": {"type": "final"},
        },
    }
    with (
        Engine.open(store_url, clock=clock) as engine,
        Engine.open(store_url, clock=clock) as other,
    ):
        for opened in (engine, other):
            opened.register(Machine.from_config(config, actors={"charge": lambda _: 1}))
        for instance_id in ("p-1", "p-2"):
            engine.start("pay", instance_id=instance_id)
        claimed = engine.store.claim_steps(clock.now(), 60_000, 10)
        engine.step_functions(claimed)
        other.send("p-2", "NOTE")  # p-2 moves on after its head was read
        reads: list[object] = []
        load_instances = engine.store.load_instances

        def counted(keys: list[tuple[str, str]]) -> object:
            reads.append(sorted(key[1] for key in keys))
            return load_instances(keys)

        engine.store.load_instances = counted  # type: ignore[method-assign]
        outcomes = engine.finish_steps([StepResult(run, output=1) for run in claimed])

        assert [type(outcome) for outcome in outcomes] == [AuditEntry, AuditEntry]
        assert reads == [[], ["p-2"]]  # nothing read first; p-2 afresh after its conflict
        assert [engine.get(i).value for i in ("p-1", "p-2")] == ["paid", "paid"]
        assert engine.get("p-2").context == {"notes": 1}
        assert [len(engine.history(i)) for i in ("p-1", "p-2")] == [2, 3]
