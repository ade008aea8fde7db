"""Stopping: the `xstate.stop` event and `Actor.stop()`."""

from __future__ import annotations

from typing import Any

from statewright import Snapshot, StopStep
from statewright.testing import PENDING, Actor


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def config() -> dict[str, Any]:
    return {
        "id": "m",
        "entry": ["in_m"],
        "exit": ["out_m"],
        "initial": "p",
        "context": {"n": 1},
        "on": {"PING": {"actions": ["t_ping"]}},
        "states": {
            "p": node(
                "p",
                initial="a",
                after={"100": {"actions": ["t_tick"]}},
                states={
                    "a": node(
                        "a", invoke=[{"src": "job", "id": "one"}, {"src": "job", "id": "two"}]
                    ),
                },
            ),
        },
    }


def test_the_stop_event_stops_without_running_exit_actions(rec: Any) -> None:
    machine = rec.machine(config(), actors={"job": lambda input: PENDING})
    snapshot, _ = machine.initial_transition()
    assert rec.take() == ["in_m", "in_p", "in_a"]

    step = machine.transition(snapshot, {"type": "xstate.stop"})

    assert step.snapshot.value == {"p": "a"}
    assert step.snapshot.context == {"n": 1}
    assert step.snapshot.status == "stopped"
    assert step.snapshot.children == {}
    assert step.effects == (StopStep(id="one"), StopStep(id="two"))
    assert rec.take() == []


def test_a_stopped_snapshot_ignores_every_event(rec: Any) -> None:
    machine = rec.machine(config(), actors={"job": lambda input: PENDING})
    snapshot, _ = machine.initial_transition()
    stopped, _ = machine.transition(snapshot, "xstate.stop")
    rec.take()

    step = machine.transition(stopped, "PING")

    assert step.snapshot is stopped
    assert step.effects == ()
    assert rec.take() == []
    assert stopped.can("PING") is False
    assert stopped.accepted_events == ()


def test_actor_stop_voids_timers_and_steps(rec: Any) -> None:
    actor = Actor(rec.machine(config(), actors={"job": lambda input: PENDING})).start()
    assert set(actor.running_steps) == {"one", "two"}
    assert actor.pending_timers == ["xstate.after.100.m.p"]
    rec.take()

    snapshot = actor.stop()

    assert snapshot.status == "stopped"
    assert snapshot.value == {"p": "a"}
    assert snapshot.context == {"n": 1}
    assert actor.running_steps == {}
    assert actor.pending_timers == []
    assert rec.take() == []

    actor.advance(1000)
    assert actor.send("PING") is actor.snapshot
    assert actor.snapshot.status == "stopped"
    assert rec.take() == []


def test_stopping_a_done_machine_changes_nothing(rec: Any) -> None:
    machine = rec.machine({"id": "m", "initial": "f", "states": {"f": {"type": "final"}}})
    done, _ = machine.initial_transition()

    step = machine.transition(done, "xstate.stop")

    assert step.snapshot is done
    assert step.snapshot.status == "done"


def test_a_stopped_snapshot_round_trips(rec: Any) -> None:
    machine = rec.machine(config(), actors={"job": lambda input: PENDING})
    snapshot, _ = machine.initial_transition()
    stopped, _ = machine.transition(snapshot, "xstate.stop")

    data = stopped.to_json()
    restored = Snapshot.from_json(machine, data)

    assert data["status"] == "stopped"
    assert data["children"] == {}
    assert restored == stopped
    assert restored.status == "stopped"
