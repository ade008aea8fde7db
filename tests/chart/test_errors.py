"""Errors thrown by actions, guards and expressions: status `error`, the previous state kept."""

from __future__ import annotations

from typing import Any

from statewright import ImplementationError, Machine
from statewright.testing import Actor


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def boom(context: Any, event: Any) -> None:
    raise RuntimeError("boom")


def explode(context: Any, event: Any) -> bool:
    raise ValueError("explode")


def error_machine(rec: Any, config: dict[str, Any]) -> Machine:
    machine: Machine = rec.machine(config, actions={"boom": boom}, guards={"explode": explode})
    return machine


def test_an_action_that_raises_keeps_the_previous_snapshot_with_status_error(
    rec: Any,
) -> None:
    machine = error_machine(
        rec,
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 0},
            "states": {
                "a": node(
                    "a",
                    after={"100": "b"},
                    on={
                        "GO": {
                            "target": "b",
                            "actions": [
                                {"type": "assign", "params": {"n": 1}},
                                "t_go",
                                "boom",
                                "t_never",
                            ],
                        }
                    },
                ),
                "b": node("b", after={"200": "a"}, invoke={"src": "job", "id": "job"}),
            },
        },
    )
    before, _ = machine.initial_transition()
    rec.take()

    after, effects = machine.transition(before, {"type": "GO", "x": 1})

    assert after.value == "a"
    assert after.context == {"n": 0}
    assert after.status == "error"
    # Everything the macrostep would have done is discarded: no timers, no steps.
    assert effects == ()
    assert after.children == {}
    # Provided actions run as XState runs them: those before the failing one did run.
    assert rec.take() == ["out_a", "t_go"]
    error = after.error
    assert isinstance(error, ImplementationError)
    assert (error.kind, error.name, error.state, error.event) == ("action", "boom", "m.a", "GO")
    assert isinstance(error.__cause__, RuntimeError)
    assert "boom" in str(error) and "m.a" in str(error) and "'GO'" in str(error)


def test_a_guard_that_raises_puts_the_machine_in_error(rec: Any) -> None:
    machine = error_machine(
        rec,
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", on={"GO": [{"target": "b", "guard": "explode"}, "c"]}),
                        "b": node("b"),
                        "c": node("c"),
                    },
                ),
            },
        },
    )
    before, _ = machine.initial_transition()
    rec.take()

    after, effects = machine.transition(before, "GO")

    assert after.value == {"p": "a"}
    assert after.status == "error"
    assert effects == ()
    assert rec.take() == []
    error = after.error
    assert isinstance(error, ImplementationError)
    assert (error.kind, error.name, error.state, error.event) == ("guard", "explode", "m.p.a", "GO")
    assert isinstance(error.__cause__, ValueError)


def test_an_expression_guard_that_fails_is_an_implementation_error(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"order": None},
            "states": {
                "a": {"on": {"GO": {"target": "b", "guard": {"$expr": "context.order.total > 5"}}}},
                "b": {},
            },
        }
    )
    before, _ = machine.initial_transition()

    after, _ = machine.transition(before, "GO")

    assert after.status == "error"
    assert after.value == "a"
    assert isinstance(after.error, ImplementationError)
    assert (after.error.kind, after.error.state, after.error.event) == ("guard", "m.a", "GO")
    assert "context.order.total > 5" in str(after.error)


def test_an_assign_expression_that_fails_is_an_implementation_error(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"order": None},
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "target": "b",
                            "actions": [
                                {
                                    "type": "assign",
                                    "params": {"total": {"$expr": "context.order.total"}},
                                },
                            ],
                        }
                    }
                },
                "b": {},
            },
        }
    )
    before, _ = machine.initial_transition()

    after, _ = machine.transition(before, "GO")

    assert after.status == "error"
    assert after.value == "a"
    assert isinstance(after.error, ImplementationError)
    assert (after.error.kind, after.error.name, after.error.state, after.error.event) == (
        "action",
        "assign",
        "m.a",
        "GO",
    )


def test_an_entry_action_failing_later_in_the_macrostep_discards_all_of_it(rec: Any) -> None:
    machine = error_machine(
        rec,
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 0},
            "states": {
                "a": node(
                    "a",
                    on={
                        "GO": {
                            "target": "b",
                            "actions": [
                                {"type": "assign", "params": {"n": 1}},
                                {"type": "raise", "params": {"event": {"type": "NEXT"}}},
                            ],
                        }
                    },
                ),
                "b": node("b", always="c"),
                "c": node("c", on={"NEXT": "d"}),
                "d": {"entry": ["in_d", "boom"]},
            },
        },
    )
    before, _ = machine.initial_transition()
    rec.take()

    after, effects = machine.transition(before, "GO")

    assert after.value == "a"
    assert after.context == {"n": 0}
    assert after.status == "error"
    assert effects == ()
    assert rec.take() == ["out_a", "in_b", "out_b", "in_c", "out_c", "in_d"]
    assert isinstance(after.error, ImplementationError)
    assert (after.error.name, after.error.state, after.error.event) == ("boom", "m.d", "NEXT")


def test_an_exit_action_that_raises_names_the_exited_state(rec: Any) -> None:
    machine = error_machine(
        rec,
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"exit": ["boom"], "on": {"GO": "b"}}, "b": node("b")},
        },
    )
    before, _ = machine.initial_transition()

    after, _ = machine.transition(before, "GO")

    assert after.value == "a"
    assert after.status == "error"
    assert isinstance(after.error, ImplementationError)
    assert (after.error.kind, after.error.name, after.error.state) == ("action", "boom", "m.a")
    assert rec.take() == []


def test_events_after_an_error_are_ignored(rec: Any) -> None:
    machine = error_machine(
        rec,
        {
            "id": "m",
            "initial": "a",
            "on": {"PING": {"actions": ["t_ping"]}},
            "states": {"a": {"on": {"GO": {"actions": ["boom"]}}}},
        },
    )
    snapshot, _ = machine.initial_transition()
    failed, _ = machine.transition(snapshot, "GO")
    assert failed.status == "error"

    step = machine.transition(failed, "PING")

    assert step.snapshot is failed
    assert step.effects == ()
    assert rec.take() == []
    assert failed.can("PING") is False
    assert failed.accepted_events == ()


def test_an_error_drops_the_pending_timers_of_the_testing_actor(rec: Any) -> None:
    machine = error_machine(
        rec,
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "after": {"100": {"actions": ["t_tick"]}},
                    "on": {"GO": {"actions": ["boom"]}},
                }
            },
        },
    )
    actor = Actor(machine).start()
    assert actor.pending_timers == ["xstate.after.100.m.a"]

    actor.send("GO")
    actor.advance(1000)

    assert actor.snapshot.status == "error"
    assert actor.pending_timers == []
    assert rec.take() == []


def test_an_error_snapshot_serialises_its_error_as_type_and_message(rec: Any) -> None:
    machine = error_machine(
        rec, {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": {"actions": ["boom"]}}}}}
    )
    snapshot, _ = machine.initial_transition()
    failed, _ = machine.transition(snapshot, "GO")

    data = failed.to_json()

    assert data["status"] == "error"
    assert data["error"] == {"type": "ImplementationError", "message": str(failed.error)}
    assert failed.to_json() == type(failed).from_json(machine, data).to_json()


# -- errors while starting ----------------------------------------------------------------------


def test_an_initial_entry_action_that_raises_gives_the_initial_value_in_error(
    rec: Any,
) -> None:
    machine = error_machine(
        rec,
        {
            "id": "m",
            "entry": ["in_m"],
            "initial": "a",
            "context": {"n": 1},
            "states": {
                "a": {"initial": "x", "states": {"x": {"entry": ["in_x", "boom", "t_never"]}}}
            },
        },
    )

    snapshot, effects = machine.initial_transition()

    assert snapshot.value == {"a": "x"}
    assert snapshot.context == {"n": 1}
    assert snapshot.status == "error"
    assert effects == ()
    assert rec.take() == ["in_m", "in_x"]
    assert isinstance(snapshot.error, ImplementationError)
    assert (snapshot.error.name, snapshot.error.state, snapshot.error.event) == (
        "boom",
        "m.a.x",
        "xstate.init",
    )


def test_an_initial_guard_that_raises_runs_no_action_at_all(rec: Any) -> None:
    # XState defers the first macrostep's actions until start(); computing it failed, so none
    # of them ran.
    machine = error_machine(
        rec,
        {
            "id": "m",
            "initial": "a",
            "states": {"a": node("a", always={"target": "b", "guard": "explode"}), "b": node("b")},
        },
    )

    snapshot, effects = machine.initial_transition()

    assert snapshot.value == "a"
    assert snapshot.status == "error"
    assert effects == ()
    assert rec.take() == []
    assert isinstance(snapshot.error, ImplementationError)
    assert snapshot.error.kind == "guard"


def test_a_failing_initial_macrostep_keeps_the_context_computed_from_input(rec: Any) -> None:
    machine = error_machine(
        rec,
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "states": {
                "a": {
                    "entry": [{"type": "assign", "params": {"count": 1}}],
                    "always": {"target": "b", "guard": "explode"},
                },
                "b": {},
            },
        },
    )

    snapshot, _ = machine.initial_transition()

    assert snapshot.status == "error"
    assert snapshot.value == "a"
    assert snapshot.context == {"count": 0}
