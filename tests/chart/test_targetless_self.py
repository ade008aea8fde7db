"""Targetless transitions (actions only) and self transitions (`a -> a`)."""

from __future__ import annotations

from typing import Any

from statewright import assign
from statewright.testing import Actor


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def test_a_targetless_transition_runs_its_actions_and_exits_nothing(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "context": {"count": 0},
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", after={"500": "b"}),
                        "b": node("b"),
                    },
                    on={"TICK": {"actions": ["t_tick", "inc"]}},
                ),
            },
        },
        actions={"inc": assign(lambda context, event: {"count": context["count"] + 1})},
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "TICK")

    assert step.snapshot.value == {"p": "a"}
    assert step.snapshot.context == {"count": 1}
    assert step.snapshot.status == "active"
    assert step.effects == ()
    assert rec.take() == ["t_tick"]
    assert step.microsteps[0].to_json()["transitions"] == [
        {"source": "m.p", "targets": None, "path": "states.p.on.TICK"},
    ]


def test_a_targetless_transition_keeps_the_running_timer(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node("a", after={"500": "b"}, on={"TICK": {"actions": ["t_tick"]}}),
                "b": node("b"),
            },
        }
    )
    actor = Actor(machine).start()
    rec.take()

    actor.advance(300)
    actor.send("TICK")
    assert actor.snapshot.value == "a"
    assert rec.take() == ["t_tick"]

    actor.advance(199)
    assert actor.snapshot.value == "a"
    actor.advance(1)
    assert actor.snapshot.value == "b"
    assert actor.snapshot.status == "active"
    assert rec.take() == ["out_a", "in_b"]


def test_targetless_and_targeted_transitions_in_parallel_regions(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": node(
                    "r1",
                    initial="a",
                    states={
                        "a": node("a", on={"GO": {"actions": ["t_r1"]}}),
                    },
                ),
                "r2": node(
                    "r2",
                    initial="c",
                    states={
                        "c": node("c", on={"GO": {"target": "d", "actions": ["t_r2"]}}),
                        "d": node("d"),
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"r1": "a", "r2": "d"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_c", "t_r1", "t_r2", "in_d"]


def test_an_atomic_self_transition_runs_only_its_actions(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 1},
            "states": {
                "a": node(
                    "a",
                    after={"500": "b"},
                    on={
                        "SELF": {
                            "target": "a",
                            "actions": [
                                "t_self",
                                {"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}},
                            ],
                        },
                    },
                ),
                "b": node("b"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, effects = machine.transition(snapshot, "SELF")

    assert snapshot.value == "a"
    assert snapshot.context == {"n": 2}
    assert snapshot.status == "active"
    assert effects == ()
    assert rec.take() == ["t_self"]


def test_a_self_transition_from_a_compound_state_restarts_its_children(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="x",
                    on={"RESET": {"target": "p", "actions": ["t_reset"]}},
                    states={"x": node("x", on={"NEXT": "y"}), "y": node("y")},
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "NEXT")
    rec.take()

    snapshot, _ = machine.transition(snapshot, "RESET")

    assert snapshot.value == {"p": "x"}
    assert rec.take() == ["out_y", "t_reset", "in_x"]


def test_a_transition_that_only_has_a_guard_does_nothing_but_blocks(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": {
                    "initial": "a",
                    "on": {"GO": {"target": "q", "actions": ["t_parent"]}},
                    "states": {"a": {"on": {"GO": {"guard": {"$expr": "true"}}}}},
                },
                "q": {},
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == {"p": "a"}
    assert step.selected is True
    assert rec.take() == []
