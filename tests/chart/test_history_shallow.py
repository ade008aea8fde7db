"""Shallow history: re-entering a compound state in the child it was last in."""

from __future__ import annotations

from typing import Any


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def config(history: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "p",
        "states": {
            "p": node(
                "p",
                initial="a",
                on={"OUT": "q"},
                states={
                    "a": node("a", on={"N": "b"}),
                    "b": node(
                        "b",
                        initial="b1",
                        states={
                            "b1": node("b1", on={"N": "b2"}),
                            "b2": node("b2"),
                        },
                    ),
                    "c": node("c"),
                    "h": {"type": "history", **(history or {})},
                },
            ),
            "q": node("q", on={"BACK": {"target": "p.h", "actions": ["t_back"]}}),
        },
    }


def test_shallow_history_restores_the_last_child_and_its_default_descendants(
    rec: Any,
) -> None:
    machine = rec.machine(config())
    snapshot, _ = machine.initial_transition()
    for event in ("N", "N"):
        snapshot, _ = machine.transition(snapshot, event)
    assert snapshot.value == {"p": {"b": "b2"}}
    rec.take()

    snapshot, _ = machine.transition(snapshot, "OUT")
    assert snapshot.value == "q"
    assert snapshot.history == {"m.p.h": ["m.p.b"]}
    assert rec.take() == ["out_b2", "out_b", "out_p", "in_q"]

    snapshot, effects = machine.transition(snapshot, "BACK")

    # Shallow: b is restored, but b itself starts again in its initial b1.
    assert snapshot.value == {"p": {"b": "b1"}}
    assert snapshot.context == {}
    assert snapshot.status == "active"
    assert effects == ()
    assert rec.take() == ["out_q", "t_back", "in_p", "in_b", "in_b1"]


def test_a_history_never_visited_enters_the_parents_initial_state(rec: Any) -> None:
    machine = rec.machine({**config(), "initial": "q"})
    snapshot, _ = machine.initial_transition()
    assert snapshot.history == {}
    rec.take()

    snapshot, _ = machine.transition(snapshot, "BACK")

    assert snapshot.value == {"p": "a"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_q", "t_back", "in_p", "in_a"]


def test_a_history_default_target_is_used_until_something_is_remembered(rec: Any) -> None:
    machine = rec.machine({**config({"target": "c"}), "initial": "q"})
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "BACK")
    assert snapshot.value == {"p": "c"}
    assert rec.take() == ["out_q", "t_back", "in_p", "in_c"]

    snapshot, _ = machine.transition(snapshot, "OUT")
    snapshot, _ = machine.transition(snapshot, "BACK")
    assert snapshot.value == {"p": "c"}
    assert snapshot.history == {"m.p.h": ["m.p.c"]}


def test_history_is_recorded_again_on_every_exit(rec: Any) -> None:
    machine = rec.machine(config())
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "OUT")
    assert snapshot.history == {"m.p.h": ["m.p.a"]}
    snapshot, _ = machine.transition(snapshot, "BACK")
    assert snapshot.value == {"p": "a"}

    snapshot, _ = machine.transition(snapshot, "N")
    snapshot, _ = machine.transition(snapshot, "OUT")
    assert snapshot.history == {"m.p.h": ["m.p.b"]}
    rec.take()

    snapshot, _ = machine.transition(snapshot, "BACK")

    assert snapshot.value == {"p": {"b": "b1"}}
    assert snapshot.status == "active"
    assert rec.take() == ["out_q", "t_back", "in_p", "in_b", "in_b1"]


def test_targeting_the_history_of_the_active_parent_uses_what_is_remembered(
    rec: Any,
) -> None:
    # p has not been exited yet, so its history remembers nothing: the default (a) is taken,
    # and p itself is neither exited nor entered.
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", on={"N": "b"}),
                        "b": node("b", on={"H": "h"}),
                        "h": {"type": "history"},
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "N")
    rec.take()

    snapshot, _ = machine.transition(snapshot, "H")

    assert snapshot.value == {"p": "a"}
    assert snapshot.status == "active"
    assert snapshot.history == {}
    assert rec.take() == ["out_b", "in_a"]


def test_reentering_the_parent_through_its_history_restores_the_child(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    on={"R": {"target": ".h", "reenter": True}},
                    states={
                        "a": node("a", on={"N": "b"}),
                        "b": node("b"),
                        "h": {"type": "history"},
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "N")
    rec.take()

    snapshot, _ = machine.transition(snapshot, "R")

    assert snapshot.value == {"p": "b"}
    assert snapshot.status == "active"
    assert snapshot.history == {"m.p.h": ["m.p.b"]}
    assert rec.take() == ["out_b", "out_p", "in_p", "in_b"]


def test_shallow_history_inside_a_parallel_region(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": node(
                    "r1",
                    initial="a",
                    states={
                        "a": node(
                            "a",
                            initial="a1",
                            on={"AWAY": "z"},
                            states={
                                "a1": node("a1", on={"N": "a2"}),
                                "a2": node("a2"),
                                "h": {"type": "history"},
                            },
                        ),
                        "z": node("z", on={"BACK": "a.h"}),
                    },
                ),
                "r2": node("r2", initial="c", states={"c": node("c")}),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "N")
    snapshot, _ = machine.transition(snapshot, "AWAY")
    assert snapshot.value == {"r1": "z", "r2": "c"}
    assert snapshot.history == {"m.r1.a.h": ["m.r1.a.a2"]}
    rec.take()

    snapshot, _ = machine.transition(snapshot, "BACK")

    assert snapshot.value == {"r1": {"a": "a2"}, "r2": "c"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_z", "in_a", "in_a2"]


def test_shallow_history_of_a_parallel_state_restarts_each_region(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    type="parallel",
                    on={"OUT": "q"},
                    states={
                        "r1": node(
                            "r1",
                            initial="a",
                            states={"a": node("a", on={"N": "b"}), "b": node("b")},
                        ),
                        "r2": node(
                            "r2",
                            initial="c",
                            states={"c": node("c", on={"N": "d"}), "d": node("d")},
                        ),
                        "h": {"type": "history"},
                    },
                ),
                "q": node("q", on={"BACK": "p.h"}),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "N")
    snapshot, _ = machine.transition(snapshot, "OUT")
    assert snapshot.history == {"m.p.h": ["m.p.r1", "m.p.r2"]}
    rec.take()

    snapshot, _ = machine.transition(snapshot, "BACK")

    assert snapshot.value == {"p": {"r1": "a", "r2": "c"}}
    assert snapshot.status == "active"
    assert rec.take() == ["out_q", "in_p", "in_r1", "in_a", "in_r2", "in_c"]


def test_a_never_visited_history_of_a_parallel_state_enters_every_region(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "q",
            "states": {
                "q": node("q", on={"GO": {"target": "p.h", "actions": ["t_go"]}}),
                "p": node(
                    "p",
                    type="parallel",
                    states={
                        "r1": node("r1", initial="a", states={"a": node("a")}),
                        "r2": node("r2", initial="c", states={"c": node("c")}),
                        "h": {"type": "history"},
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.status == "active"
    assert snapshot.value == {"p": {"r1": "a", "r2": "c"}}
    assert rec.take() == ["out_q", "t_go", "in_p", "in_r1", "in_a", "in_r2", "in_c"]
