"""Compound states: initial descent, entry/exit order, events handled by ancestors."""

from __future__ import annotations

from typing import Any


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def test_initial_descends_into_nested_initial_states(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "entry": ["in_m"],
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    initial="a1",
                    states={
                        "a1": node("a1", initial="a11", states={"a11": node("a11")}),
                        "a2": node("a2"),
                    },
                ),
                "b": node("b"),
            },
        }
    )

    snapshot, effects = machine.initial_transition()

    assert snapshot.value == {"a": {"a1": "a11"}}
    assert snapshot.context == {}
    assert snapshot.status == "active"
    assert effects == ()
    assert rec.take() == ["in_m", "in_a", "in_a1", "in_a11"]
    assert snapshot.configuration == ("m", "m.a", "m.a.a1", "m.a.a1.a11")


def test_initial_transition_actions_run_after_parent_entry_and_before_child_entry(
    rec: Any,
) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial={"target": "c", "actions": ["t_init"]},
                    states={"b": node("b"), "c": node("c")},
                ),
            },
        }
    )

    snapshot, _ = machine.initial_transition()

    assert snapshot.value == {"p": "c"}
    assert snapshot.status == "active"
    assert rec.take() == ["in_p", "t_init", "in_c"]


def test_initial_object_actions_run_on_every_default_entry(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "out",
            "states": {
                "out": node("out", on={"IN": "p"}),
                "p": node(
                    "p",
                    initial={"target": "c", "actions": ["t_init"]},
                    states={"c": node("c")},
                    on={"OUT": "out"},
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "IN")
    assert snapshot.value == {"p": "c"}
    assert rec.take() == ["out_out", "in_p", "t_init", "in_c"]

    snapshot, _ = machine.transition(snapshot, "OUT")
    snapshot, _ = machine.transition(snapshot, "IN")
    assert snapshot.value == {"p": "c"}
    assert rec.take() == ["out_c", "out_p", "in_out", "out_out", "in_p", "t_init", "in_c"]


def test_transition_between_siblings_keeps_the_parent(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", on={"NEXT": {"target": "b", "actions": ["t_next"]}}),
                        "b": node("b"),
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, effects = machine.transition(snapshot, "NEXT")

    assert snapshot.value == {"p": "b"}
    assert snapshot.context == {}
    assert snapshot.status == "active"
    assert effects == ()
    assert rec.take() == ["out_a", "t_next", "in_b"]


def test_leaving_a_compound_exits_deepest_first_and_enters_outermost_first(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    initial="a1",
                    states={
                        "a1": node(
                            "a1",
                            initial="a11",
                            states={
                                "a11": node(
                                    "a11", on={"GO": {"target": "#m.b.b1.b11", "actions": ["t_go"]}}
                                ),
                            },
                        ),
                    },
                ),
                "b": node(
                    "b",
                    initial="b1",
                    states={
                        "b1": node("b1", initial="b11", states={"b11": node("b11")}),
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"b": {"b1": "b11"}}
    assert snapshot.status == "active"
    assert rec.take() == [
        "out_a11",
        "out_a1",
        "out_a",
        "t_go",
        "in_b",
        "in_b1",
        "in_b11",
    ]


def test_event_unhandled_by_child_is_handled_by_parent(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={"a": node("a")},
                    on={"LEAVE": {"target": "q", "actions": ["t_leave"]}},
                ),
                "q": node("q"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "LEAVE")

    assert snapshot.value == "q"
    assert snapshot.status == "active"
    assert rec.take() == ["out_a", "out_p", "t_leave", "in_q"]


def test_child_handler_shadows_the_parent_handler(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", on={"GO": {"target": "b", "actions": ["t_child"]}}),
                        "b": node("b"),
                    },
                    on={"GO": {"target": "q", "actions": ["t_parent"]}},
                ),
                "q": node("q"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")
    assert snapshot.value == {"p": "b"}
    assert rec.take() == ["out_a", "t_child", "in_b"]

    # In b the child has no handler, so the parent's is taken.
    snapshot, _ = machine.transition(snapshot, "GO")
    assert snapshot.value == "q"
    assert rec.take() == ["out_b", "out_p", "t_parent", "in_q"]


def test_unhandled_event_changes_nothing(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "context": {"n": 1},
            "states": {"p": node("p", initial="a", states={"a": node("a")})},
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, {"type": "NOPE", "x": 1})

    assert step.snapshot.value == {"p": "a"}
    assert step.snapshot.context == {"n": 1}
    assert step.snapshot.status == "active"
    assert step.effects == ()
    assert step.selected is False
    assert rec.take() == []
    assert step.snapshot == snapshot


def test_matches_checks_every_level_of_a_nested_value(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"initial": "a1", "states": {"a1": {}, "a2": {}}}, "b": {}},
        }
    )
    snapshot, _ = machine.initial_transition()

    assert snapshot.matches("a")
    assert snapshot.matches("a.a1")
    assert snapshot.matches({"a": "a1"})
    assert not snapshot.matches("a.a2")
    assert not snapshot.matches("b")
