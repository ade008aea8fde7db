"""`reenter`: whether a transition to the source or its descendants exits the source."""

from __future__ import annotations

from typing import Any

from statewright import CancelTimer, ScheduleTimer


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def timer(key: str, state: str, delay: int) -> ScheduleTimer:
    event = f"xstate.after.{key}.{state}"
    return ScheduleTimer(id=event, delay_ms=delay, event={"type": event})


def self_machine(rec: Any) -> Any:
    return rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    after={"1000": "b"},
                    on={
                        "SELF": {"target": "a", "actions": ["t_self"]},
                        "RESTART": {"target": "a", "actions": ["t_restart"], "reenter": True},
                    },
                ),
                "b": node("b"),
            },
        }
    )


def test_a_self_transition_does_not_reenter_by_default(rec: Any) -> None:
    machine = self_machine(rec)
    snapshot, effects = machine.initial_transition()
    assert effects == (timer("1000", "m.a", 1000),)
    rec.take()

    snapshot, effects = machine.transition(snapshot, "SELF")

    assert snapshot.value == "a"
    assert snapshot.context == {}
    assert snapshot.status == "active"
    # Not exited: the delayed transition keeps running.
    assert effects == ()
    assert rec.take() == ["t_self"]


def test_a_self_transition_with_reenter_exits_and_enters_again(rec: Any) -> None:
    machine = self_machine(rec)
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, effects = machine.transition(snapshot, "RESTART")

    assert snapshot.value == "a"
    assert snapshot.status == "active"
    assert effects == (CancelTimer(id="xstate.after.1000.m.a"), timer("1000", "m.a", 1000))
    assert rec.take() == ["out_a", "t_restart", "in_a"]


def parent_machine(rec: Any) -> Any:
    return rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="x",
                    on={
                        "CHILD": {"target": ".y", "actions": ["t_child"]},
                        "CHILD_REENTER": {"target": ".y", "actions": ["t_child"], "reenter": True},
                        "SELF": {"target": "p", "actions": ["t_self"]},
                        "SELF_REENTER": {"target": "p", "actions": ["t_self"], "reenter": True},
                    },
                    states={
                        "x": node("x", on={"NEXT": "y"}),
                        "y": node("y"),
                    },
                ),
            },
        }
    )


def test_parent_to_child_exits_only_the_active_child(rec: Any) -> None:
    machine = parent_machine(rec)
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "CHILD")

    assert snapshot.value == {"p": "y"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_x", "t_child", "in_y"]


def test_parent_to_child_with_reenter_exits_the_parent_too(rec: Any) -> None:
    machine = parent_machine(rec)
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "CHILD_REENTER")

    assert snapshot.value == {"p": "y"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_x", "out_p", "t_child", "in_p", "in_y"]


def test_parent_to_itself_restarts_its_children_but_not_itself(rec: Any) -> None:
    machine = parent_machine(rec)
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "NEXT")
    rec.take()

    snapshot, _ = machine.transition(snapshot, "SELF")

    assert snapshot.value == {"p": "x"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_y", "t_self", "in_x"]


def test_parent_to_itself_with_reenter_exits_and_enters_the_parent(rec: Any) -> None:
    machine = parent_machine(rec)
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "NEXT")
    rec.take()

    snapshot, _ = machine.transition(snapshot, "SELF_REENTER")

    assert snapshot.value == {"p": "x"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_y", "out_p", "t_self", "in_p", "in_x"]


def test_child_to_its_parent_always_exits_the_parent(rec: Any) -> None:
    # The target is an ancestor of the source, so the domain is above the parent.
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", on={"UP": {"target": "#m.p", "actions": ["t_up"]}}),
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "UP")

    assert snapshot.value == {"p": "a"}
    assert rec.take() == ["out_a", "out_p", "t_up", "in_p", "in_a"]


def test_a_root_transition_with_reenter_exits_and_enters_the_root(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "entry": ["in_m"],
            "exit": ["out_m"],
            "initial": "a",
            "on": {
                "R": {"target": ".b", "reenter": True, "actions": ["t_r"]},
                "S": {"target": ".b", "actions": ["t_s"]},
            },
            "states": {"a": node("a"), "b": node("b")},
        }
    )
    snapshot, _ = machine.initial_transition()
    assert rec.take() == ["in_m", "in_a"]

    snapshot, _ = machine.transition(snapshot, "R")
    assert snapshot.value == "b"
    assert rec.take() == ["out_a", "out_m", "t_r", "in_m", "in_b"]

    snapshot, _ = machine.transition(snapshot, "S")
    assert snapshot.value == "b"
    assert snapshot.status == "active"
    assert rec.take() == ["out_b", "t_s", "in_b"]


def test_reenter_restarts_the_timers_of_the_reentered_parent_only(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    after={"1000": {"actions": ["t_tick"]}},
                    on={
                        "C": {"target": ".b"},
                        "CR": {"target": ".b", "reenter": True},
                    },
                    states={"a": node("a"), "b": node("b")},
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, effects = machine.transition(snapshot, "C")
    assert snapshot.value == {"p": "b"}
    assert effects == ()
    assert rec.take() == ["out_a", "in_b"]

    snapshot, effects = machine.transition(snapshot, "CR")
    assert snapshot.value == {"p": "b"}
    assert effects == (CancelTimer(id="xstate.after.1000.m.p"), timer("1000", "m.p", 1000))
    assert rec.take() == ["out_b", "out_p", "in_p", "in_b"]


def test_reentering_a_region_child_leaves_the_other_regions_alone(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": {
                    "initial": "a",
                    "states": {
                        "a": node(
                            "a", on={"GO": {"target": "a", "actions": ["t_go"], "reenter": True}}
                        ),
                    },
                },
                "r2": {"initial": "b", "states": {"b": node("b")}},
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"r1": "a", "r2": "b"}
    assert rec.take() == ["out_a", "t_go", "in_a"]
