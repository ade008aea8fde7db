"""The snapshot API: `matches`, `has_tag`, `can`, `accepted_events` and the JSON round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from statewright import Machine, Snapshot, SnapshotError, StartStep
from statewright.testing import PENDING, Actor


def order_config() -> dict[str, Any]:
    return {
        "id": "order",
        "initial": "review",
        "context": {"total": 50, "notes": []},
        "states": {
            "review": {
                "tags": ["open"],
                "initial": "waiting",
                "on": {
                    "APPROVE": [
                        {
                            "target": "payment",
                            "guard": {"$expr": "context.total < 100"},
                            "actions": ["t_approve"],
                        }
                    ],
                    "NOTE": {
                        "actions": [
                            {
                                "type": "assign",
                                "params": {"notes": {"$expr": "context.notes + [event.text]"}},
                            }
                        ]
                    },
                    "IGNORED": {},
                    "order.*": {"actions": ["t_family"]},
                },
                "after": {"48h": "escalated"},
                "states": {
                    "waiting": {"on": {"PICK": "picked"}},
                    "picked": {"on": {"DROP": "waiting"}},
                    "hist": {"type": "history", "history": "deep"},
                },
            },
            "escalated": {"on": {"BACK": "review.hist"}},
            "payment": {
                "type": "parallel",
                "states": {
                    "charge": {
                        "initial": "running",
                        "states": {
                            "running": {
                                "invoke": {
                                    "src": "charge",
                                    "id": "charge",
                                    "input": {"$expr": "context.total"},
                                    "onDone": "ok",
                                }
                            },
                            "ok": {"type": "final"},
                        },
                    },
                    "mail": {"initial": "queued", "states": {"queued": {"tags": ["mail"]}}},
                },
            },
        },
    }


def make(rec: Any) -> Machine:
    machine: Machine = rec.machine(order_config(), actors={"charge": lambda total: PENDING})
    return machine


def test_matches_takes_dotted_strings_and_partial_values(rec: Any) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()
    assert snapshot.value == {"review": "waiting"}

    assert snapshot.matches("review")
    assert snapshot.matches("review.waiting")
    assert snapshot.matches({"review": "waiting"})
    assert snapshot.matches({"review": {}})
    assert not snapshot.matches("review.picked")
    assert not snapshot.matches("payment")

    snapshot, _ = machine.transition(snapshot, "APPROVE")
    assert snapshot.value == {"payment": {"charge": "running", "mail": "queued"}}
    assert snapshot.matches({"payment": {"charge": "running"}})
    assert snapshot.matches({"payment": {"charge": "running", "mail": "queued"}})
    assert snapshot.matches("payment.mail.queued")
    assert not snapshot.matches({"payment": {"charge": "ok"}})

    with pytest.raises(TypeError):
        snapshot.matches(42)  # type: ignore[arg-type]


def test_has_tag_looks_at_every_active_state(rec: Any) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()
    assert snapshot.has_tag("open") and not snapshot.has_tag("mail")

    snapshot, _ = machine.transition(snapshot, "APPROVE")

    assert snapshot.has_tag("mail") and not snapshot.has_tag("open")


def test_can_evaluates_guards_without_running_anything(rec: Any) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()
    rec.take()

    assert snapshot.can("APPROVE") is True
    assert snapshot.can({"type": "NOTE", "text": "x"}) is True
    assert snapshot.can("PICK") is True
    assert snapshot.can("order.created") is True
    assert snapshot.can("IGNORED") is False
    assert snapshot.can("UNKNOWN") is False
    assert rec.take() == []
    assert snapshot.context == {"total": 50, "notes": []}

    expensive, _ = machine.initial_transition()
    expensive, _ = machine.transition(expensive, {"type": "NOTE", "text": "big"})
    restored = Snapshot.from_json(
        machine, {**expensive.to_json(), "context": {"total": 500, "notes": []}}
    )
    assert restored.can("APPROVE") is False


def test_can_is_false_for_a_transition_with_only_reenter(rec: Any) -> None:
    machine = rec.machine(
        {"id": "m", "initial": "a", "states": {"a": {"on": {"R": {"reenter": True}}}}}
    )
    snapshot, _ = machine.initial_transition()

    assert snapshot.can("R") is False


def test_accepted_events_lists_the_handled_event_types(rec: Any) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()

    # Wildcards, xstate.* events (after, done) and empty transitions are left out.
    assert set(snapshot.accepted_events) == {"PICK", "APPROVE", "NOTE"}

    snapshot, _ = machine.transition(snapshot, "PICK")
    assert set(snapshot.accepted_events) == {"DROP", "APPROVE", "NOTE"}


def test_to_json_is_the_persisted_shape(rec: Any) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "PICK")
    snapshot, _ = machine.transition(snapshot, {"type": "xstate.after.48h.order.review"})

    data = snapshot.to_json()

    assert data == {
        "machine": "order",
        "status": "active",
        "value": "escalated",
        "configuration": ["order", "order.escalated"],
        "context": {"total": 50, "notes": []},
        "historyValue": {"order.review.hist": ["order.review.picked"]},
        "children": {},
    }
    assert json.loads(json.dumps(data)) == data


def test_a_restored_snapshot_continues_exactly_like_the_original(rec: Any) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()
    timeout = {"type": "xstate.after.48h.order.review"}
    for event in ({"type": "NOTE", "text": "hi"}, "PICK", timeout):
        snapshot, _ = machine.transition(snapshot, event)

    restored = Snapshot.from_json(machine, json.loads(json.dumps(snapshot.to_json())))

    assert restored == snapshot
    assert restored.value == "escalated"
    assert restored.context == {"total": 50, "notes": ["hi"]}
    assert restored.status == "active"
    assert restored.history == {"order.review.hist": ["order.review.picked"]}
    rec.take()
    original_next, original_effects = machine.transition(snapshot, "BACK")
    restored_next, restored_effects = machine.transition(restored, "BACK")
    assert restored_next.value == original_next.value == {"review": "picked"}
    assert restored_next.to_json() == original_next.to_json()
    assert restored_effects == original_effects


def test_running_invocations_survive_the_round_trip(rec: Any) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()
    snapshot, effects = machine.transition(snapshot, "APPROVE")
    assert (
        StartStep(id="charge", src="charge", input=50, state="order.payment.charge.running")
        in effects
    )
    rec.take()

    data = snapshot.to_json()
    assert data["children"] == {
        "charge": {"src": "charge", "input": 50, "state": "order.payment.charge.running"},
    }
    restored = machine.snapshot_from_json(json.loads(json.dumps(data)))
    assert restored.children == snapshot.children

    done, _ = machine.transition(restored, {"type": "xstate.done.actor.charge", "output": 1})
    assert done.value == {"payment": {"charge": "ok", "mail": "queued"}}
    assert done.children == {}


def test_done_and_error_snapshots_round_trip(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "output": {"x": 1},
            "states": {
                "a": {"on": {"FINISH": "f", "FAIL": {"actions": ["boom"]}}},
                "f": {"type": "final"},
            },
        },
        actions={"boom": lambda context, event: 1 / 0},
    )
    start, _ = machine.initial_transition()

    for event, status in (("FINISH", "done"), ("FAIL", "error")):
        snapshot, _ = machine.transition(start, event)
        assert snapshot.status == status
        data = json.loads(json.dumps(snapshot.to_json()))
        restored = Snapshot.from_json(machine, data)
        assert restored.status == status
        assert restored.to_json() == data
        assert machine.transition(restored, "FINISH").snapshot.status == status


def test_a_restored_snapshot_is_read_the_way_xstate_restores_values(rec: Any) -> None:
    machine = make(rec)
    restored = Snapshot.from_json(
        machine, {"status": "active", "value": "review", "context": {"total": 1, "notes": []}}
    )

    # Missing levels are completed with initial states; missing keys default to empty.
    assert restored.value == {"review": "waiting"}
    assert restored.history == {}
    assert restored.children == {}
    assert restored.configuration == ("order", "order.review", "order.review.waiting")


def test_snapshots_are_equal_when_their_json_is(rec: Any) -> None:
    machine = make(rec)
    first, _ = machine.initial_transition()
    second, _ = machine.initial_transition()

    assert first == second
    third, _ = machine.transition(first, "PICK")
    assert third != first


def test_a_snapshot_of_an_equivalent_machine_can_be_transitioned(rec: Any) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()
    other = machine.provide(actions={"t_approve": lambda context, event: None})

    snapshot, _ = other.transition(snapshot, "APPROVE")

    assert snapshot.machine is other
    assert snapshot.value == {"payment": {"charge": "running", "mail": "queued"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"value": {"review": "lost"}}, "'lost'"),
        ({"value": "nowhere"}, "'nowhere'"),
        ({"machine": "invoice"}, "'invoice'"),
        ({"status": "running"}, "'running'"),
        ({"extra": 1}, "'extra'"),
        ({"context": [1]}, "context must be an object"),
        ({"historyValue": {"order.review.nohist": ["order.review.waiting"]}}, "nohist"),
        ({"historyValue": {"order.review.hist": ["order.gone"]}}, "order.gone"),
        ({"children": {"charge": {"input": 1}}}, "'src'"),
        ({"value": 5}, "string or object"),
    ],
)
def test_a_snapshot_that_does_not_fit_the_machine_is_refused(
    rec: Any, change: dict[str, Any], message: str
) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()
    data = {**snapshot.to_json(), **change}

    with pytest.raises(SnapshotError) as info:
        Snapshot.from_json(machine, data)

    assert message in str(info.value)


@pytest.mark.parametrize(
    "change",
    [
        {"value": {"review": "hist"}},
        {"value": {"review": {"waiting": {}, "picked": {}}}},
        {"value": {"review": "waiting", "escalated": {}}},
        {"historyValue": {"order.review": ["order.review.waiting"]}},
        {"historyValue": {"order.review.hist": ["order.escalated"]}},
        {"children": {"charge": {"src": "charge", "input": 1, "state": "order.nowhere"}}},
    ],
    ids=[
        "history-state-active",
        "two-children",
        "two-root-children",
        "not-a-history-id",
        "history-outside-parent",
        "child-of-unknown-state",
    ],
)
def test_a_snapshot_with_an_impossible_configuration_is_refused(
    rec: Any, change: dict[str, Any]
) -> None:
    machine = make(rec)
    snapshot, _ = machine.initial_transition()

    with pytest.raises(SnapshotError):
        Snapshot.from_json(machine, {**snapshot.to_json(), **change})


def test_the_testing_actor_snapshot_round_trips_mid_flight(rec: Any) -> None:
    machine = make(rec)
    actor = Actor(machine).start()
    actor.send("APPROVE")

    data = actor.snapshot.to_json()
    restored = Snapshot.from_json(machine, data)

    assert restored == actor.snapshot
    assert restored.to_json() == data


def test_a_machine_read_without_its_implementations_accepts_what_the_definition_declares() -> None:
    # The CLI's `accepted` and the API read a stored definition without the process's
    # implementations: a transition with only actions is still one the state accepts.
    config = {
        "id": "cart",
        "initial": "open",
        "states": {
            "open": {
                "on": {
                    "ADD": {"actions": "count"},
                    "NOTE": {"actions": ["count", "count"]},
                    "NOTHING": {"actions": []},
                    "CHECKOUT": "paid",
                }
            },
            "paid": {},
        },
    }
    provided = Machine.from_config(config, actions={"count": lambda context, event: None})
    snapshot = provided.initial_transition().snapshot
    read = Snapshot.from_json(Machine.from_config(config), snapshot.to_json())
    assert snapshot.accepted_events == read.accepted_events == ("ADD", "NOTE", "CHECKOUT")
