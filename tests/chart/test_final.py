"""Final states: `done` status, `onDone` of compound and parallel states, final `output`."""

from __future__ import annotations

from typing import Any

from statewright import CancelTimer, ScheduleTimer
from statewright.testing import Actor


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def test_reaching_a_top_level_final_state_makes_the_machine_done(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "entry": ["in_m"],
            "exit": ["out_m"],
            "initial": "a",
            "context": {"n": 1},
            "states": {
                "a": node("a", on={"FINISH": {"target": "f", "actions": ["t_finish"]}}),
                "f": node("f", type="final"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, effects = machine.transition(snapshot, "FINISH")

    assert snapshot.value == "f"
    assert snapshot.context == {"n": 1}
    assert snapshot.status == "done"
    assert snapshot.output is None
    assert effects == ()
    # Once done, every active state exits, the root last.
    assert rec.take() == ["out_a", "t_finish", "in_f", "out_f", "out_m"]


def test_a_done_machine_ignores_further_events(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "f",
            "states": {"f": node("f", type="final")},
            "on": {"PING": {"actions": ["t_ping"]}},
        }
    )
    snapshot, _ = machine.initial_transition()
    assert snapshot.status == "done"
    assert rec.take() == ["in_f", "out_f"]

    step = machine.transition(snapshot, "PING")

    assert step.snapshot is snapshot
    assert step.snapshot.status == "done"
    assert step.effects == ()
    assert rec.take() == []
    assert snapshot.can("PING") is False
    assert snapshot.accepted_events == ()


def test_a_machine_whose_initial_state_is_final_is_done_at_once(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "f",
            "states": {"f": node("f", type="final", output={"answer": 42})},
            "output": {"$expr": "event.output"},
        }
    )

    snapshot, effects = machine.initial_transition()

    assert snapshot.value == "f"
    assert snapshot.context == {}
    assert snapshot.status == "done"
    assert snapshot.output == {"answer": 42}
    assert effects == ()
    assert rec.take() == ["in_f", "out_f"]


def test_a_nested_final_state_raises_done_for_its_parent_only(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "job",
            "context": {"result": None},
            "states": {
                "job": node(
                    "job",
                    initial="work",
                    states={
                        "work": node("work", on={"FINISH": "ok"}),
                        "ok": node("ok", type="final", output={"code": 7}),
                    },
                    onDone={
                        "target": "after",
                        "actions": [
                            "t_done",
                            {
                                "type": "assign",
                                "params": {"result": {"$expr": "event.output.code"}},
                            },
                        ],
                    },
                ),
                "after": node("after"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "FINISH")

    assert step.snapshot.value == "after"
    assert step.snapshot.context == {"result": 7}
    # A nested final state does not finish the machine.
    assert step.snapshot.status == "active"
    assert step.snapshot.output is None
    assert rec.take() == ["out_work", "in_ok", "out_ok", "out_job", "t_done", "in_after"]
    assert [m.event for m in step.microsteps] == ["FINISH", "xstate.done.state.m.job"]


def test_without_on_done_a_nested_final_state_just_stays(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "job",
            "states": {
                "job": node(
                    "job",
                    initial="work",
                    states={
                        "work": node("work", on={"FINISH": "ok"}),
                        "ok": node("ok", type="final"),
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "FINISH")

    assert snapshot.value == {"job": "ok"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_work", "in_ok"]


def test_a_parallel_state_is_done_when_every_region_is_final(rec: Any) -> None:
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
                                "a": node("a", on={"A": "af"}),
                                "af": node("af", type="final"),
                            },
                            onDone={"actions": ["done_r1"]},
                        ),
                        "r2": node(
                            "r2",
                            initial="b",
                            states={
                                "b": node("b", on={"B": "bf"}),
                                "bf": node("bf", type="final"),
                            },
                            onDone={"actions": ["done_r2"]},
                        ),
                    },
                    onDone={"target": "end", "actions": ["done_p"]},
                ),
                "end": node("end"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "A")
    assert snapshot.value == {"p": {"r1": "af", "r2": "b"}}
    assert snapshot.status == "active"
    assert rec.take() == ["out_a", "in_af", "done_r1"]

    step = machine.transition(snapshot, "B")

    assert step.snapshot.value == "end"
    assert step.snapshot.status == "active"
    # The region's done event is processed before the parallel state's.
    assert rec.take() == [
        "out_b",
        "in_bf",
        "done_r2",
        "out_bf",
        "out_r2",
        "out_af",
        "out_r1",
        "out_p",
        "done_p",
        "in_end",
    ]
    assert [m.event for m in step.microsteps] == [
        "B",
        "xstate.done.state.m.p.r2",
        "xstate.done.state.m.p",
    ]


def test_a_parallel_root_is_done_when_every_region_is_final(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "exit": ["out_m"],
            "output": {"regions": "both"},
            "states": {
                "r1": node(
                    "r1",
                    initial="a",
                    states={
                        "a": node("a", on={"GO": "af"}),
                        "af": node("af", type="final"),
                    },
                ),
                "r2": node(
                    "r2",
                    initial="b",
                    states={
                        "b": node("b", on={"GO": "bf"}),
                        "bf": node("bf", type="final"),
                    },
                ),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"r1": "af", "r2": "bf"}
    assert snapshot.status == "done"
    assert snapshot.output == {"regions": "both"}
    assert rec.take() == [
        "out_b",
        "out_a",
        "in_af",
        "in_bf",
        "out_bf",
        "out_r2",
        "out_af",
        "out_r1",
        "out_m",
    ]


def test_the_top_level_final_output_reaches_the_machine_output_through_its_event(
    rec: Any,
) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"total": 5},
            "output": {"final": {"$expr": "event.output"}, "total": {"$expr": "context.total"}},
            "states": {
                "a": node("a", on={"GO": "f"}),
                "f": node("f", type="final", output={"doubled": {"$expr": "context.total * 2"}}),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == "f"
    assert snapshot.status == "done"
    assert snapshot.output == {"final": {"doubled": 10}, "total": 5}
    assert rec.take() == ["out_a", "in_f", "out_f"]


def test_becoming_done_exits_every_state_and_cancels_its_timers(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": node(
                    "r1",
                    initial="a",
                    states={
                        "a": node("a", on={"GO": "af"}),
                        "af": node("af", type="final"),
                    },
                ),
                "r2": node(
                    "r2",
                    initial="b",
                    after={"5000": {"actions": ["t_late"]}},
                    states={
                        "b": node("b", on={"GO": "bf"}, after={"1000": "bf"}),
                        "bf": node("bf", type="final"),
                    },
                ),
            },
        }
    )
    snapshot, effects = machine.initial_transition()
    assert effects == (
        ScheduleTimer(
            id="xstate.after.5000.m.r2", delay_ms=5000, event={"type": "xstate.after.5000.m.r2"}
        ),
        ScheduleTimer(
            id="xstate.after.1000.m.r2.b", delay_ms=1000, event={"type": "xstate.after.1000.m.r2.b"}
        ),
    )
    rec.take()

    snapshot, effects = machine.transition(snapshot, "GO")

    assert snapshot.status == "done"
    assert snapshot.value == {"r1": "af", "r2": "bf"}
    assert effects == (
        CancelTimer(id="xstate.after.1000.m.r2.b"),
        CancelTimer(id="xstate.after.5000.m.r2"),
    )
    assert rec.take() == [
        "out_b",
        "out_a",
        "in_af",
        "in_bf",
        "out_bf",
        "out_r2",
        "out_af",
        "out_r1",
    ]


def test_a_done_actor_drops_its_pending_timers(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    initial="a1",
                    states={"a1": node("a1", after={"1000": "a2"}), "a2": node("a2")},
                    on={"FINISH": "f"},
                    after={"2000": {"actions": ["t_late"]}},
                ),
                "f": node("f", type="final"),
            },
        }
    )
    actor = Actor(machine).start()
    assert set(actor.pending_timers) == {"xstate.after.1000.m.a.a1", "xstate.after.2000.m.a"}
    rec.take()

    actor.send("FINISH")
    actor.advance(10_000)

    assert actor.snapshot.value == "f"
    assert actor.snapshot.status == "done"
    assert actor.pending_timers == []
    assert rec.take() == ["out_a1", "out_a", "in_f", "out_f"]
