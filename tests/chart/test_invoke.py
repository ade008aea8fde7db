"""`invoke`: steps started on entry and stopped on exit, their results as events."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import StartStep, StopStep
from statewright.testing import PENDING, Actor, StepError


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def charge_config(**invoke: Any) -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "idle",
        "context": {"customer": "ann", "receipt": None, "problem": None},
        "states": {
            "idle": node("idle", on={"PAY": "paying"}),
            "paying": node(
                "paying",
                invoke={
                    "src": "charge",
                    "id": "charge",
                    "input": {
                        "who": {"$expr": "context.customer"},
                        "amount": {"$expr": "event.amount"},
                    },
                    "onDone": {
                        "target": "paid",
                        "actions": [
                            "t_done",
                            {"type": "assign", "params": {"receipt": {"$expr": "event.output"}}},
                        ],
                    },
                    "onError": {
                        "target": "failed",
                        "actions": [
                            "t_error",
                            {"type": "assign", "params": {"problem": {"$expr": "event.error"}}},
                        ],
                    },
                    **invoke,
                },
                on={"CANCEL": "idle"},
            ),
            "paid": node("paid"),
            "failed": node("failed"),
        },
    }


def charge(input: Any) -> Any:
    return {"receipt": f"{input['who']}-{input['amount']}"}


def test_entering_the_state_starts_the_step_with_its_input(rec: Any) -> None:
    machine = rec.machine(charge_config(), actors={"charge": charge})
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, effects = machine.transition(snapshot, {"type": "PAY", "amount": 30})

    assert snapshot.value == "paying"
    assert snapshot.status == "active"
    assert effects == (
        StartStep(id="charge", src="charge", input={"who": "ann", "amount": 30}, state="m.paying"),
    )
    assert snapshot.children == {
        "charge": {"src": "charge", "input": {"who": "ann", "amount": 30}, "state": "m.paying"},
    }
    assert rec.take() == ["out_idle", "in_paying"]


def test_the_done_event_takes_on_done_with_the_output(rec: Any) -> None:
    machine = rec.machine(charge_config(), actors={"charge": charge})
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, {"type": "PAY", "amount": 30})
    rec.take()

    snapshot, effects = machine.transition(
        snapshot,
        {
            "type": "xstate.done.actor.charge",
            "output": {"receipt": "r1"},
            "actorId": "charge",
        },
    )

    assert snapshot.value == "paid"
    assert snapshot.context == {"customer": "ann", "receipt": {"receipt": "r1"}, "problem": None}
    assert snapshot.status == "active"
    assert snapshot.children == {}
    assert effects == (StopStep(id="charge"),)
    assert rec.take() == ["out_paying", "t_done", "in_paid"]


def test_the_error_event_takes_on_error_with_the_error(rec: Any) -> None:
    machine = rec.machine(charge_config(), actors={"charge": charge})
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, {"type": "PAY", "amount": 30})
    rec.take()

    snapshot, _ = machine.transition(
        snapshot,
        {
            "type": "xstate.error.actor.charge",
            "error": {"message": "declined"},
            "actorId": "charge",
        },
    )

    assert snapshot.value == "failed"
    assert snapshot.context["problem"] == {"message": "declined"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_paying", "t_error", "in_failed"]


def test_leaving_the_state_stops_the_step(rec: Any) -> None:
    machine = rec.machine(charge_config(), actors={"charge": charge})
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, {"type": "PAY", "amount": 30})
    rec.take()

    snapshot, effects = machine.transition(snapshot, "CANCEL")

    assert snapshot.value == "idle"
    assert snapshot.children == {}
    assert effects == (StopStep(id="charge"),)
    assert rec.take() == ["out_paying", "in_idle"]


def test_a_state_left_in_the_same_macrostep_never_starts_its_step(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "idle",
            "states": {
                "idle": {"on": {"GO": "passing"}},
                "passing": node("passing", invoke={"src": "job", "id": "job"}, always="after"),
                "after": node("after"),
            },
        },
        actors={"job": lambda input: "never runs"},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, "GO")

    assert snapshot.value == "after"
    assert snapshot.children == {}
    assert effects == ()
    assert rec.take() == ["in_passing", "out_passing", "in_after"]


def test_invocations_without_an_id_are_numbered_per_state(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"invoke": [{"src": "one"}, {"src": "two", "input": 5}]}},
        },
        actors={"one": lambda input: 1, "two": lambda input: 2},
    )

    snapshot, effects = machine.initial_transition()

    assert effects == (
        StartStep(id="0.m.a", src="one", input=None, state="m.a"),
        StartStep(id="1.m.a", src="two", input=5, state="m.a"),
    )
    assert list(snapshot.children) == ["0.m.a", "1.m.a"]


def test_reentering_the_state_restarts_its_step(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "invoke": {"src": "job", "id": "job"},
                    "on": {"RETRY": {"target": "a", "reenter": True}, "STAY": "a"},
                },
            },
        },
        actors={"job": lambda input: None},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, "STAY")
    assert effects == ()

    snapshot, effects = machine.transition(snapshot, "RETRY")
    assert effects == (StopStep(id="job"), StartStep(id="job", src="job", input=None, state="m.a"))
    assert snapshot.children == {"job": {"src": "job", "input": None, "state": "m.a"}}


# -- results through the testing actor ----------------------------------------------------------


def test_the_testing_actor_runs_the_step_and_delivers_its_output(rec: Any) -> None:
    machine = rec.machine(charge_config(), actors={"charge": charge})
    actor = Actor(machine).start()
    rec.take()

    snapshot = actor.send({"type": "PAY", "amount": 30})

    assert snapshot.value == "paid"
    assert snapshot.context["receipt"] == {"receipt": "ann-30"}
    assert snapshot.status == "active"
    assert rec.take() == ["out_idle", "in_paying", "out_paying", "t_done", "in_paid"]
    # The result arrives as its own macrostep, after the one that started the step.
    assert [step.microsteps[0].event for step in actor.macrosteps[1:]] == [
        "PAY",
        "xstate.done.actor.charge",
    ]
    assert actor.running_steps == {}


def test_a_step_raising_step_error_fails_with_that_value(rec: Any) -> None:
    def declined(input: Any) -> Any:
        raise StepError({"code": "declined"})

    actor = Actor(rec.machine(charge_config(), actors={"charge": declined})).start()

    snapshot = actor.send({"type": "PAY", "amount": 30})

    assert snapshot.value == "failed"
    assert snapshot.context["problem"] == {"code": "declined"}


def test_a_step_raising_any_exception_fails_with_its_type_and_message(rec: Any) -> None:
    def broken(input: Any) -> Any:
        raise ValueError("bad card")

    actor = Actor(rec.machine(charge_config(), actors={"charge": broken})).start()

    snapshot = actor.send({"type": "PAY", "amount": 30})

    assert snapshot.value == "failed"
    assert snapshot.context["problem"] == {"type": "ValueError", "message": "bad card"}


def test_an_async_step_is_awaited(rec: Any) -> None:
    async def slow_charge(input: Any) -> Any:
        return {"async": input["amount"]}

    actor = Actor(rec.machine(charge_config(), actors={"charge": slow_charge})).start()

    snapshot = actor.send({"type": "PAY", "amount": 7})

    assert snapshot.value == "paid"
    assert snapshot.context["receipt"] == {"async": 7}


def test_a_pending_step_is_resolved_or_rejected_by_hand(rec: Any) -> None:
    machine = rec.machine(charge_config(), actors={"charge": lambda input: PENDING})
    actor = Actor(machine).start()
    actor.send({"type": "PAY", "amount": 1})
    assert actor.snapshot.value == "paying"
    assert actor.running_steps == {"charge": ("charge", {"who": "ann", "amount": 1})}
    rec.take()

    snapshot = actor.resolve_step("charge", {"receipt": "manual"})

    assert snapshot.value == "paid"
    assert snapshot.context["receipt"] == {"receipt": "manual"}
    assert rec.take() == ["out_paying", "t_done", "in_paid"]

    actor = Actor(machine, run_steps=False).start()
    actor.send({"type": "PAY", "amount": 1})
    snapshot = actor.reject_step("charge", {"message": "timeout"})
    assert snapshot.value == "failed"
    assert snapshot.context["problem"] == {"message": "timeout"}


def test_a_result_for_a_stopped_step_is_discarded(rec: Any) -> None:
    machine = rec.machine(charge_config(), actors={"charge": lambda input: PENDING})
    actor = Actor(machine).start()
    actor.send({"type": "PAY", "amount": 1})
    actor.send("CANCEL")

    assert actor.running_steps == {}
    with pytest.raises(Exception, match="no running step 'charge'"):
        actor.resolve_step("charge", {"receipt": "late"})
    assert actor.snapshot.value == "idle"


def test_an_error_nobody_handles_puts_the_machine_in_error_and_stops_the_rest(
    rec: Any,
) -> None:
    def fail(input: Any) -> Any:
        raise StepError({"message": "failed"})

    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"k": 1},
            "states": {
                "a": node("a", invoke=[{"src": "fail", "id": "x"}, {"src": "wait", "id": "y"}])
            },
        },
        actors={"fail": fail, "wait": lambda input: PENDING},
    )
    actor = Actor(machine).start()

    snapshot = actor.snapshot

    assert snapshot.status == "error"
    assert snapshot.value == "a"
    assert snapshot.context == {"k": 1}
    assert snapshot.error == {"message": "failed"}
    assert snapshot.children == {}
    assert actor.macrosteps[-1].effects == (StopStep(id="x"), StopStep(id="y"))
    assert actor.running_steps == {}
    assert rec.take() == ["in_a"]


def test_an_ancestor_may_handle_the_done_event(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "context": {"out": None},
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", invoke={"src": "job", "id": "job", "input": 5}),
                    },
                    on={
                        "xstate.done.actor.job": {
                            "target": "q",
                            "actions": [
                                {"type": "assign", "params": {"out": {"$expr": "event.output"}}}
                            ],
                        }
                    },
                ),
                "q": node("q"),
            },
        },
        actors={"job": lambda input: input * 2},
    )

    actor = Actor(machine).start()

    assert actor.snapshot.value == "q"
    assert actor.snapshot.context == {"out": 10}
    assert rec.take() == ["in_p", "in_a", "out_a", "out_p", "in_q"]


def reentered_config(leave_on: str) -> dict[str, Any]:
    """`a` goes to the history state `h`, which enters `a` again without exiting it (no
    history yet: the parent's initial state), so `a` starts its step again; then it leaves."""
    return {
        "id": "m",
        "initial": "idle",
        "context": {"count": 0},
        "states": {
            "idle": {"on": {"GO": "p"}},
            "p": {
                "initial": "a",
                "states": {
                    "a": node(
                        "a",
                        invoke={"src": "job", "id": "job"},
                        on={"AGAIN": "h"},
                        always=[
                            {
                                "target": "h",
                                "guard": {"$expr": "context.count < 1"},
                                "actions": {"type": "assign", "params": {"count": 1}},
                            },
                            {"target": "b", "guard": {"$expr": "context.count == 1"}},
                        ]
                        if leave_on == "always"
                        else [],
                    ),
                    "b": node("b"),
                    "h": {"type": "history"},
                },
            },
        },
    }


def test_a_step_started_again_and_left_in_the_same_macrostep_never_starts(rec: Any) -> None:
    machine = rec.machine(reentered_config("always"), actors={"job": lambda input: "ran"})
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, "GO")

    assert snapshot.value == {"p": "b"}
    assert rec.take() == ["in_a", "in_a", "out_a", "in_b"]
    assert snapshot.children == {}
    assert effects == ()


def test_a_running_step_started_again_and_left_in_one_macrostep_is_stopped(rec: Any) -> None:
    config = reentered_config("event")
    config["states"]["p"]["states"]["a"]["on"]["AGAIN"] = {
        "target": "h",
        "actions": {"type": "raise", "params": {"event": {"type": "LEAVE"}}},
    }
    config["states"]["p"]["states"]["a"]["on"]["LEAVE"] = "b"
    machine = rec.machine(config, actors={"job": lambda input: "ran"})
    snapshot, _ = machine.initial_transition()
    snapshot, effects = machine.transition(snapshot, "GO")
    assert effects == (StartStep(id="job", src="job", input=None, state="m.p.a"),)
    rec.take()

    snapshot, effects = machine.transition(snapshot, "AGAIN")

    assert snapshot.value == {"p": "b"}
    assert rec.take() == ["in_a", "out_a", "in_b"]
    assert snapshot.children == {}
    assert effects == (StopStep(id="job"),)
