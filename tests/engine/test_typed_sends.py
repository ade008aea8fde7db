"""Typed events in the engine: a payload (or start input) failing the schema its definition
declares is refused naming the field, and nothing is written; one that fits goes through.
On both backends (the `store_url` fixture)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from tests_support import START_MS

from statewright.engine import Engine
from statewright.errors import NotFound, PayloadInvalid
from statewright.testing import VirtualClock

CLAIM: dict[str, Any] = {
    "id": "claim",
    "initial": "review",
    "context": {"customer": {"$expr": "input.customer"}, "paid": 0},
    "statewright": {
        "input": {
            "type": "object",
            "properties": {"customer": {"type": "string", "minLength": 1}},
            "required": ["customer"],
        },
        "events": {
            "PAY": {
                "type": "object",
                "properties": {
                    "amount": {"type": "integer", "minimum": 1},
                    "lines": {
                        "type": "array",
                        "items": {"type": "object", "required": ["sku"],
                                  "properties": {"sku": {"type": "string"}}},
                    },
                },
                "required": ["amount"],
                "additionalProperties": False,
            }
        },
    },
    "states": {
        "review": {
            "on": {
                "PAY": {
                    "target": "paid",
                    "actions": [{"type": "assign", "params": {"paid": {"$expr": "event.amount"}}}],
                },
                "NOTE": {"actions": [{"type": "assign",
                                      "params": {"note": {"$expr": "event.text"}}}]},
            }
        },
        "paid": {"type": "final"},
    },
}  # fmt: skip


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine.open(store_url, clock=VirtualClock(START_MS)) as opened:
        opened.register(CLAIM)
        opened.start("claim", input={"customer": "c-1"}, instance_id="c-1")
        yield opened


def written(engine: Engine, instance_id: str = "c-1") -> tuple[int, int]:
    """The instance's version and the length of its history."""
    return engine.get(instance_id).version, len(engine.history(instance_id))


def test_an_event_that_fits_its_schema_is_committed(engine: Engine) -> None:
    entry = engine.send("c-1", {"type": "PAY", "amount": 30, "lines": [{"sku": "a"}]})
    assert entry.to_value == "paid"
    assert engine.get("c-1").context["paid"] == 30


def test_a_failing_payload_is_refused_naming_the_field_and_writes_nothing(
    engine: Engine,
) -> None:
    before = written(engine)
    with pytest.raises(PayloadInvalid) as info:
        engine.send(
            "c-1",
            {"type": "PAY", "amount": "30", "lines": [{"sku": "a"}, {"sku": 7}]},
            idempotency_key="pay-1",
        )
    error = info.value
    assert error.errors == (
        {"path": "amount", "message": "'30' is not of type 'integer'"},
        {"path": "lines[1].sku", "message": "7 is not of type 'string'"},
    )
    assert (error.instance_id, error.event_type, error.definition_id) == ("c-1", "PAY", "claim")
    assert str(error).startswith("c-1: event 'PAY' does not fit its schema: amount: ")
    assert written(engine) == before
    # The refused request kept no idempotency key: the corrected event under it goes through.
    entry = engine.send("c-1", {"type": "PAY", "amount": 30}, idempotency_key="pay-1")
    assert entry.version == before[0] + 1


def test_an_event_type_without_a_schema_is_not_checked(engine: Engine) -> None:
    engine.send("c-1", {"type": "NOTE", "text": ["anything", 1]})


def test_the_schema_is_stored_with_the_definition(engine: Engine, store_url: str) -> None:
    # Another process that never registered the definition (a server without the Python)
    # refuses the same payload: the schema travels with the stored definition.
    refused = pytest.raises(PayloadInvalid, match=r"amount: 0 is less than the minimum of 1")
    with Engine.open(store_url, clock=VirtualClock(START_MS)) as other, refused:
        other.send("c-1", {"type": "PAY", "amount": 0})


def test_an_instance_keeps_the_schema_of_its_version(engine: Engine) -> None:
    loose = copy.deepcopy(CLAIM)
    loose["statewright"]["events"]["PAY"]["properties"]["amount"]["minimum"] = 0
    engine.register(loose)
    engine.start("claim", input={"customer": "c-2"}, instance_id="c-2")
    with pytest.raises(PayloadInvalid):
        engine.send("c-1", {"type": "PAY", "amount": 0})  # version 1: minimum 1
    assert engine.send("c-2", {"type": "PAY", "amount": 0}).to_value == "paid"


def test_a_start_input_failing_its_schema_starts_nothing(engine: Engine) -> None:
    with pytest.raises(PayloadInvalid) as info:
        engine.start("claim", input={"customer": ""}, instance_id="c-3")
    assert info.value.errors == ({"path": "customer", "message": "'' should be non-empty"},)
    assert info.value.event_type is None
    with pytest.raises(NotFound):
        engine.get("c-3")


def test_a_bulk_send_refuses_each_instance_and_writes_nothing(engine: Engine) -> None:
    engine.start("claim", input={"customer": "c-2"}, instance_id="c-2")
    before = [written(engine, i) for i in ("c-1", "c-2")]
    result = engine.bulk_send({"type": "PAY", "amount": -1}, definition_id="claim")
    assert result.done == ()
    assert sorted(result.refused) == ["c-1", "c-2"]
    assert all(isinstance(e, PayloadInvalid) for e in result.refused.values())
    assert [written(engine, i) for i in ("c-1", "c-2")] == before


def test_accepted_lists_each_events_schema(engine: Engine) -> None:
    found = {event.type: event.schema for event in engine.accepted("c-1").events}
    assert found == {"PAY": CLAIM["statewright"]["events"]["PAY"], "NOTE": None}


def test_validators_are_built_once_per_definition_version(engine: Engine) -> None:
    schemas = engine.registry.machine("claim", 1).event_schemas
    engine.send("c-1", {"type": "NOTE", "text": "x"})
    with pytest.raises(PayloadInvalid):
        engine.send("c-1", {"type": "PAY"})
    engine.send("c-1", {"type": "PAY", "amount": 1})
    assert engine.registry.machine("claim", 1).event_schemas is schemas
