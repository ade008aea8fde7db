"""Typed events: JSON Schemas declared per event type (and for the start input) under the
machine's `"statewright"` object, checked at load and applied by `Machine.check_event`."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from statewright import DefinitionError, Machine, PayloadInvalid

APPROVE = {
    "type": "object",
    "properties": {
        "amount": {"type": "number", "minimum": 0},
        "items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
    },
    "required": ["amount"],
    "additionalProperties": False,
    "$defs": {"item": {"type": "object", "properties": {"sku": {"type": "string"}},
                       "required": ["sku"]}},
}  # fmt: skip


def typed(**options: object) -> dict[str, Any]:
    return {
        "id": "order",
        "initial": "review",
        "statewright": {"events": {"APPROVE": APPROVE}, **options},
        "states": {
            "review": {"on": {"APPROVE": "approved", "REJECT": "rejected"}},
            "approved": {"type": "final"},
            "rejected": {"type": "final"},
        },
    }


def refusal(machine: Machine, event: dict[str, object]) -> PayloadInvalid:
    with pytest.raises(PayloadInvalid) as info:
        machine.check_event(event)
    return info.value


def faults_of(config: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config)
    return [(fault.path, fault.message) for fault in info.value.faults]


def test_an_event_that_fits_its_schema_passes() -> None:
    machine = Machine.from_config(typed())
    machine.check_event({"type": "APPROVE", "amount": 3, "items": [{"sku": "a-1"}]})
    assert machine.warnings == ()


def test_the_schema_describes_the_fields_besides_type() -> None:
    # additionalProperties: false closes the fields without having to allow "type".
    Machine.from_config(typed()).check_event({"type": "APPROVE", "amount": 0})


def test_a_failing_field_is_named_with_its_path() -> None:
    error = refusal(
        Machine.from_config(typed()),
        {"type": "APPROVE", "amount": -5, "items": [{"sku": "a"}, {"sku": "b"}, {}]},
    )
    assert error.errors == (
        {"path": "amount", "message": "-5 is less than the minimum of 0"},
        {"path": "items[2].sku", "message": "'sku' is a required property"},
    )
    assert error.event_type == "APPROVE"
    assert error.definition_id == "order"
    assert "amount: -5 is less than the minimum of 0" in str(error)
    assert "items[2].sku: 'sku' is a required property" in str(error)
    assert "statewright.events.APPROVE" in str(error)


def test_a_missing_required_field_and_an_unexpected_one() -> None:
    error = refusal(Machine.from_config(typed()), {"type": "APPROVE", "amuont": 1})
    assert error.errors == (
        {"path": "amount", "message": "'amount' is a required property"},
        {"path": "", "message": "Additional properties are not allowed ('amuont' was unexpected)"},
    )


def test_event_types_without_a_schema_are_not_checked() -> None:
    Machine.from_config(typed()).check_event({"type": "REJECT", "anything": [1, 2]})


def test_strict_events_refuses_an_undeclared_type_but_not_xstate_events() -> None:
    machine = Machine.from_config(typed(strict_events=True))
    error = refusal(machine, {"type": "REJECT"})
    assert error.errors == (
        {
            "path": "type",
            "message": "'REJECT' is not a declared event type (declared: APPROVE); "
            "this definition sets strict_events",
        },
    )
    machine.check_event({"type": "xstate.after.1000.order.review"})


def test_the_start_input_schema() -> None:
    config = typed(input={"type": "object", "required": ["customer"]})
    machine = Machine.from_config(config)
    machine.check_input({"customer": "c-1"})
    with pytest.raises(PayloadInvalid) as info:
        machine.check_input({}, instance_id="order-1")
    assert info.value.event_type is None
    assert info.value.errors == (
        {"path": "customer", "message": "'customer' is a required property"},
    )
    assert str(info.value).startswith("order-1: the start input does not fit its schema")


def test_a_bad_schema_is_a_fault_at_its_path() -> None:
    config = typed()
    config["statewright"]["events"]["APPROVE"] = {"type": "objekt", "required": "amount"}
    config["statewright"]["events"]["REJECT"] = 3
    config["statewright"]["input"] = {"minimum": "zero"}
    invalid = "not a valid JSON Schema: "
    assert sorted(faults_of(config)) == [
        ("statewright.events.APPROVE.required", invalid + "'amount' is not of type 'array'"),
        ("statewright.events.APPROVE.type",
         invalid + "'objekt' is not valid under any of the given schemas"),
        ("statewright.events.REJECT", "a schema must be an object or a boolean, not the number 3"),
        ("statewright.input.minimum", invalid + "'zero' is not of type 'number'"),
    ]  # fmt: skip


def test_references_must_resolve_inside_the_schema() -> None:
    config = typed()
    schema = copy.deepcopy(APPROVE)
    schema["properties"]["items"]["items"] = {"$ref": "#/$defs/itme"}
    schema["properties"]["remote"] = {"$ref": "https://example.com/item.json"}
    config["statewright"]["events"]["APPROVE"] = schema
    assert sorted(faults_of(config)) == [
        ('statewright.events.APPROVE.properties.items.items["$ref"]',
         "$ref '#/$defs/itme' does not resolve inside this schema"),
        ('statewright.events.APPROVE.properties.remote["$ref"]',
         "$ref 'https://example.com/item.json' does not resolve inside this schema"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ({"events": ["APPROVE"]}, "statewright.events",
         '"events" must map event types to schemas, not a list'),
        ({"events": {"order.*": {}}}, 'statewright.events["order.*"]',
         "'order.*' cannot have a schema: declare one per exact event type"),
        ({"events": {"xstate.init": {}}}, "statewright.events[\"xstate.init\"]",
         "'xstate.init' cannot have a schema: it is reserved"),
        ({"strict_events": "yes"}, "statewright.strict_events",
         "strict_events must be true or false"),
        ({"events": {"APPROVE": {"$schema": "http://json-schema.org/draft-07/schema#"}}},
         'statewright.events.APPROVE["$schema"]',
         "unsupported schema dialect 'http://json-schema.org/draft-07/schema#'"),
        ({"evnets": {}}, "statewright.evnets", "unknown statewright option 'evnets'"),
    ],
)  # fmt: skip
def test_malformed_options_are_faults(options: dict[str, object], path: str, message: str) -> None:
    config = typed()
    config["statewright"] = options
    assert faults_of(config) == [(path, message)]


def test_a_declared_type_no_state_handles_is_a_warning() -> None:
    config = typed()
    config["statewright"]["events"]["REJCT"] = {"type": "object"}
    machine = Machine.from_config(config)
    assert [(w.path, w.message, w.fix) for w in machine.warnings] == [
        ("statewright.events.REJCT", 'no state handles the declared event "REJCT"',
         'did you mean "REJECT"?'),
    ]  # fmt: skip


def test_states_take_no_event_schemas() -> None:
    config = typed()
    config["states"]["review"]["statewright"] = {"events": {}}
    assert faults_of(config) == [
        ("states.review.statewright.events", "unknown statewright option 'events'")
    ]


def test_transition_itself_checks_no_payload_as_in_xstate() -> None:
    machine = Machine.from_config(typed())
    snapshot = machine.transition(machine.initial_transition().snapshot, {"type": "APPROVE"})
    assert snapshot.snapshot.value == "approved"


def test_xstate_types_key_is_accepted_and_checks_nothing() -> None:
    config = typed()
    config["types"] = {"events": {"REJECT": {"reason": "string"}}}

    machine = Machine.from_config(config)

    # Only the statewright schemas check events; XState's types are for TypeScript.
    assert machine.event_schemas.events == {"APPROVE": APPROVE}
    machine.check_event({"type": "REJECT"})
