"""Eventless (`always`) transitions, and the bound statewright puts on their loops."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import LoopLimitError, Machine


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


INC = {"type": "assign", "params": {"count": {"$expr": "context.count + 1"}}}


def test_an_always_transition_is_taken_in_the_same_macrostep(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node("a", on={"GO": "b"}),
                "b": node("b", always={"target": "c", "actions": ["t_always"]}),
                "c": node("c", always={"target": "d"}),
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
    assert rec.take() == ["out_a", "in_b", "out_b", "t_always", "in_c", "out_c", "in_d"]
    assert [m.event for m in step.microsteps] == ["GO", "GO", "GO"]


def test_always_runs_in_the_initial_macrostep(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": node("a", always="b"), "b": node("b")},
        }
    )

    snapshot, _ = machine.initial_transition()

    assert snapshot.value == "b"
    assert snapshot.status == "active"
    assert rec.take() == ["in_a", "out_a", "in_b"]


def test_guarded_always_sees_the_context_assigned_on_entry(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "states": {
                "a": node("a", on={"GO": "check"}),
                "check": {
                    "entry": [INC],
                    "always": [
                        {"target": "many", "guard": {"$expr": "context.count >= 2"}},
                        {"target": "a", "actions": ["t_again"]},
                    ],
                },
                "many": node("many"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")
    assert (snapshot.value, snapshot.context) == ("a", {"count": 1})
    assert rec.take() == ["out_a", "t_again", "in_a"]

    snapshot, _ = machine.transition(snapshot, "GO")
    assert (snapshot.value, snapshot.context) == ("many", {"count": 2})
    assert snapshot.status == "active"
    assert rec.take() == ["out_a", "in_many"]


def test_an_ancestors_always_applies_to_its_descendants(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "context": {"stop": False},
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    always={
                        "target": "q",
                        "guard": {"$expr": "context.stop"},
                        "actions": ["t_stop"],
                    },
                    states={
                        "a": node(
                            "a",
                            on={
                                "STOP": {"actions": [{"type": "assign", "params": {"stop": True}}]}
                            },
                        )
                    },
                ),
                "q": node("q"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "STOP")

    assert snapshot.value == "q"
    assert snapshot.context == {"stop": True}
    assert rec.take() == ["out_a", "out_p", "t_stop", "in_q"]


def test_always_is_rechecked_after_an_event_nothing_handles(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node("a", always={"target": "b", "guard": {"$expr": "event.type == 'POKE'"}}),
                "b": node("b"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "POKE")

    assert step.snapshot.value == "b"
    assert step.selected is False
    assert rec.take() == ["out_a", "in_b"]


def test_eventless_transitions_run_before_raised_events(rec: Any) -> None:
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
                            "actions": [{"type": "raise", "params": {"event": {"type": "NEXT"}}}],
                        }
                    },
                ),
                "b": node("b", always={"target": "c", "actions": ["t_always"]}, on={"NEXT": "x"}),
                "c": node("c", on={"NEXT": {"target": "d", "actions": ["t_next"]}}),
                "d": node("d"),
                "x": node("x"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == "d"
    assert rec.take() == ["out_a", "in_b", "out_b", "t_always", "in_c", "out_c", "t_next", "in_d"]
    assert [m.event for m in step.microsteps] == ["GO", "GO", "NEXT"]


def test_always_in_two_regions_is_one_microstep(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "wait",
            "states": {
                "wait": node("wait", on={"GO": "p"}),
                "p": {
                    "type": "parallel",
                    "states": {
                        "r1": {
                            "initial": "a",
                            "states": {"a": node("a", always="b"), "b": node("b")},
                        },
                        "r2": {
                            "initial": "c",
                            "states": {"c": node("c", always="d"), "d": node("d")},
                        },
                    },
                },
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == {"p": {"r1": "b", "r2": "d"}}
    assert rec.take() == ["out_wait", "in_a", "in_c", "out_c", "out_a", "in_b", "in_d"]
    assert len(step.microsteps) == 2


def test_regions_are_checked_in_the_order_their_states_became_active(rec: Any) -> None:
    # XState's quirk, kept: eventless transitions are looked for in its active-node order,
    # where a newly entered state goes last. After r1 moved to b, r2's c comes first.
    ready = {"$expr": "context.go"}
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "context": {"go": False},
            "on": {"ARM": {"actions": [{"type": "assign", "params": {"go": True}}]}},
            "states": {
                "r1": {
                    "initial": "a",
                    "states": {
                        "a": node("a", on={"MOVE": "b"}),
                        "b": node(
                            "b", always={"guard": ready, "target": "b2", "actions": ["t_r1"]}
                        ),
                        "b2": node("b2"),
                    },
                },
                "r2": {
                    "initial": "c",
                    "states": {
                        "c": node("c", always={"guard": ready, "target": "d", "actions": ["t_r2"]}),
                        "d": node("d"),
                    },
                },
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "MOVE")
    rec.take()

    snapshot, _ = machine.transition(snapshot, "ARM")

    assert snapshot.value == {"r1": "b2", "r2": "d"}
    assert snapshot.context == {"go": True}
    assert rec.take() == ["out_c", "out_b", "t_r2", "t_r1", "in_b2", "in_d"]


def test_a_targetless_always_with_a_plain_action_runs_once_per_macrostep(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": node("a", always={"actions": ["t_always"]}, on={"PING": {}})},
        }
    )

    snapshot, _ = machine.initial_transition()
    assert snapshot.value == "a"
    assert rec.take() == ["in_a", "t_always"]

    snapshot, _ = machine.transition(snapshot, "PING")
    assert snapshot.status == "active"
    assert rec.take() == ["t_always"]


# -- the bounded loop ---------------------------------------------------------------------------


def test_a_targetless_assign_loop_stops_with_a_loop_limit_error(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "idle",
            "context": {"count": 0},
            "states": {
                "idle": node("idle", on={"GO": "spin"}),
                "spin": {"always": {"actions": [INC]}},
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    # The whole macrostep is discarded: the previous state and context, status error.
    assert step.snapshot.value == "idle"
    assert step.snapshot.context == {"count": 0}
    assert step.snapshot.status == "error"
    assert step.effects == ()
    assert rec.take() == ["out_idle"]
    error = step.snapshot.error
    assert isinstance(error, LoopLimitError)
    assert error.limit == 1000
    assert error.states == ("m.spin",)
    assert "m.spin" in str(error)
    assert "max_iterations" in str(error)


def test_a_cycle_of_always_transitions_names_every_state_in_it(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "idle",
            "states": {
                "idle": {"on": {"GO": "ping"}},
                "ping": node("ping", always="pong"),
                "pong": node("pong", always="ping"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.status == "error"
    assert step.snapshot.value == "idle"
    error = step.snapshot.error
    assert isinstance(error, LoopLimitError)
    assert set(error.states) == {"m.ping", "m.pong"}
    assert "m.ping" in str(error) and "m.pong" in str(error)
    # Every event after the error is ignored.
    later = machine.transition(step.snapshot, "GO")
    assert later.snapshot.status == "error"
    assert later.snapshot.value == "idle"


def test_a_loop_in_the_initial_macrostep_is_an_error_snapshot() -> None:
    machine = Machine.from_config(
        {
            "id": "m",
            "initial": "ping",
            "states": {"ping": {"always": "pong"}, "pong": {"always": "ping"}},
        }
    )

    snapshot, effects = machine.initial_transition()

    assert snapshot.status == "error"
    assert isinstance(snapshot.error, LoopLimitError)
    assert effects == ()


def counting_machine(rec: Any, max_iterations: int) -> Machine:
    """GO enters `count`, which loops through `always` until count reaches 20."""
    return rec.machine(
        {
            "id": "m",
            "initial": "idle",
            "context": {"count": 0},
            "states": {
                "idle": {"on": {"GO": "count"}},
                "count": {
                    "always": [
                        {"target": "done", "guard": {"$expr": "context.count >= 20"}},
                        {"target": "count", "reenter": True, "actions": [INC, "t_loop"]},
                    ]
                },
                "done": {},
            },
        },
        max_iterations=max_iterations,
    )


def test_max_iterations_bounds_the_loop(rec: Any) -> None:
    machine = counting_machine(rec, max_iterations=10)
    assert machine.max_iterations == 10
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.status == "error"
    assert snapshot.value == "idle"
    assert snapshot.context == {"count": 0}
    assert isinstance(snapshot.error, LoopLimitError)
    assert snapshot.error.limit == 10
    assert "m.count" in snapshot.error.states


def test_a_small_max_iterations_names_only_the_states_in_the_cycle(rec: Any) -> None:
    machine = counting_machine(rec, max_iterations=10)
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert isinstance(snapshot.error, LoopLimitError)
    assert snapshot.error.states == ("m.count",)


def test_a_loop_within_max_iterations_completes(rec: Any) -> None:
    machine = counting_machine(rec, max_iterations=50)
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.status == "active"
    assert snapshot.value == "done"
    assert snapshot.context == {"count": 20}
    assert rec.take() == ["t_loop"] * 20


def test_max_iterations_is_kept_by_provide(rec: Any) -> None:
    machine = counting_machine(rec, max_iterations=10).provide(guards={"unused": lambda c, e: True})

    assert machine.max_iterations == 10


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10"])
def test_max_iterations_must_be_a_positive_whole_number(bad: object) -> None:
    from statewright import DefinitionError

    with pytest.raises(DefinitionError, match="max_iterations"):
        Machine.from_config({"id": "m", "initial": "a", "states": {"a": {}}}, max_iterations=bad)  # type: ignore[arg-type]


def test_the_definitions_options_max_iterations_bounds_the_loop(rec: Any) -> None:
    config = counting_machine(rec, max_iterations=50).config
    machine = rec.machine({**config, "options": {"maxIterations": 10}})
    assert machine.max_iterations == 10
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert isinstance(snapshot.error, LoopLimitError)
    assert snapshot.error.limit == 10
    assert '"options": {"maxIterations": N}' in str(snapshot.error)


def test_max_iterations_given_in_python_wins_over_the_definitions_options(rec: Any) -> None:
    config = {**counting_machine(rec, max_iterations=50).config, "options": {"maxIterations": 10}}
    machine = rec.machine(config, max_iterations=50)
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert machine.max_iterations == 50
    assert snapshot.value == "done"


def test_options_max_iterations_is_kept_by_provide(rec: Any) -> None:
    config = {**counting_machine(rec, max_iterations=50).config, "options": {"maxIterations": 10}}

    machine = rec.machine(config).provide(guards={"unused": lambda c, e: True})

    assert machine.max_iterations == 10
