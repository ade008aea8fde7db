"""Validation of ids and state keys: duplicates, empty or unusable names, invoke ids."""

from __future__ import annotations

import pytest

from statewright import DefinitionError, Fault, Machine


def machine(**states: object) -> dict[str, object]:
    return {"id": "m", "initial": next(iter(states)), "states": states}


def only_fault(config: object, **impls: object) -> Fault:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config, **impls)  # type: ignore[arg-type]
    assert len(info.value.faults) == 1, str(info.value)
    fault = info.value.faults[0]
    assert fault.fix, fault
    assert f"{fault.path or '(machine)'}: {fault.message}; {fault.fix}" in str(info.value)
    return fault


def test_duplicate_custom_ids() -> None:
    fault = only_fault(machine(a={"id": "review"}, b={"id": "review"}))
    assert fault.path == "states.b.id"
    assert fault.message == 'duplicate state id "review" (also states.a)'
    assert fault.fix.startswith("rename this id or the one at states.a.id")


def test_custom_id_equal_to_an_earlier_generated_id() -> None:
    fault = only_fault(machine(a={}, b={"id": "m.a"}))
    assert fault.path == "states.b.id"
    assert fault.message == 'duplicate state id "m.a" (also states.a)'
    assert fault.fix.startswith("rename this id")


def test_generated_id_equal_to_an_earlier_custom_id() -> None:
    fault = only_fault(machine(a={"id": "m.b"}, b={}))
    assert fault.path == "states.b"
    assert fault.message == 'duplicate state id "m.b" (also states.a)'
    assert fault.fix.startswith("rename the id at states.a.id")


def test_custom_id_equal_to_the_machine_id() -> None:
    fault = only_fault(machine(a={"id": "m"}))
    assert fault.path == "states.a.id"
    assert fault.message == 'duplicate state id "m" (also the machine)'


@pytest.mark.parametrize("machine_id", ["", 5])
def test_machine_id_must_be_a_non_empty_string(machine_id: object) -> None:
    fault = only_fault({"id": machine_id, "initial": "a", "states": {"a": {}}})
    assert fault.path == "id"
    assert fault.message == "the machine id must be a non-empty string"
    assert fault.fix == 'write "id": "order"'


@pytest.mark.parametrize("state_id", ["", 7])
def test_state_id_must_be_a_non_empty_string(state_id: object) -> None:
    fault = only_fault(machine(a={"id": state_id}))
    assert fault.path == "states.a.id"
    assert fault.message == "a state id must be a non-empty string"
    assert fault.fix == "remove it or write a name"


@pytest.mark.parametrize(("key", "path"), [("a.b", 'states["a.b"]'), ("", 'states[""]')])
def test_state_keys_must_be_usable(key: str, path: str) -> None:
    fault = only_fault({"id": "m", "initial": "ok", "states": {"ok": {}, key: {}}})
    assert fault.path == path
    assert fault.message == f"state key {key!r} is not usable"
    assert 'without "."' in fault.fix


def test_duplicate_invoke_ids_in_one_state() -> None:
    config = machine(a={"invoke": [{"src": "step", "id": "job"}, {"src": "step", "id": "job"}]})
    fault = only_fault(config, actors={"step": print})
    assert fault.path == "states.a.invoke[1].id"
    assert fault.message == 'duplicate invoke id "job" (also states.a.invoke[0])'
    assert "own id" in fault.fix


@pytest.mark.parametrize("invoke_id", ["", 3])
def test_invoke_id_must_be_a_non_empty_string(invoke_id: object) -> None:
    fault = only_fault(
        machine(a={"invoke": {"src": "step", "id": invoke_id}}), actors={"step": print}
    )
    assert fault.path == "states.a.invoke.id"
    assert fault.message == "an invoke id must be a non-empty string"
    assert "generated id" in fault.fix


def test_invoke_needs_a_src() -> None:
    fault = only_fault(machine(a={"invoke": {"id": "job", "onDone": "a"}}))
    assert fault.path == "states.a.invoke.src"
    assert 'an invoke needs "src"' in fault.message
    assert '"src": "chargeCard"' in fault.fix


def test_invoke_without_src_still_has_its_transitions_checked() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(machine(a={"invoke": {"onDone": "bb"}}, b={}))
    assert [f.path for f in info.value.faults] == [
        "states.a.invoke.src",
        "states.a.invoke.onDone.target",
    ]


def test_invoke_must_be_an_object() -> None:
    fault = only_fault(machine(a={"invoke": "chargeCard"}))
    assert fault.path == "states.a.invoke"
    assert fault.message == "an invoke must be an object, not the string 'chargeCard'"
    assert fault.fix == 'write "invoke": {"src": "chargeCard", "onDone": "paid"}'
