"""Deep history: re-entering a state in the atomic descendants it was last in."""

from __future__ import annotations

from typing import Any


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def config(**history: Any) -> dict[str, Any]:
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
                            "b2": node(
                                "b2",
                                initial="x",
                                states={"x": node("x", on={"N": "y"}), "y": node("y")},
                            ),
                        },
                    ),
                    "hd": {"type": "history", "history": "deep", **history},
                    "hs": {"type": "history", "history": "shallow"},
                },
            ),
            "q": node(
                "q",
                on={
                    "DEEP": {"target": "p.hd", "actions": ["t_deep"]},
                    "SHALLOW": {"target": "p.hs", "actions": ["t_shallow"]},
                },
            ),
        },
    }


def test_deep_history_restores_the_nested_atomic_state(rec: Any) -> None:
    machine = rec.machine(config())
    snapshot, _ = machine.initial_transition()
    for event in ("N", "N", "N"):
        snapshot, _ = machine.transition(snapshot, event)
    assert snapshot.value == {"p": {"b": {"b2": "y"}}}
    rec.take()

    snapshot, _ = machine.transition(snapshot, "OUT")
    assert snapshot.history == {"m.p.hd": ["m.p.b.b2.y"], "m.p.hs": ["m.p.b"]}
    assert rec.take() == ["out_y", "out_b2", "out_b", "out_p", "in_q"]

    snapshot, effects = machine.transition(snapshot, "DEEP")

    assert snapshot.value == {"p": {"b": {"b2": "y"}}}
    assert snapshot.context == {}
    assert snapshot.status == "active"
    assert effects == ()
    assert rec.take() == ["out_q", "t_deep", "in_p", "in_b", "in_b2", "in_y"]


def test_shallow_and_deep_history_of_one_state_differ(rec: Any) -> None:
    machine = rec.machine(config())
    snapshot, _ = machine.initial_transition()
    for event in ("N", "N", "N", "OUT"):
        snapshot, _ = machine.transition(snapshot, event)
    rec.take()

    snapshot, _ = machine.transition(snapshot, "SHALLOW")

    assert snapshot.value == {"p": {"b": "b1"}}
    assert rec.take() == ["out_q", "t_shallow", "in_p", "in_b", "in_b1"]


def test_deep_history_never_visited_enters_the_default_descendants(rec: Any) -> None:
    machine = rec.machine({**config(), "initial": "q"})
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "DEEP")

    assert snapshot.value == {"p": "a"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_q", "t_deep", "in_p", "in_a"]


def test_deep_history_default_target_may_be_a_nested_path(rec: Any) -> None:
    machine = rec.machine({**config(target="b.b2.y"), "initial": "q"})
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "DEEP")

    assert snapshot.value == {"p": {"b": {"b2": "y"}}}
    assert snapshot.status == "active"
    assert snapshot.history == {}
    assert rec.take() == ["out_q", "t_deep", "in_p", "in_b", "in_b2", "in_y"]


def test_deep_history_default_target_enters_defaults_below_it(rec: Any) -> None:
    machine = rec.machine({**config(target="b.b2"), "initial": "q"})
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "DEEP")

    assert snapshot.value == {"p": {"b": {"b2": "x"}}}
    assert rec.take() == ["out_q", "t_deep", "in_p", "in_b", "in_b2", "in_x"]


def test_remembered_states_win_over_the_default_target(rec: Any) -> None:
    machine = rec.machine(config(target="b.b2.y"))
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "OUT")
    assert snapshot.history == {"m.p.hd": ["m.p.a"], "m.p.hs": ["m.p.a"]}
    rec.take()

    snapshot, _ = machine.transition(snapshot, "DEEP")

    assert snapshot.value == {"p": "a"}
    assert rec.take() == ["out_q", "t_deep", "in_p", "in_a"]


def test_deep_history_restores_every_region_of_a_parallel_state(rec: Any) -> None:
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
                            states={
                                "c": node("c", on={"N": "d"}),
                                "d": node(
                                    "d",
                                    initial="d1",
                                    states={"d1": node("d1", on={"M": "d2"}), "d2": node("d2")},
                                ),
                            },
                        ),
                        "h": {"type": "history", "history": "deep"},
                    },
                ),
                "q": node("q", on={"BACK": "p.h"}),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    for event in ("N", "M", "OUT"):
        snapshot, _ = machine.transition(snapshot, event)
    assert snapshot.history == {"m.p.h": ["m.p.r1.b", "m.p.r2.d.d2"]}
    rec.take()

    snapshot, _ = machine.transition(snapshot, "BACK")

    assert snapshot.value == {"p": {"r1": "b", "r2": {"d": "d2"}}}
    assert snapshot.status == "active"
    assert rec.take() == ["out_q", "in_p", "in_r1", "in_b", "in_r2", "in_d", "in_d2"]


def test_a_never_visited_deep_history_of_a_parallel_state_enters_every_region(
    rec: Any,
) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "q",
            "states": {
                "q": node("q", on={"GO": "p.h"}),
                "p": node(
                    "p",
                    type="parallel",
                    states={
                        "r1": node("r1", initial="a", states={"a": node("a")}),
                        "r2": node("r2", initial="c", states={"c": node("c")}),
                        "h": {"type": "history", "history": "deep"},
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
    assert rec.take() == ["out_q", "in_p", "in_r1", "in_a", "in_r2", "in_c"]
