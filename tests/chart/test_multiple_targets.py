"""Multiple targets: one transition entering states in several regions of a parallel state."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import DefinitionError, Machine


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def config(**on: Any) -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "q",
        "states": {
            "q": node("q", on=on),
            "p": node(
                "p",
                type="parallel",
                on={"INNER": {"target": [".r1.b", ".r2.d"], "actions": ["t_inner"]}},
                states={
                    "r1": node(
                        "r1",
                        initial="a",
                        states={
                            "a": node(
                                "a",
                                on={
                                    "CROSS": {
                                        "target": ["#m.p.r1.b", "#m.p.r2.d"],
                                        "actions": ["t_cross"],
                                    }
                                },
                            ),
                            "b": node("b"),
                        },
                    ),
                    "r2": node("r2", initial="c", states={"c": node("c"), "d": node("d")}),
                    "r3": node("r3", initial="e", states={"e": node("e"), "f": node("f")}),
                },
            ),
        },
    }


def test_targets_in_two_regions_are_entered_together_others_by_default(rec: Any) -> None:
    machine = rec.machine(config(GO={"target": ["p.r1.b", "p.r2.d"], "actions": ["t_go"]}))
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == {"p": {"r1": "b", "r2": "d", "r3": "e"}}
    assert step.snapshot.context == {}
    assert step.snapshot.status == "active"
    assert rec.take() == [
        "out_q",
        "t_go",
        "in_p",
        "in_r1",
        "in_b",
        "in_r2",
        "in_d",
        "in_r3",
        "in_e",
    ]
    assert step.microsteps[0].to_json()["transitions"] == [
        {"source": "m.q", "targets": ["m.p.r1.b", "m.p.r2.d"], "path": "states.q.on.GO"},
    ]


def test_target_order_does_not_change_the_entry_order(rec: Any) -> None:
    machine = rec.machine(config(GO={"target": ["p.r3.f", "p.r1.b"], "actions": ["t_go"]}))
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"p": {"r1": "b", "r2": "c", "r3": "f"}}
    assert rec.take() == [
        "out_q",
        "t_go",
        "in_p",
        "in_r1",
        "in_b",
        "in_r2",
        "in_c",
        "in_r3",
        "in_f",
    ]


def test_targets_from_inside_a_region_restart_every_region(rec: Any) -> None:
    machine = rec.machine(config(GO="p"))
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "GO")
    rec.take()

    snapshot, _ = machine.transition(snapshot, "CROSS")

    assert snapshot.value == {"p": {"r1": "b", "r2": "d", "r3": "e"}}
    assert snapshot.status == "active"
    assert rec.take() == [
        "out_e",
        "out_r3",
        "out_c",
        "out_r2",
        "out_a",
        "out_r1",
        "t_cross",
        "in_r1",
        "in_b",
        "in_r2",
        "in_d",
        "in_r3",
        "in_e",
    ]


def test_child_targets_from_the_parallel_state_itself(rec: Any) -> None:
    machine = rec.machine(config(GO="p"))
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "GO")
    rec.take()

    snapshot, _ = machine.transition(snapshot, "INNER")

    assert snapshot.value == {"p": {"r1": "b", "r2": "d", "r3": "e"}}
    assert snapshot.status == "active"
    # The parallel state is the domain: it stays, every region below it restarts.
    assert rec.take() == [
        "out_e",
        "out_r3",
        "out_c",
        "out_r2",
        "out_a",
        "out_r1",
        "t_inner",
        "in_r1",
        "in_b",
        "in_r2",
        "in_d",
        "in_r3",
        "in_e",
    ]


@pytest.mark.parametrize("targets", [["a", "b"], ["b", "p.inner"]])
def test_targets_that_cannot_be_active_together_are_a_definition_error(
    targets: list[str],
) -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {"on": {"GO": {"target": targets}}},
                    "b": {},
                    "p": {"initial": "inner", "states": {"inner": {}}},
                },
            }
        )

    assert "cannot both be active" in str(info.value)
    assert [fault.path for fault in info.value.faults] == ["states.a.on.GO.target"]
