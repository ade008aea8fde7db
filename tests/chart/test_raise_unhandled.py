"""A raised event that no state handles: accepted with a warning, dropped in its turn, and
recorded in the macrostep as a microstep with no transitions (as XState drops it)."""

from __future__ import annotations

from typing import Any

from statewright import Machine, ScheduleTimer


def raise_(event: str, **options: Any) -> dict[str, Any]:
    return {"type": "raise", "params": {"event": {"type": event}, **options}}


def handled_later_machine() -> Machine:
    """GO raises NOBODY (no state handles it), LATER (only `c` handles it) and NEXT."""
    return Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "target": "b",
                            "actions": [raise_("NOBODY"), raise_("LATER"), raise_("NEXT")],
                        }
                    }
                },
                "b": {"on": {"NEXT": "c"}},
                "c": {"on": {"LATER": "a"}},
            },
        }
    )


def test_the_drop_is_a_microstep_with_the_event_and_no_transitions() -> None:
    machine = handled_later_machine()
    assert [w.path for w in machine.warnings] == ["states.a.on.GO.actions[0].params.event"]
    snapshot, _ = machine.initial_transition()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == "c"
    assert [(m.event, m.dropped) for m in step.microsteps] == [
        ("GO", False),
        ("NOBODY", True),
        ("LATER", True),
        ("NEXT", False),
    ]
    dropped = [m.to_json() for m in step.microsteps if m.dropped]
    # An event no state handles and one only another state handles are recorded alike.
    assert dropped == [
        {"event": "NOBODY", "transitions": []},
        {"event": "LATER", "transitions": []},
    ]


def test_a_drop_in_the_initial_macrostep_is_recorded() -> None:
    machine = Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"entry": [raise_("NOBODY"), raise_("GO")], "on": {"GO": "b"}},
                "b": {},
            },
        }
    )

    step = machine.initial_transition()

    assert step.snapshot.value == "b"
    assert [(m.event, m.dropped) for m in step.microsteps] == [
        ("xstate.init", False),
        ("NOBODY", True),
        ("GO", False),
    ]


def test_a_delayed_raise_nobody_handles_is_scheduled_and_dropped_when_it_arrives() -> None:
    machine = Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"ARM": {"actions": [raise_("NOBODY", delay=500)]}}}},
        }
    )
    assert len(machine.warnings) == 1
    snapshot, _ = machine.initial_transition()
    armed, effects = machine.transition(snapshot, "ARM")
    (timer,) = effects
    assert isinstance(timer, ScheduleTimer)
    assert (timer.event, timer.delay_ms) == ({"type": "NOBODY"}, 500)

    step = machine.transition(armed, timer.event)

    assert not step.selected
    assert [m.to_json() for m in step.microsteps] == [{"event": "NOBODY", "transitions": []}]
    assert step.snapshot.value == armed.value
    assert step.snapshot.context == armed.context
    assert step.effects == ()
