"""What operators and outside callers do beside sending: the events an instance accepts now,
cancelling it, retrying a waiting step now, listing steps, timers and dead letters, redrive."""

from __future__ import annotations

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import (
    InstanceNotActive,
    NotFound,
    PayloadError,
    StepNotRetryable,
    VersionConflict,
)
from statewright.testing import VirtualClock

HOUR = 3_600_000

GATE = {
    "id": "gate",
    "initial": "closed",
    "states": {
        "closed": {
            "initial": "idle",
            "on": {
                "OPEN": {
                    "target": "open",
                    "guard": {"$expr": "event.code == 42"},
                    "statewright": {"roles": ["operator"]},
                },
                "alarm.*": {"actions": [{"type": "assign", "params": {"alarm": True}}]},
            },
            "states": {
                "idle": {"on": {"KNOCK": "knocked", "OPEN": {"target": "#gate.open"}}},
                "knocked": {
                    "on": {
                        "OPEN": {
                            "target": "#gate.open",
                            "guard": {"$expr": "event.code == 7"},
                            "statewright": {"roles": ["admin", "operator"]},
                        },
                        "NOISE": {},
                    }
                },
            },
        },
        "open": {"type": "final"},
    },
}


def test_accepted_lists_event_types_with_guards_roles_and_wildcards(engine: Engine) -> None:
    engine.register(Machine.from_config(GATE))
    engine.start("gate", instance_id="g-1")
    accepted = engine.accepted("g-1")
    assert (accepted.value, accepted.version, accepted.status) == ({"closed": "idle"}, 1, "active")
    events = {event.type: event for event in accepted.events}
    assert set(events) == {"KNOCK", "OPEN", "alarm.*"}
    # The child's unguarded OPEN shadows the parent's guarded one: anyone, no guard.
    assert (events["OPEN"].guarded, events["OPEN"].roles) == (False, None)
    assert events["OPEN"].targets == ("gate.open",)
    assert events["alarm.*"].wildcard and not events["KNOCK"].wildcard
    assert events["alarm.*"].targets == ()

    engine.send("g-1", "KNOCK")
    events = {event.type: event for event in engine.accepted("g-1").events}
    # Both OPENs are guarded now; only operators (and admins, for one of them) may send it;
    # NOISE is an empty transition: it blocks the event, so it is not accepted.
    assert set(events) == {"OPEN", "alarm.*"}
    assert events["OPEN"].guarded
    assert events["OPEN"].roles == ("admin", "operator")
    engine.send("g-1", {"type": "OPEN", "code": 42})
    done = engine.accepted("g-1")
    assert (done.status, done.events) == ("done", ())


def test_accepted_of_another_tenants_instance_is_not_found(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1", tenant="acme")
    with pytest.raises(NotFound, match="'o-1' in tenant 'globex'"):
        engine.accepted("o-1", tenant="globex")


def test_cancel_stops_the_instance_and_drops_its_timers_and_steps(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    engine.start("order", input={"amount": 5}, instance_id="o-2")
    engine.send("o-2", {"type": "APPROVE", "by": "ann"})
    assert engine.timers("o-1") and engine.steps("o-2")

    entry = engine.cancel("o-1", reason="customer called", actor="ann")
    assert (entry.seq, entry.status, entry.runtime_status) == (2, "stopped", "stopped")
    assert entry.event == {"type": "xstate.stop", "reason": "customer called"}
    assert entry.actor == "ann"
    order = engine.get("o-1")
    assert (order.status, order.runtime_status, order.value) == ("stopped", "stopped", "pending")
    assert engine.timers("o-1") == []
    engine.cancel("o-2")
    assert engine.steps("o-2") == []
    assert engine.get("o-2").runtime_status == "stopped"
    assert engine.verify("o-1").ok and engine.verify("o-2").ok


def test_cancel_of_a_finished_instance_says_so_and_changes_nothing(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    engine.send("o-1", "REJECT")
    with pytest.raises(InstanceNotActive, match="o-1 is done already") as refused:
        engine.cancel("o-1")
    assert (refused.value.status, refused.value.version) == ("done", 2)
    engine.start("order", input={"amount": 5}, instance_id="o-2")
    engine.cancel("o-2")
    with pytest.raises(InstanceNotActive, match="stopped already"):
        engine.cancel("o-2")
    assert len(engine.history("o-2")) == 2


def test_cancel_with_a_stale_expected_version_is_a_conflict(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    engine.send("o-1", {"type": "NOTE", "text": "hi"})
    with pytest.raises(VersionConflict, match="expected version 1, found 2"):
        engine.cancel("o-1", expected_version=1)
    assert engine.get("o-1").status == "active"


def _fail_once(engine: Engine, clock: VirtualClock, instance_id: str) -> None:
    """Claim the instance's step and record a failed attempt: it waits an hour to retry."""
    (run,) = [r for r in engine.store.claim_steps(clock.now(), 60_000, 10)]
    assert run.instance_id == instance_id
    engine.store.retry_step(run, next_attempt_at=clock.now() + HOUR, error="Timeout: slow")


def test_retry_makes_a_waiting_step_due_now(engine: Engine, clock: VirtualClock) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})
    _fail_once(engine, clock, "o-1")
    (waiting,) = engine.steps("o-1")
    assert (waiting.status, waiting.attempts, waiting.max_attempts) == ("retrying", 1, 3)
    assert (waiting.last_error, waiting.next_attempt_at) == ("Timeout: slow", clock.now() + HOUR)

    (run,) = engine.retry_step("o-1", "charge")
    assert (run.invoke_id, run.status, run.next_attempt_at) == ("charge", "retrying", clock.now())
    (claimed,) = engine.store.claim_steps(clock.now(), 60_000, 10)
    assert claimed.attempts == 2


def test_retry_refusals_say_exactly_why(engine: Engine, clock: VirtualClock) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")

    def refused(invoke_id: str | None = None) -> StepNotRetryable:
        with pytest.raises(StepNotRetryable) as caught:
            engine.retry_step("o-1", invoke_id)
        return caught.value

    assert refused().reason == "no_waiting_step"
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})
    pending = refused("charge")
    assert (pending.reason, pending.status) == ("pending", "pending")
    assert "first attempt is due already" in str(pending)
    missing = refused("chrage")
    assert missing.reason == "no_step" and 'did you mean "charge"?' in str(missing)
    (run,) = engine.store.claim_steps(clock.now(), 60_000, 10)
    running = refused("charge")
    assert running.reason == "running" and "running attempt 1" in str(running)
    assert "charge is running" in str(refused())
    engine.finish_step(run, error={"message": "declined"}, failed=True)
    gave_up = refused("charge")
    assert gave_up.reason == "gave_up" and "gave up" in str(gave_up)
    assert "(it accepts RETRY now)" in str(gave_up)  # the event that re-enters its state
    ended = refused("chrage")  # no unfinished step: the near miss is among the ended ones
    assert ended.reason == "no_step" and 'did you mean "charge"?' in str(ended)
    engine.send("o-1", "RETRY")
    (again,) = engine.store.claim_steps(clock.now(), 60_000, 10)
    engine.finish_step(again, output={"ok": True})
    finished = refused("charge")
    assert finished.reason == "not_active"  # the order is shipped: done


def test_steps_and_timers_list_per_tenant_with_cursors(engine: Engine) -> None:
    for number in range(5):
        engine.start("order", input={"amount": 5}, instance_id=f"o-{number}", tenant="acme")
    engine.start("order", input={"amount": 5}, instance_id="x-1", tenant="globex")
    first = engine.timers(tenant="acme", limit=2)
    assert [t.instance_id for t in first] == ["o-0", "o-1"]
    assert first[0].event == {"type": "xstate.after.48h.order.pending"}
    assert first.next_cursor is not None
    engine.start("order", input={"amount": 5}, instance_id="o-00", tenant="acme")  # meanwhile
    second = engine.timers(tenant="acme", limit=2, cursor=first.next_cursor)
    assert [t.instance_id for t in second] == ["o-2", "o-3"]
    last = engine.timers(tenant="acme", limit=2, cursor=second.next_cursor)
    assert [t.instance_id for t in last] == ["o-4"] and last.next_cursor is None
    with pytest.raises(PayloadError, match="another list or other filters"):
        engine.steps(tenant="acme", cursor=first.next_cursor)
    with pytest.raises(PayloadError, match="not one a list gave"):
        engine.timers(tenant="acme", cursor="garbage!")
    with pytest.raises(NotFound):
        engine.timers("x-1", tenant="acme")
    engine.send("o-1", {"type": "APPROVE", "by": "ann"}, tenant="acme")
    (run,) = engine.steps(tenant="acme")
    assert (run.instance_id, run.src, run.input) == ("o-1", "chargeCard", {"amount": 5})
    assert engine.steps(tenant="acme", status="running") == []


def test_dead_letters_are_listed_and_redriven(engine: Engine, clock: VirtualClock) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})
    (run,) = engine.store.claim_steps(clock.now(), 60_000, 10)
    engine.finish_step(run, output={"ok": True})
    (message,) = engine.store.due_outbox(clock.now(), 10)
    engine.store.outbox_failed(message, error="listener: boom", next_attempt_at=0, dead=True)

    (letter,) = engine.dead_letters()
    assert (letter.message_id, letter.event, letter.last_error) == (
        message.message_id,
        {"type": "order.shipped"},
        "listener: boom",
    )
    assert engine.dead_letters(event_type="other") == []
    assert engine.dead_letters(tenant="globex") == []
    assert engine.redrive(dry_run=True) == 1
    assert engine.dead_letters()  # a dry run changes nothing
    with pytest.raises(NotFound, match="no dead letter"):
        engine.redrive("default/o-1/99/0")
    assert engine.redrive(message.message_id) == 1
    assert engine.dead_letters() == []
    with pytest.raises(NotFound, match="is pending, not dead"):
        engine.redrive(message.message_id)
    assert engine.redrive() == 0


def test_cancel_needs_no_implementations(store_url: str, clock: VirtualClock) -> None:
    """A process without the machine's guards and actions (an operator's) can still cancel:
    stopping runs none of them."""
    guarded = {
        "id": "guarded",
        "initial": "a",
        "states": {"a": {"on": {"GO": {"target": "b", "guard": "ready"}}}, "b": {}},
    }
    with Engine.open(store_url, clock=clock) as owner:
        owner.register(Machine.from_config(guarded, guards={"ready": lambda c, e: True}))
        owner.start("guarded", instance_id="g-1")
    with Engine.open(store_url, clock=clock) as operator:
        entry = operator.cancel("g-1", reason="tidy up")
        assert (entry.status, operator.get("g-1").status) == ("stopped", "stopped")


def test_retry_of_a_step_that_finished_says_so(engine: Engine, clock: VirtualClock) -> None:
    looping = {
        "id": "looping",
        "initial": "work",
        "states": {
            "work": {"invoke": {"id": "job", "src": "chargeCard", "onDone": "idle"}},
            "idle": {"on": {"AGAIN": "work"}},
        },
    }
    engine.register(Machine.from_config(looping, actors={"chargeCard": lambda i: 1}))
    engine.start("looping", instance_id="l-1")
    (run,) = engine.store.claim_steps(clock.now(), 60_000, 10)
    engine.finish_step(run, output=1)
    with pytest.raises(StepNotRetryable, match="'job' finished with its output at version 2"):
        engine.retry_step("l-1", "job")
