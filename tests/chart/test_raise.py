"""`raise` (immediate and delayed) and `cancel`."""

from __future__ import annotations

from typing import Any

from statewright import CancelTimer, ScheduleTimer
from statewright.testing import Actor


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def raise_(event: Any, **options: Any) -> dict[str, Any]:
    return {"type": "raise", "params": {"event": event, **options}}


def test_raised_events_are_processed_in_order_after_the_current_microstep(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    on={
                        "GO": {
                            "target": "b",
                            "actions": [
                                raise_({"type": "ONE"}),
                                raise_("TWO"),
                                "t_go",
                            ],
                        }
                    },
                ),
                "b": node("b", on={"ONE": {"target": "c", "actions": ["t_one"]}}),
                "c": node("c", on={"TWO": {"target": "d", "actions": ["t_two"]}}),
                "d": node("d"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == "d"
    assert step.snapshot.context == {}
    assert step.snapshot.status == "active"
    assert step.effects == ()
    assert rec.take() == [
        "out_a",
        "t_go",
        "in_b",
        "out_b",
        "t_one",
        "in_c",
        "out_c",
        "t_two",
        "in_d",
    ]
    assert [m.event for m in step.microsteps] == ["GO", "ONE", "TWO"]


def test_a_raise_in_an_entry_action_runs_in_the_initial_macrostep(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "entry": ["in_a", raise_("READY")],
                    "on": {"READY": {"target": "b", "actions": ["t_ready"]}},
                },
                "b": node("b"),
            },
        }
    )

    snapshot, _ = machine.initial_transition()

    assert snapshot.value == "b"
    assert rec.take() == ["in_a", "t_ready", "in_b"]


def test_a_raised_event_carries_data_evaluated_when_it_is_raised(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 1, "got": None},
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "actions": [
                                raise_(
                                    {
                                        "type": "REPORT",
                                        "n": {"$expr": "context.n"},
                                        "from": {"$expr": "event.who"},
                                    }
                                ),
                                {"type": "assign", "params": {"n": 99}},
                            ]
                        },
                        "REPORT": {
                            "actions": [
                                {
                                    "type": "assign",
                                    "params": {"got": {"$expr": "[event.n, event['from']]"}},
                                }
                            ]
                        },
                    }
                }
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, {"type": "GO", "who": "ann"})

    assert snapshot.context == {"n": 99, "got": [1, "ann"]}


def test_a_delayed_raise_is_a_timer_effect(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"order": "A1"},
            "states": {
                "a": {
                    "on": {
                        "REMIND": {
                            "actions": [
                                raise_(
                                    {"type": "NUDGE", "order": {"$expr": "context.order"}},
                                    delay="5m",
                                    id="nudge",
                                )
                            ]
                        },
                        "LATER": {"actions": [raise_("PING", delay=250)]},
                        "NUDGE": {"actions": ["t_nudge"]},
                        "PING": {"actions": ["t_ping"]},
                    }
                }
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, "REMIND")
    assert effects == (
        ScheduleTimer(id="nudge", delay_ms=300_000, event={"type": "NUDGE", "order": "A1"}),
    )
    assert rec.take() == []

    snapshot, effects = machine.transition(snapshot, "LATER")
    # Without an id the timer is anonymous: nothing can cancel it.
    assert effects == (ScheduleTimer(id=None, delay_ms=250, event={"type": "PING"}),)


def test_a_delayed_raise_is_delivered_after_its_delay(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "target": "b",
                            "actions": [raise_("TIMEOUT", delay="soon"), raise_("PING", delay=50)],
                        }
                    }
                },
                "b": node(
                    "b",
                    on={
                        "TIMEOUT": {"target": "c", "actions": ["t_timeout"]},
                        "PING": {"actions": ["t_ping"]},
                    },
                ),
                "c": node("c"),
            },
        },
        delays={"soon": 100},
    )
    actor = Actor(machine).start()
    actor.send("GO")
    rec.take()

    actor.advance(99)
    assert actor.snapshot.value == "b"
    assert rec.take() == ["t_ping"]

    actor.advance(1)
    assert actor.snapshot.value == "c"
    assert rec.take() == ["out_b", "t_timeout", "in_c"]


def test_a_delayed_raise_survives_leaving_the_state_that_raised_it(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"entry": [raise_("LATE", delay=100)], "on": {"GO": "b"}},
                "b": node("b", on={"LATE": {"target": "c", "actions": ["t_late"]}}),
                "c": node("c"),
            },
        }
    )
    actor = Actor(machine).start()
    snapshot = actor.send("GO")
    assert snapshot.value == "b"
    assert not any(isinstance(e, CancelTimer) for e in actor.effects)
    rec.take()

    actor.advance(100)

    assert actor.snapshot.value == "c"
    assert rec.take() == ["out_b", "t_late", "in_c"]


def test_cancel_drops_a_pending_delayed_raise(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "ARM": {
                            "actions": [
                                raise_("FIRE", delay=100, id="t1"),
                                raise_("OTHER", delay=100, id="t2"),
                            ]
                        },
                        "DISARM": {"actions": [{"type": "cancel", "params": {"id": "t1"}}]},
                        "FIRE": {"actions": ["t_fire"]},
                        "OTHER": {"actions": ["t_other"]},
                    }
                }
            },
        }
    )
    actor = Actor(machine).start()
    actor.send("ARM")

    _, effects = machine.transition(actor.snapshot, "DISARM")
    assert effects == (CancelTimer(id="t1"),)
    actor.send("DISARM")
    actor.advance(100)

    assert rec.take() == ["t_other"]
    assert actor.snapshot.value == "a"


def test_cancel_in_the_same_macrostep_drops_the_schedule(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "BOTH": {
                            "actions": [
                                raise_("FIRE", delay=100, id="t1"),
                                {"type": "cancel", "params": {"id": "t1"}},
                            ]
                        },
                        "FIRE": {"actions": ["t_fire"]},
                    }
                }
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, "BOTH")

    assert effects == (CancelTimer(id="t1"),)
    actor = Actor(machine).start()
    actor.send("BOTH")
    actor.advance(1000)
    assert rec.take() == []


def test_cancelling_an_unknown_id_is_a_no_op(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "STOP": {
                            "actions": [
                                {"type": "cancel", "params": {"id": "nothing"}},
                                "t_stop",
                            ]
                        }
                    }
                }
            },
        }
    )
    actor = Actor(machine).start()

    snapshot = actor.send("STOP")

    assert snapshot.status == "active"
    assert rec.take() == ["t_stop"]


def test_rescheduling_a_pending_id_replaces_the_old_timer(rec: Any) -> None:
    # A deliberate difference: XState lets the old timer fire too.
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "ARM": {"actions": [raise_("FIRE", delay=100, id="t")]},
                        "FIRE": {"actions": ["t_fire"]},
                    }
                }
            },
        }
    )
    actor = Actor(machine).start()
    actor.send("ARM")
    actor.advance(50)
    actor.send("ARM")

    actor.advance(50)
    assert rec.take() == []
    actor.advance(50)
    assert rec.take() == ["t_fire"]
    actor.advance(1000)
    assert rec.take() == []


def test_raised_events_left_when_the_machine_is_done_are_dropped(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "on": {"AFTER": {"actions": ["t_after"]}},
            "states": {
                "a": {"on": {"GO": {"target": "f", "actions": [raise_("AFTER")]}}},
                "f": node("f", type="final"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.status == "done"
    assert rec.take() == ["in_f", "out_f"]
    assert [m.event for m in step.microsteps] == ["GO"]
