"""Delayed (`after`) transitions: their timer effects, delay forms and timing on a clock."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import CancelTimer, DefinitionError, ImplementationError, Machine, ScheduleTimer
from statewright.testing import Actor


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def timer(key: str, state: str, delay: int) -> ScheduleTimer:
    event = f"xstate.after.{key}.{state}"
    return ScheduleTimer(id=event, delay_ms=delay, event={"type": event})


def simple(rec: Any, key: str = "1000", **implementations: Any) -> Machine:
    machine: Machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a", after={key: {"target": "b", "actions": ["t_after"]}}, on={"LEAVE": "c"}
                ),
                "b": node("b"),
                "c": node("c"),
            },
        },
        **implementations,
    )
    return machine


def test_entering_a_state_schedules_its_timer_and_leaving_cancels_it(rec: Any) -> None:
    machine = simple(rec)

    snapshot, effects = machine.initial_transition()
    assert effects == (timer("1000", "m.a", 1000),)
    assert rec.take() == ["in_a"]

    snapshot, effects = machine.transition(snapshot, "LEAVE")
    assert snapshot.value == "c"
    assert effects == (CancelTimer(id="xstate.after.1000.m.a"),)
    assert rec.take() == ["out_a", "in_c"]


def test_the_timer_event_takes_the_delayed_transition(rec: Any) -> None:
    machine = simple(rec)
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, effects = machine.transition(snapshot, {"type": "xstate.after.1000.m.a"})

    assert snapshot.value == "b"
    assert snapshot.context == {}
    assert snapshot.status == "active"
    # The fired timer is cancelled on exit like any other: a no-op for the runner.
    assert effects == (CancelTimer(id="xstate.after.1000.m.a"),)
    assert rec.take() == ["out_a", "t_after", "in_b"]


def test_the_timer_fires_when_its_delay_has_passed_on_the_clock(rec: Any) -> None:
    actor = Actor(simple(rec)).start()
    assert actor.pending_timers == ["xstate.after.1000.m.a"]
    rec.take()

    actor.advance(999)
    assert actor.snapshot.value == "a"
    assert rec.take() == []

    actor.advance(1)
    assert actor.snapshot.value == "b"
    assert actor.snapshot.status == "active"
    assert actor.pending_timers == []
    assert actor.clock.now() == 1000
    assert rec.take() == ["out_a", "t_after", "in_b"]


def test_leaving_the_state_first_means_the_timer_never_fires(rec: Any) -> None:
    actor = Actor(simple(rec)).start()
    actor.advance(500)
    actor.send("LEAVE")
    rec.take()

    actor.advance(10_000)

    assert actor.snapshot.value == "c"
    assert actor.pending_timers == []
    assert rec.take() == []


@pytest.mark.parametrize(
    ("key", "event_key", "milliseconds"),
    [
        ("1000", "1000", 1000),
        ("1e3", "1000", 1000),
        ("48h", "48h", 172_800_000),
        ("PT48H", "PT48H", 172_800_000),
        ("1d 12h", "1d 12h", 129_600_000),
        ("1.5s", "1.5s", 1500),
        ("250ms", "250ms", 250),
    ],
)
def test_after_keys_in_milliseconds_or_durations(
    rec: Any, key: str, event_key: str, milliseconds: int
) -> None:
    machine = simple(rec, key)

    snapshot, effects = machine.initial_transition()

    assert effects == (timer(event_key, "m.a", milliseconds),)
    assert snapshot.value == "a"


def test_a_fractional_delay_never_fires_early(rec: Any) -> None:
    actor = Actor(simple(rec, "2.5")).start()
    assert actor.snapshot.value == "a"

    actor.advance(2)

    assert actor.snapshot.value == "a"


def test_a_duration_fires_after_that_much_virtual_time(rec: Any) -> None:
    actor = Actor(simple(rec, "48h")).start()
    rec.take()

    actor.advance("47h")
    assert actor.snapshot.value == "a"
    actor.advance("PT1H")
    assert actor.snapshot.value == "b"
    assert rec.take() == ["out_a", "t_after", "in_b"]


def test_named_delays_are_numbers_or_functions_of_context_and_event(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"wait": 250},
            "states": {
                "a": node("a", on={"GO": "b"}),
                "b": node(
                    "b", after={"short": {"actions": ["t_short"]}, "fromContext": {"target": "c"}}
                ),
                "c": node("c"),
            },
        },
        delays={
            "short": 100,
            "fromContext": lambda context, event: context["wait"] + event["extra"],
        },
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, {"type": "GO", "extra": 50})

    assert effects == (timer("short", "m.b", 100), timer("fromContext", "m.b", 300))
    actor = Actor(machine).start()
    actor.send({"type": "GO", "extra": 50})
    rec.take()
    actor.advance(100)
    assert rec.take() == ["t_short"]
    actor.advance(200)
    assert actor.snapshot.value == "c"
    assert rec.take() == ["out_b", "in_c"]


def test_a_named_delay_wins_over_reading_the_key_as_a_duration(rec: Any) -> None:
    machine = simple(rec, "5m", delays={"5m": 7})

    _, effects = machine.initial_transition()

    assert effects == (timer("5m", "m.a", 7),)


def test_an_unknown_delay_name_is_a_missing_implementation() -> None:
    machine = Machine.from_config(
        {"id": "m", "initial": "a", "states": {"a": {"after": {"soon": "b"}}, "b": {}}}
    )

    with pytest.raises(DefinitionError, match="delay 'soon' is not provided"):
        machine.initial_transition()


def test_several_delays_of_one_state_each_fire_in_order(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    after={
                        "300": {"target": "b", "actions": ["t_300"]},
                        "100": {"actions": ["t_100"]},
                        "200": {"actions": ["t_200"]},
                    },
                ),
                "b": node("b"),
            },
        }
    )
    actor = Actor(machine).start()
    assert [e.id for e in actor.effects] == [
        "xstate.after.300.m.a",
        "xstate.after.100.m.a",
        "xstate.after.200.m.a",
    ]
    rec.take()

    actor.advance(1000)

    assert actor.snapshot.value == "b"
    assert rec.take() == ["t_100", "t_200", "out_a", "t_300", "in_b"]


def test_equal_due_times_fire_in_creation_order(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": {"after": {"100": {"actions": ["t_r1"]}}},
                "r2": {"after": {"100": {"actions": ["t_r2"]}}},
                "r3": {"after": {"50": {"actions": ["t_r3"]}}},
            },
        }
    )
    actor = Actor(machine).start()

    actor.advance(100)

    assert rec.take() == ["t_r3", "t_r1", "t_r2"]


def test_a_guarded_delayed_transition_whose_guards_fail_is_consumed(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"ready": False},
            "states": {
                "a": node(
                    "a",
                    after={
                        "100": [
                            {
                                "target": "b",
                                "guard": {"$expr": "context.ready"},
                                "actions": ["t_ready"],
                            },
                        ]
                    },
                ),
                "b": node("b"),
            },
        }
    )
    actor = Actor(machine).start()
    rec.take()

    actor.advance(1000)

    assert actor.snapshot.value == "a"
    assert actor.snapshot.status == "active"
    assert actor.pending_timers == []
    assert rec.take() == []


def test_a_non_reentering_self_transition_keeps_the_timer_and_reenter_restarts_it(
    rec: Any,
) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    after={"100": "b"},
                    on={"SELF": "a", "RESTART": {"target": "a", "reenter": True}},
                ),
                "b": node("b"),
            },
        }
    )
    actor = Actor(machine).start()
    actor.advance(60)
    actor.send("SELF")
    actor.advance(40)
    assert actor.snapshot.value == "b"

    actor = Actor(machine).start()
    actor.advance(60)
    actor.send("RESTART")
    actor.advance(40)
    assert actor.snapshot.value == "a"
    actor.advance(60)
    assert actor.snapshot.value == "b"


def test_a_timer_started_during_an_advance_counts_from_the_end_of_it(rec: Any) -> None:
    # XState's SimulatedClock moves to the end of the advance before firing anything, so a
    # timer created by a fired timer starts at the new time.
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node("a", after={"100": "b"}),
                "b": node("b", after={"100": "c"}),
                "c": node("c"),
            },
        }
    )
    actor = Actor(machine).start()
    rec.take()

    actor.advance(500)
    assert actor.snapshot.value == "b"
    assert rec.take() == ["out_a", "in_b"]

    actor.advance(99)
    assert actor.snapshot.value == "b"
    actor.advance(1)
    assert actor.snapshot.value == "c"
    assert rec.take() == ["out_b", "in_c"]


def test_a_delay_function_that_raises_puts_the_machine_in_error(rec: Any) -> None:
    def broken(context: Any, event: Any) -> int:
        raise KeyError("wait")

    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": node("a", on={"GO": "b"}), "b": node("b", after={"later": "a"})},
        },
        delays={"later": broken},
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.status == "error"
    assert step.snapshot.value == "a"
    assert step.effects == ()
    assert rec.take() == ["out_a", "in_b"]
    error = step.snapshot.error
    assert isinstance(error, ImplementationError)
    assert (error.kind, error.name, error.state, error.event) == ("delay", "later", "m.b", "GO")


def test_a_delay_function_must_return_milliseconds(rec: Any) -> None:
    machine = rec.machine(
        {"id": "m", "initial": "a", "states": {"a": {"after": {"later": "b"}}, "b": {}}},
        delays={"later": lambda context, event: "soon"},
    )

    snapshot, _ = machine.initial_transition()

    assert snapshot.status == "error"
    assert isinstance(snapshot.error, ImplementationError)
    assert "milliseconds" in str(snapshot.error)


def test_pending_timers_are_listed_in_the_order_they_will_fire(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": {
                    "initial": "a",
                    "after": {"2000": "q"},
                    "states": {"a": {"after": {"1000": "b"}}, "b": {}},
                },
                "q": {},
            },
        }
    )

    actor = Actor(machine).start()

    assert actor.pending_timers == ["xstate.after.1000.m.p.a", "xstate.after.2000.m.p"]
