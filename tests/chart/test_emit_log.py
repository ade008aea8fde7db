"""`emit` (outbox messages as `Emit` effects) and `log` (`Log` effects)."""

from __future__ import annotations

from typing import Any

from statewright import Emit, ImplementationError, Log, ScheduleTimer, emit
from statewright.testing import Actor


def test_the_emit_built_in_produces_an_emit_effect_in_action_order(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"order": "A1", "total": 30},
            "states": {
                "a": {
                    "exit": [{"type": "emit", "params": {"event": {"type": "left"}}}],
                    "on": {
                        "SHIP": {
                            "target": "b",
                            "actions": [
                                "t_ship",
                                {
                                    "type": "emit",
                                    "params": {
                                        "event": {
                                            "type": "order.shipped",
                                            "order": {"$expr": "context.order"},
                                            "carrier": {"$expr": "event.carrier"},
                                            "lines": [{"$expr": "context.total"}, "literal"],
                                        }
                                    },
                                },
                            ],
                        }
                    },
                },
                "b": {"entry": [{"type": "emit", "params": {"event": "arrived"}}]},
            },
        }
    )
    snapshot, effects = machine.initial_transition()
    assert effects == ()

    snapshot, effects = machine.transition(snapshot, {"type": "SHIP", "carrier": "dhl"})

    assert snapshot.value == "b"
    assert snapshot.context == {"order": "A1", "total": 30}
    assert snapshot.status == "active"
    assert rec.take() == ["t_ship"]
    assert effects == (
        Emit(event={"type": "left"}),
        Emit(
            event={
                "type": "order.shipped",
                "order": "A1",
                "carrier": "dhl",
                "lines": [30, "literal"],
            }
        ),
        Emit(event={"type": "arrived"}),
    )


def test_emitted_events_keep_their_place_among_other_effects(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "actions": [
                                {"type": "emit", "params": {"event": {"type": "first"}}},
                                {
                                    "type": "raise",
                                    "params": {"event": {"type": "LATER"}, "delay": 10},
                                },
                                {"type": "emit", "params": {"event": {"type": "second"}}},
                            ]
                        },
                        "LATER": {},
                    }
                }
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    _, effects = machine.transition(snapshot, "GO")

    assert effects == (
        Emit(event={"type": "first"}),
        ScheduleTimer(id=None, delay_ms=10, event={"type": "LATER"}),
        Emit(event={"type": "second"}),
    )


def test_the_python_emit_helper_takes_a_dict_or_a_function(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 2},
            "states": {"a": {"on": {"GO": {"actions": ["fixed", "computed"]}}}},
        },
        actions={
            "fixed": emit({"type": "fixed"}),
            "computed": emit(
                lambda context, event: {"type": "computed", "n": context["n"] * event["k"]}
            ),
        },
    )
    snapshot, _ = machine.initial_transition()

    _, effects = machine.transition(snapshot, {"type": "GO", "k": 5})

    assert effects == (Emit(event={"type": "fixed"}), Emit(event={"type": "computed", "n": 10}))


def test_a_python_emit_that_raises_is_an_implementation_error(rec: Any) -> None:
    def broken(context: Any, event: Any) -> Any:
        raise KeyError("missing")

    machine = rec.machine(
        {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": {"actions": ["bad"]}}}}},
        actions={"bad": emit(broken)},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, "GO")

    assert snapshot.status == "error"
    assert effects == ()
    assert isinstance(snapshot.error, ImplementationError)
    assert snapshot.error.name == "bad"


def test_emitted_events_are_dropped_when_the_macrostep_fails(rec: Any) -> None:
    def boom(context: Any, event: Any) -> None:
        raise RuntimeError("boom")

    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "actions": [
                                {"type": "emit", "params": {"event": {"type": "never.sent"}}},
                                "boom",
                            ]
                        }
                    }
                }
            },
        },
        actions={"boom": boom},
    )
    actor = Actor(machine).start()

    actor.send("GO")

    assert actor.snapshot.status == "error"
    assert actor.emitted == []


def test_the_testing_actor_collects_emitted_events(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "entry": [{"type": "emit", "params": {"event": {"type": "started"}}}],
                    "after": {"100": "b"},
                },
                "b": {"entry": [{"type": "emit", "params": {"event": {"type": "timed.out"}}}]},
            },
        }
    )
    actor = Actor(machine).start()
    assert actor.emitted == [{"type": "started"}]

    actor.advance(100)

    assert actor.snapshot.value == "b"
    assert actor.emitted == [{"type": "started"}, {"type": "timed.out"}]


def test_the_log_built_in_produces_a_log_effect(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"total": 30},
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "target": "b",
                            "actions": [
                                "t_before",
                                {
                                    "type": "log",
                                    "params": {
                                        "message": "charging",
                                        "value": {
                                            "total": {"$expr": "context.total"},
                                            "by": {"$expr": "event.by"},
                                        },
                                    },
                                },
                                {
                                    "type": "log",
                                    "params": {
                                        "message": {"$expr": "'total is ' + str(context.total)"}
                                    },
                                },
                                {"type": "log"},
                                "t_after",
                            ],
                        }
                    }
                },
                "b": {},
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, {"type": "GO", "by": "ann"})

    assert snapshot.value == "b"
    assert snapshot.context == {"total": 30}
    assert snapshot.status == "active"
    assert rec.take() == ["t_before", "t_after"]
    assert effects == (
        Log(message="charging", value={"total": 30, "by": "ann"}),
        Log(message="total is 30", value=None),
        Log(message="", value=None),
    )


def test_the_testing_actor_collects_logs(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "entry": [{"type": "log", "params": {"message": "hello", "value": 1}}],
                }
            },
        }
    )

    actor = Actor(machine).start()

    assert actor.logs == [Log(message="hello", value=1)]
