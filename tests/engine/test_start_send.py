"""Starting instances and sending events: each transition committed with its audit row and
the rows of its effects."""

from __future__ import annotations

from statewright.engine import Engine
from statewright.testing import VirtualClock

HOUR = 3_600_000


def test_start_commits_version_1_with_its_audit_row_and_timer(
    engine: Engine, clock: VirtualClock
) -> None:
    start = clock.now()
    order = engine.start("order", input={"amount": 50}, instance_id="o-1", actor="ann")

    assert (order.id, order.version, order.value, order.status) == ("o-1", 1, "pending", "active")
    assert order.context == {"amount": 50, "approvedBy": None}
    assert order.runtime_status == "waiting"
    (entry,) = engine.history("o-1")
    assert entry.seq == 1 and entry.actor == "ann"
    assert entry.event == {"type": "xstate.init", "input": {"amount": 50}}
    assert entry.from_value is None and entry.to_value == "pending"
    (timer,) = engine.store.pending_timers("default", "o-1")
    assert timer.timer_id == "xstate.after.48h.order.pending"
    assert timer.due_at == start + 48 * HOUR


def test_send_moves_the_instance_and_appends_to_the_log(engine: Engine) -> None:
    engine.start("order", input={"amount": 50}, instance_id="o-1")

    entry = engine.send("o-1", {"type": "APPROVE", "by": "ann"}, actor="ann")

    assert (entry.seq, entry.from_value, entry.to_value) == (2, "pending", "paying")
    assert entry.event == {"type": "APPROVE", "by": "ann"}
    order = engine.get("o-1")
    assert order.version == 2
    assert order.context["approvedBy"] == "ann"  # type: ignore[index]
    assert order.runtime_status == "running"
    assert [e.seq for e in engine.history("o-1")] == [1, 2]


def test_leaving_a_state_cancels_its_timer_and_starts_the_step(engine: Engine) -> None:
    engine.start("order", input={"amount": 50}, instance_id="o-1")
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})

    assert engine.store.pending_timers("default", "o-1") == []
    (step,) = engine.store.steps("default", "o-1")
    assert (step.invoke_id, step.src, step.state, step.status) == (
        "charge",
        "chargeCard",
        "order.paying",
        "pending",
    )
    assert step.input == '{"amount":50}'
    assert step.idempotency_key == "default/o-1/charge/2"
    assert step.retry is not None and '"attempts": 3' in step.retry


def test_step_results_are_delivered_as_events_and_the_final_state_emits(engine: Engine) -> None:
    engine.start("order", input={"amount": 50}, instance_id="o-1")
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})

    engine.deliver("o-1", {"type": "xstate.done.actor.charge", "output": {"ok": True}})

    order = engine.get("o-1")
    assert (order.value, order.status, order.runtime_status) == ("shipped", "done", "done")
    assert engine.store.steps("default", "o-1") == []
    (message,) = engine.store.outbox("default", "o-1")
    assert message.message_id == "default/o-1/3/0"
    assert message.event == '{"type":"order.shipped"}'
    assert message.status == "pending"


def test_a_due_timer_delivered_later_escalates(engine: Engine, clock: VirtualClock) -> None:
    engine.start("order", input={"amount": 50}, instance_id="o-1")
    (timer,) = engine.store.pending_timers("default", "o-1")
    start = clock.now()

    clock.advance("48h")
    engine.deliver("o-1", {"type": timer.timer_id})

    assert engine.get("o-1").value == "escalated"
    assert engine.store.pending_timers("default", "o-1") == []
    assert engine.history("o-1")[-1].at == start + 48 * HOUR


def test_reaching_a_final_state_drops_pending_timers(engine: Engine) -> None:
    engine.start("order", input={"amount": 50}, instance_id="o-1")
    engine.send("o-1", "REJECT")

    order = engine.get("o-1")
    assert (order.status, order.runtime_status) == ("done", "done")
    assert engine.store.pending_timers("default", "o-1") == []


def test_list_filters_by_runtime_status_and_definition(engine: Engine) -> None:
    for index in range(5):
        engine.start("order", input={"amount": index}, instance_id=f"o-{index}")
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})
    engine.send("o-2", "REJECT")

    assert [i.id for i in engine.list(runtime_status="waiting")] == ["o-0", "o-3", "o-4"]
    assert [i.id for i in engine.list(runtime_status="running")] == ["o-1"]
    assert [i.id for i in engine.list(status="done")] == ["o-2"]
    assert [i.id for i in engine.list(definition_id="order", after="o-2", limit=2)] == [
        "o-3",
        "o-4",
    ]


def test_verify_replays_the_log_to_the_stored_snapshot(engine: Engine) -> None:
    engine.start("order", input={"amount": 50}, instance_id="o-1")
    engine.send("o-1", {"type": "NOTE", "text": "call first"})
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})
    engine.deliver("o-1", {"type": "xstate.error.actor.charge", "error": {"message": "declined"}})
    engine.send("o-1", "RETRY")

    result = engine.verify("o-1")

    assert result.ok, result.problem
    assert result.checked == 5


def test_a_step_error_nothing_handles_puts_the_instance_in_error(engine: Engine) -> None:
    from statewright import Machine

    config = {
        "id": "bare",
        "initial": "run",
        "states": {
            "run": {"invoke": {"id": "job", "src": "job"}, "after": {"1h": "late"}},
            "late": {},
        },
    }
    engine.register(Machine.from_config(config, actors={"job": lambda input: None}))
    engine.start("bare", instance_id="b-1")

    entry = engine.deliver(
        "b-1", {"type": "xstate.error.actor.job", "error": {"message": "disk full"}}
    )

    instance = engine.get("b-1")
    assert (entry.status, instance.status, instance.runtime_status) == ("error", "error", "error")
    assert instance.snapshot.error == {"message": "disk full"}
    assert instance.value == "run"
    assert engine.store.steps("default", "b-1") == []
    assert engine.store.pending_timers("default", "b-1") == []
    assert engine.verify("b-1").ok
