"""`tags`, `meta` and `description`: data about states that never changes behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import DefinitionError, Machine


def config() -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "review",
        "description": "an order review",
        "states": {
            "review": {
                "tags": ["busy", "visible"],
                "description": "waiting for a reviewer",
                "meta": {"form": "review.html", "sla": {"hours": 48}},
                "initial": "queued",
                "states": {
                    "queued": {"tags": "waiting", "entry": ["in_queued"], "on": {"PICK": "open"}},
                    "open": {"tags": ["busy"]},
                },
                "on": {
                    "DONE": {
                        "target": "closed",
                        "description": "reviewer finished",
                        "meta": {"audit": True},
                        "actions": ["t_done"],
                    }
                },
            },
            "closed": {"type": "final", "meta": {"form": None}},
        },
    }


def test_tags_of_every_active_state_are_on_the_snapshot(rec: Any) -> None:
    machine = rec.machine(config())

    snapshot, _ = machine.initial_transition()

    assert snapshot.value == {"review": "queued"}
    assert snapshot.context == {}
    assert snapshot.status == "active"
    assert rec.take() == ["in_queued"]
    assert snapshot.tags == frozenset({"busy", "visible", "waiting"})
    assert snapshot.has_tag("waiting")
    assert not snapshot.has_tag("closed")


def test_tags_follow_the_active_states(rec: Any) -> None:
    machine = rec.machine(config())
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "PICK")
    assert snapshot.tags == frozenset({"busy", "visible"})
    assert not snapshot.has_tag("waiting")

    snapshot, _ = machine.transition(snapshot, "DONE")
    assert snapshot.status == "done"
    assert snapshot.tags == frozenset()
    assert rec.take() == ["in_queued", "t_done"]


def test_tags_of_parallel_regions_are_combined(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "payment": {
                    "initial": "pending",
                    "states": {
                        "pending": {"tags": ["unpaid"], "on": {"PAID": "paid"}},
                        "paid": {},
                    },
                },
                "shipping": {"initial": "packing", "states": {"packing": {"tags": ["busy"]}}},
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    assert snapshot.tags == frozenset({"unpaid", "busy"})

    snapshot, _ = machine.transition(snapshot, "PAID")

    assert snapshot.tags == frozenset({"busy"})
    assert snapshot.value == {"payment": "paid", "shipping": "packing"}


def test_meta_and_description_are_kept_on_the_state_nodes() -> None:
    machine = Machine.from_config(config())

    review = machine.get_state("m.review")
    assert review.meta == {"form": "review.html", "sla": {"hours": 48}}
    assert review.description == "waiting for a reviewer"
    assert review.tags == ("busy", "visible")
    assert machine.root.description == "an order review"
    assert machine.get_state("m.closed").meta == {"form": None}
    assert machine.get_state("m.review.open").meta is None
    assert machine.get_state("m.review.open").description is None


def test_meta_and_description_do_not_change_behaviour(rec: Any) -> None:
    plain = config()
    del plain["description"]
    for state in plain["states"].values():
        for key in ("meta", "description"):
            state.pop(key, None)
    plain["states"]["review"]["on"]["DONE"] = {"target": "closed", "actions": ["t_done"]}
    with_data, without = rec.machine(config()), rec.machine(plain)

    runs = []
    for machine in (with_data, without):
        snapshot, _ = machine.initial_transition()
        for event in ("PICK", "DONE"):
            snapshot, _ = machine.transition(snapshot, event)
        runs.append((snapshot.value, snapshot.status, rec.take()))

    assert runs[0] == runs[1] == ("closed", "done", ["in_queued", "t_done"])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("tags", [1], "tags must be a list of strings"),
        ("description", 5, "a description is text"),
    ],
)
def test_badly_typed_tags_and_descriptions_are_faults(key: str, value: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        Machine.from_config({"id": "m", "initial": "a", "states": {"a": {key: value}}})
