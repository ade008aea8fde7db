"""`Actor.from_snapshot`: restore a saved snapshot in memory and carry on.

What XState 5.33.3 does on `createActor(machine, {snapshot})`, observed with the conformance
recorder: states, context, history and status come back (the `restore-*` cases of the
conformance corpus pin those against XState); pending `after` timers and delayed raises are
lost (`getPersistedSnapshot` leaves the scheduler out); running promise actors run again. The
in-memory actor does what the durable engine does instead: timers keep their due times, and
running steps run again as a worker runs them again after a restart.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from statewright import Machine, SnapshotError, StatewrightError
from statewright.testing import PENDING, Actor, PendingTimer, VirtualClock


def waiting_config() -> dict[str, Any]:
    """`a` waits 1000 ms (`after`) and pings itself at 500 ms (a delayed raise with an id)."""
    return {
        "id": "m",
        "initial": "a",
        "context": {"pings": 0},
        "states": {
            "a": {
                "entry": [
                    {
                        "type": "raise",
                        "params": {"event": {"type": "PING"}, "delay": 500, "id": "ping"},
                    }
                ],
                "after": {"1000": "b"},
                "on": {
                    "PING": {"actions": [{"type": "assign", "params": {"pings": 1}}]},
                    "STOP_PING": {"actions": [{"type": "cancel", "params": {"id": "ping"}}]},
                },
            },
            "b": {},
        },
    }


def save(actor: Actor) -> tuple[str, list[dict[str, Any]]]:
    """What an application keeps: the snapshot as JSON text and the pending timers as JSON."""
    return json.dumps(actor.snapshot.to_json()), [t.to_json() for t in actor.timers]


# -- the saved snapshot, in every form ------------------------------------------------------


@pytest.mark.parametrize("form", ["snapshot", "dict", "text", "bytes"])
def test_restores_every_saved_form_of_a_snapshot(form: str) -> None:
    machine = Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 0},
            "states": {
                "a": {
                    "on": {
                        "NEXT": {"target": "b", "actions": [{"type": "assign", "params": {"n": 1}}]}
                    }
                },
                "b": {"on": {"NEXT": "c"}},
                "c": {},
            },
        }
    )
    old = Actor(machine).start()
    old.send("NEXT")
    forms = {
        "snapshot": old.snapshot,
        "dict": old.snapshot.to_json(),
        "text": json.dumps(old.snapshot.to_json()),
        "bytes": json.dumps(old.snapshot.to_json()).encode(),
    }
    actor = Actor.from_snapshot(machine, forms[form])
    assert actor.snapshot == old.snapshot
    assert actor.send("NEXT").value == "c"
    assert actor.snapshot.context == {"n": 1}


def test_a_restore_runs_no_entry_action_and_no_eventless_transition() -> None:
    calls: list[str] = []
    config = {
        "id": "m",
        "initial": "a",
        "context": {"ready": False},
        "states": {
            "a": {
                "entry": ["enter_a"],
                "always": {"target": "b", "guard": "isReady"},
                "on": {"READY": {"actions": [{"type": "assign", "params": {"ready": True}}]}},
            },
            "b": {},
        },
    }
    machine = Machine.from_config(config).provide(
        actions={"enter_a": lambda *_: calls.append("enter_a")},
        guards={"isReady": lambda context, *_: context["ready"] is True},
    )
    saved = Actor(machine).start().snapshot.to_json()
    calls.clear()
    # Edited to a context where the eventless transition would now be enabled: a restore
    # takes none (XState re-evaluates `always` only when an event is processed).
    saved["context"] = {"ready": True}
    actor = Actor.from_snapshot(machine, saved)
    assert (actor.snapshot.value, calls, actor.macrosteps) == ("a", [], [])
    assert actor.send("ANYTHING").value == "b"


# -- timers: kept with their due times (XState loses them) ----------------------------------


def test_a_pending_after_timer_fires_at_its_original_due_time() -> None:
    machine = Machine.from_config(waiting_config())
    old = Actor(machine).start()
    old.advance(400)
    saved, timers = save(old)
    old.stop()

    actor = Actor.from_snapshot(machine, saved, timers=timers, clock=old.clock)
    assert actor.pending_timers == ["ping", "xstate.after.1000.m.a"]
    actor.advance(100)
    assert actor.snapshot.context == {"pings": 1}  # the delayed raise, due at 500
    actor.advance(499)
    assert actor.snapshot.value == "a"
    actor.advance(1)  # 1000 ms after `a` was entered, not after the restore
    assert actor.snapshot.value == "b"


def test_without_the_timers_a_restore_is_xstates_and_never_fires() -> None:
    machine = Machine.from_config(waiting_config())
    old = Actor(machine).start()
    old.advance(400)
    saved, _ = save(old)
    old.stop()
    actor = Actor.from_snapshot(machine, saved, timers=[], clock=old.clock)
    actor.advance(10_000)
    assert (actor.snapshot.value, actor.snapshot.context) == ("a", {"pings": 0})


def test_a_restored_timer_can_still_be_cancelled_by_its_id() -> None:
    machine = Machine.from_config(waiting_config())
    old = Actor(machine).start()
    saved, timers = old.snapshot, old.timers  # the objects themselves do as well as JSON
    old.stop()
    actor = Actor.from_snapshot(machine, saved, timers=timers, clock=old.clock)
    actor.send("STOP_PING")
    assert actor.pending_timers == ["xstate.after.1000.m.a"]
    actor.advance(600)
    assert actor.snapshot.context == {"pings": 0}


def test_timers_restore_on_a_new_clock_set_to_the_saving_time() -> None:
    machine = Machine.from_config(waiting_config())
    old = Actor(machine, clock=VirtualClock(start_ms=5_000)).start()
    old.advance(900)
    saved, timers = save(old)
    assert timers[0] == {"id": "xstate.after.1000.m.a", "due": 6_000, "event": timers[0]["event"]}

    actor = Actor.from_snapshot(
        machine, saved, timers=json.loads(json.dumps(timers)), clock=VirtualClock(start_ms=5_900)
    )
    actor.advance(99)
    assert actor.snapshot.value == "a"
    actor.advance(1)
    assert actor.snapshot.value == "b"


def test_a_timer_due_while_nothing_ran_fires_late_on_the_next_advance() -> None:
    machine = Machine.from_config(waiting_config())
    saved, timers = save(Actor(machine).start())
    # Restored two seconds after both timers fell due: nothing fires during the restore (as
    # nothing fires until a worker's next pass); the first advance fires both, in due order.
    actor = Actor.from_snapshot(machine, saved, timers=timers, clock=VirtualClock(start_ms=3_000))
    assert actor.snapshot.value == "a"
    actor.advance(0)
    assert (actor.snapshot.value, actor.snapshot.context) == ("b", {"pings": 1})


def test_new_anonymous_timers_do_not_replace_restored_ones() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"got": []},
        "states": {
            "a": {
                "entry": [{"type": "raise", "params": {"event": {"type": "X"}, "delay": 100}}],
                "on": {
                    "AGAIN": {
                        "actions": [
                            {"type": "raise", "params": {"event": {"type": "Y"}, "delay": 50}}
                        ]
                    },
                    "X": {"actions": "note"},
                    "Y": {"actions": "note"},
                },
            }
        },
    }
    got: list[str] = []
    machine = Machine.from_config(config).provide(
        actions={"note": lambda _context, event, _params: got.append(event["type"])}
    )
    saved, timers = save(Actor(machine).start())
    assert [t["id"] for t in timers] == ["anonymous.0"]
    actor = Actor.from_snapshot(machine, saved, timers=timers)
    actor.send("AGAIN")
    assert actor.pending_timers == ["anonymous.1", "anonymous.0"]
    actor.advance(100)
    assert got == ["Y", "X"]


def test_timers_of_a_snapshot_that_is_no_longer_active_are_void() -> None:
    machine = Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"after": {"1000": "b"}, "on": {"END": "z"}},
                "b": {},
                "z": {"type": "final"},
            },
        }
    )
    old = Actor(machine).start()
    _, timers = save(old)
    old.send("END")
    actor = Actor.from_snapshot(machine, old.snapshot, timers=timers)
    assert (actor.snapshot.status, actor.pending_timers) == ("done", [])
    assert actor.send("END").status == "done"


# -- running steps: run again, as a worker runs them again ----------------------------------


def charge_machine(calls: list[object], *, settle: bool) -> Machine:
    def charge(input: object) -> object:
        calls.append(input)
        return {"receipt": "r-1"} if settle else PENDING

    return Machine.from_config(
        {
            "id": "m",
            "initial": "paying",
            "context": {"amount": 25},
            "states": {
                "paying": {
                    "invoke": {
                        "src": "charge",
                        "id": "charge",
                        "input": {"amount": {"$expr": "context.amount"}},
                        "onDone": "paid",
                    }
                },
                "paid": {},
            },
        }
    ).provide(actors={"charge": charge})


def test_a_running_step_runs_again_with_its_saved_input_and_its_result_settles() -> None:
    calls: list[object] = []
    old = Actor(charge_machine(calls, settle=False)).start()
    assert old.running_steps == {"charge": ("charge", {"amount": 25})}
    saved = old.snapshot.to_json()

    actor = Actor.from_snapshot(charge_machine(calls, settle=True), saved)
    assert calls == [{"amount": 25}, {"amount": 25}]
    assert (actor.snapshot.value, actor.running_steps) == ("paid", {})


def test_with_run_steps_false_a_restored_step_waits_for_resolve_step() -> None:
    calls: list[object] = []
    saved = Actor(charge_machine(calls, settle=False)).start().snapshot
    actor = Actor.from_snapshot(charge_machine(calls, settle=True), saved, run_steps=False)
    assert actor.running_steps == {"charge": ("charge", {"amount": 25})}
    assert calls == [{"amount": 25}]
    assert actor.resolve_step("charge", {"receipt": "r-2"}).value == "paid"


def test_a_running_step_that_is_not_provided_is_refused_and_nothing_is_scheduled() -> None:
    calls: list[object] = []
    saved = Actor(charge_machine(calls, settle=False)).start().snapshot.to_json()
    bare = Machine.from_config(charge_machine(calls, settle=True).config)
    clock = VirtualClock()
    with pytest.raises(StatewrightError, match=r"step 'charge' .*machine.provide\(actors="):
        Actor.from_snapshot(bare, saved, clock=clock)
    assert clock.next_due() is None
    assert Actor.from_snapshot(bare, saved, run_steps=False).running_steps == {
        "charge": ("charge", {"amount": 25})
    }


# -- errors: each names the problem and the fix; none schedules anything --------------------


def refused(machine: Machine, saved: object, **options: Any) -> str:
    """The message of the SnapshotError the restore raises; asserts the clock stayed empty."""
    clock = VirtualClock()
    with pytest.raises(SnapshotError) as caught:
        Actor.from_snapshot(machine, saved, clock=clock, **options)  # type: ignore[arg-type]
    assert clock.next_due() is None
    return str(caught.value)


def test_refuses_a_snapshot_waiting_on_after_without_timers() -> None:
    machine = Machine.from_config(waiting_config())
    saved, _ = save(Actor(machine).start())
    message = refused(machine, saved)
    assert "'m.a'" in message and "timers=actor.timers" in message and "timers=[]" in message


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON list, not an object"),
        (42, "cannot restore a snapshot from int"),
        ({"status": "active", "value": "a", "machine": "other"}, "machine 'other'"),
        ({"status": "active", "value": "gone", "machine": "m"}, "state 'gone'"),
        ({"status": "maybe", "value": "a"}, "status 'maybe'"),
    ],
)
def test_refuses_what_is_not_a_snapshot_of_this_machine(saved: object, expected: str) -> None:
    machine = Machine.from_config({"id": "m", "initial": "a", "states": {"a": {}}})
    assert expected in refused(machine, saved)


def test_refuses_a_snapshot_of_a_version_that_had_other_states() -> None:
    v1 = Machine.from_config(
        {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "b"}}, "b": {}}}
    )
    v2 = Machine.from_config({"id": "m", "initial": "a", "states": {"a": {}, "c": {}}})
    old = Actor(v1).start()
    old.send("GO")
    for saved in (old.snapshot, old.snapshot.to_json()):
        message = refused(v2, saved)
        assert "'m.b'" in message and "restore it into the version that saved it" in message


GOOD = {"id": "ok", "due": 5, "event": {"type": "T"}}


@pytest.mark.parametrize(
    ("timers", "expected"),
    [
        ({"id": "t"}, "must be a list of pending timers"),
        ([7], "timers[0] is int"),
        ([GOOD, {"id": "t", "due": -1, "event": {"type": "T"}}], "timers[1] (t): 'due'"),
        ([{"id": "t", "due": 1.5, "event": {"type": "T"}}], "whole milliseconds"),
        ([{"id": "t", "due": 1, "event": {}}], "'event' must be an event object"),
        ([{"id": "", "due": 1, "event": {"type": "T"}}], "'id' must be a non-empty string"),
        ([{"id": "t", "due": 1, "event": {"type": "T"}, "when": 1}], "unknown key 'when'"),
        ([GOOD, {**GOOD, "due": 9}], "timers[1]: a second timer 'ok'"),
    ],
)
def test_refuses_malformed_timers(timers: object, expected: str) -> None:
    machine = Machine.from_config(waiting_config())
    saved, _ = save(Actor(machine).start())
    assert expected in refused(machine, saved, timers=timers)


# -- the timers an actor reports --------------------------------------------------------------


def test_timers_lists_pending_timers_in_firing_order_and_round_trips_as_json() -> None:
    machine = Machine.from_config(waiting_config())
    actor = Actor(machine).start()
    actor.advance(10)
    assert actor.timers == [
        PendingTimer("ping", 500, {"type": "PING"}),
        PendingTimer("xstate.after.1000.m.a", 1000, {"type": "xstate.after.1000.m.a"}),
    ]
    assert [PendingTimer.from_json(t.to_json()) for t in actor.timers] == actor.timers


# -- the example in docs/architecture.md ("The testing kit") ----------------------------------


def test_the_documented_example() -> None:
    example = Path(__file__).parents[2] / "examples" / "order"
    spec = importlib.util.spec_from_file_location("order_steps", example / "steps.py")
    assert spec is not None and spec.loader is not None
    steps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(steps)
    machine = Machine.load(example / "order.json", actors=steps.ACTORS)

    # As documented, from here on.
    actor = Actor(machine, input={"orderId": "A-2", "amount": 2500}).start()
    actor.advance("24h")
    saved = json.dumps(actor.snapshot.to_json())  # what your application stored
    timers = [timer.to_json() for timer in actor.timers]  # what the engine keeps beside it
    actor.stop()

    restored = Actor.from_snapshot(machine, saved, timers=timers, clock=actor.clock)
    restored.advance("24h")  # 48 h after the order came in, as before the restore
    assert restored.snapshot.value == "escalated"
