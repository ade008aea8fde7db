"""The order of entry, exit and transition actions (and their effects) within a microstep."""

from __future__ import annotations

from typing import Any

from statewright import CancelTimer, Emit, ScheduleTimer, StartStep, StopStep


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def test_exit_deepest_first_then_transition_then_entry_outermost_first(rec: Any) -> None:
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
                                    "a11",
                                    on={
                                        "GO": {"target": "#m.b.b1", "actions": ["t1", "t2", "t3"]},
                                    },
                                )
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
    assert snapshot.context == {}
    assert snapshot.status == "active"
    assert rec.take() == [
        "out_a11",
        "out_a1",
        "out_a",
        "t1",
        "t2",
        "t3",
        "in_b",
        "in_b1",
        "in_b11",
    ]


def test_a_states_entry_list_runs_in_order_before_its_timers_and_steps(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "idle",
            "states": {
                "idle": {"on": {"GO": "work"}},
                "work": {
                    "entry": [
                        "e1",
                        {"type": "emit", "params": {"event": {"type": "started"}}},
                        "e2",
                    ],
                    "exit": [
                        "x1",
                        {"type": "emit", "params": {"event": {"type": "stopped"}}},
                        "x2",
                    ],
                    "after": {"100": {"actions": ["t_tick"]}},
                    "invoke": {"src": "job", "id": "job"},
                    "initial": {"target": "w1", "actions": ["t_initial"]},
                    "states": {"w1": node("w1")},
                    "on": {"DONE": "idle"},
                },
            },
        },
        actors={"job": lambda input: None},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, "GO")

    assert snapshot.value == {"work": "w1"}
    assert rec.take() == ["e1", "e2", "t_initial", "in_w1"]
    assert effects == (
        Emit(event={"type": "started"}),
        ScheduleTimer(
            id="xstate.after.100.m.work", delay_ms=100, event={"type": "xstate.after.100.m.work"}
        ),
        StartStep(id="job", src="job", input=None, state="m.work"),
    )

    snapshot, effects = machine.transition(snapshot, "DONE")

    assert snapshot.value == "idle"
    assert rec.take() == ["out_w1", "x1", "x2"]
    assert effects == (
        Emit(event={"type": "stopped"}),
        CancelTimer(id="xstate.after.100.m.work"),
        StopStep(id="job"),
    )


def test_exit_and_transition_actions_see_the_event_being_processed(rec: Any) -> None:
    seen: list[tuple[str, object]] = []

    def see(name: str) -> Any:
        return lambda context, event: seen.append((name, event.get("n")))

    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"exit": ["x"], "on": {"GO": {"target": "b", "actions": ["t"]}}},
                "b": {"entry": ["e"]},
            },
        },
        actions={"x": see("exit"), "t": see("transition"), "e": see("entry")},
    )
    snapshot, _ = machine.initial_transition()

    machine.transition(snapshot, {"type": "GO", "n": 7})

    assert seen == [("exit", 7), ("transition", 7), ("entry", 7)]


def test_regions_exit_in_reverse_and_enter_in_document_order(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": node(
                    "r1",
                    initial="a",
                    states={
                        "a": node("a", on={"GO": {"target": "b", "actions": ["t_r1"]}}),
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
                "r3": node(
                    "r3",
                    initial="e",
                    states={
                        "e": node("e", on={"GO": {"target": "f", "actions": ["t_r3"]}}),
                        "f": node("f"),
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    assert rec.take() == ["in_r1", "in_a", "in_r2", "in_c", "in_r3", "in_e"]

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"r1": "b", "r2": "d", "r3": "f"}
    assert rec.take() == [
        "out_e",
        "out_c",
        "out_a",
        "t_r1",
        "t_r2",
        "t_r3",
        "in_b",
        "in_d",
        "in_f",
    ]


def test_a_raised_event_is_handled_in_its_own_microstep_after_the_current_one(
    rec: Any,
) -> None:
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
                            "actions": [
                                "t_go",
                                {"type": "raise", "params": {"event": {"type": "NEXT"}}},
                                "t_go_after",
                            ],
                        }
                    },
                ),
                "b": node("b", on={"NEXT": {"target": "c", "actions": ["t_next"]}}),
                "c": node("c"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == "c"
    assert rec.take() == ["out_a", "t_go", "t_go_after", "in_b", "out_b", "t_next", "in_c"]
    assert [m.event for m in step.microsteps] == ["GO", "NEXT"]


def test_the_initial_state_enters_from_the_root_down(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "entry": ["in_m"],
            "initial": {"target": "p", "actions": ["t_root_initial"]},
            "states": {
                "p": node(
                    "p",
                    initial={"target": "c", "actions": ["t_p_initial"]},
                    states={"c": node("c")},
                ),
            },
        }
    )

    snapshot, _ = machine.initial_transition()

    assert snapshot.value == {"p": "c"}
    assert rec.take() == ["in_m", "t_root_initial", "in_p", "t_p_initial", "in_c"]


def test_reaching_the_end_exits_every_state_with_the_root_last(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "exit": ["out_m"],
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", on={"END": {"target": "#m.end", "actions": ["t_end"]}}),
                    },
                ),
                "end": node("end", type="final"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "END")

    assert snapshot.status == "done"
    assert rec.take() == ["out_a", "out_p", "t_end", "in_end", "out_end", "out_m"]
