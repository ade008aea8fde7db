"""Parallel states: every region active at once, document order in, reverse order out."""

from __future__ import annotations

from typing import Any


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def two_regions(**parallel: Any) -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "p",
        "states": {
            "p": node(
                "p",
                type="parallel",
                states={
                    "r1": node(
                        "r1",
                        initial="a",
                        states={
                            "a": node(
                                "a",
                                on={
                                    "GO": {"target": "b", "actions": ["t_r1"]},
                                    "ONE": {"target": "b", "actions": ["t_one"]},
                                    "JUMP": {"target": "#m.p.r2.d", "actions": ["t_jump"]},
                                },
                            ),
                            "b": node("b"),
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
                **parallel,
            ),
            "q": node("q"),
        },
    }


def test_entering_a_parallel_state_enters_every_region_in_document_order(rec: Any) -> None:
    machine = rec.machine(two_regions())

    snapshot, effects = machine.initial_transition()

    assert snapshot.value == {"p": {"r1": "a", "r2": "c"}}
    assert snapshot.context == {}
    assert snapshot.status == "active"
    assert effects == ()
    assert rec.take() == ["in_p", "in_r1", "in_a", "in_r2", "in_c"]


def test_an_event_handled_by_both_regions_is_one_microstep(rec: Any) -> None:
    machine = rec.machine(two_regions())
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == {"p": {"r1": "b", "r2": "d"}}
    assert step.snapshot.status == "active"
    # Exits in reverse document order, then the transitions in region order, then entries.
    assert rec.take() == ["out_c", "out_a", "t_r1", "t_r2", "in_b", "in_d"]
    assert len(step.microsteps) == 1
    assert [t["source"] for t in step.microsteps[0].to_json()["transitions"]] == [
        "m.p.r1.a",
        "m.p.r2.c",
    ]


def test_an_event_handled_by_one_region_leaves_the_other_alone(rec: Any) -> None:
    machine = rec.machine(two_regions())
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "ONE")

    assert snapshot.value == {"p": {"r1": "b", "r2": "c"}}
    assert snapshot.status == "active"
    assert rec.take() == ["out_a", "t_one", "in_b"]


def test_the_parallel_state_handles_an_event_only_when_no_region_does(rec: Any) -> None:
    machine = rec.machine(
        two_regions(
            on={
                "GO": {"actions": ["t_parent_go"]},
                "LEAVE": {"target": "q", "actions": ["t_leave"]},
            }
        )
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")
    assert snapshot.value == {"p": {"r1": "b", "r2": "d"}}
    assert rec.take() == ["out_c", "out_a", "t_r1", "t_r2", "in_b", "in_d"]

    snapshot, _ = machine.transition(snapshot, "LEAVE")
    assert snapshot.value == "q"
    assert snapshot.status == "active"
    assert rec.take() == ["out_d", "out_r2", "out_b", "out_r1", "out_p", "t_leave", "in_q"]


def test_targeting_a_state_in_a_sibling_region_restarts_every_region(rec: Any) -> None:
    # XState's transition domain is the parallel state itself: all regions exit and re-enter.
    machine = rec.machine(two_regions())
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "JUMP")

    assert snapshot.value == {"p": {"r1": "a", "r2": "d"}}
    assert snapshot.status == "active"
    assert rec.take() == [
        "out_c",
        "out_r2",
        "out_a",
        "out_r1",
        "t_jump",
        "in_r1",
        "in_a",
        "in_r2",
        "in_d",
    ]


def test_leaving_a_parallel_state_exits_regions_in_reverse_document_order(rec: Any) -> None:
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
                        "r1": node("r1", initial="a", states={"a": node("a")}),
                        "r2": node("r2", initial="c", states={"c": node("c")}),
                        "r3": node("r3", initial="e", states={"e": node("e")}),
                    },
                ),
                "q": node("q"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    assert rec.take() == ["in_p", "in_r1", "in_a", "in_r2", "in_c", "in_r3", "in_e"]

    snapshot, _ = machine.transition(snapshot, "OUT")

    assert snapshot.value == "q"
    assert rec.take() == [
        "out_e",
        "out_r3",
        "out_c",
        "out_r2",
        "out_a",
        "out_r1",
        "out_p",
        "in_q",
    ]


def test_nested_parallel_states_have_a_nested_value(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "x": node(
                    "x",
                    type="parallel",
                    states={
                        "x1": node(
                            "x1",
                            initial="a",
                            states={"a": node("a", on={"GO": "b"}), "b": node("b")},
                        ),
                        "x2": node("x2"),
                    },
                ),
                "y": node("y", initial="c", states={"c": node("c")}),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    assert snapshot.value == {"x": {"x1": "a", "x2": {}}, "y": "c"}
    assert rec.take() == ["in_x", "in_x1", "in_a", "in_x2", "in_y", "in_c"]

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"x": {"x1": "b", "x2": {}}, "y": "c"}
    assert snapshot.status == "active"
    assert snapshot.matches({"x": {"x1": "b"}, "y": "c"})
    assert rec.take() == ["out_a", "in_b"]


def test_a_transition_leaving_the_parallel_state_wins_over_a_later_region(rec: Any) -> None:
    # Both regions select a transition for GO; the first one exits the whole parallel state,
    # so the second conflicts with it and is dropped.
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    type="parallel",
                    states={
                        "r1": node(
                            "r1",
                            initial="a",
                            states={
                                "a": node("a", on={"GO": {"target": "#m.q", "actions": ["t_out"]}}),
                            },
                        ),
                        "r2": node(
                            "r2",
                            initial="c",
                            states={
                                "c": node("c", on={"GO": {"target": "d", "actions": ["t_d"]}}),
                                "d": node("d"),
                            },
                        ),
                    },
                ),
                "q": node("q"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == "q"
    assert snapshot.status == "active"
    assert rec.take() == ["out_c", "out_r2", "out_a", "out_r1", "out_p", "t_out", "in_q"]
