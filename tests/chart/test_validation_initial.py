"""Validation of "initial": missing, misspelt, of the wrong kind, or on a state without one."""

from __future__ import annotations

import pytest

from statewright import DefinitionError, Fault, Machine


def only_fault(config: object) -> Fault:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config)  # type: ignore[arg-type]
    assert len(info.value.faults) == 1, str(info.value)
    fault = info.value.faults[0]
    assert fault.fix, fault
    assert f"{fault.path or '(machine)'}: {fault.message}; {fault.fix}" in str(info.value)
    return fault


def nested(**checkout: object) -> dict[str, object]:
    """A machine whose state "checkout" is configured by the test."""
    return {"id": "m", "initial": "checkout", "states": {"checkout": checkout}}


def test_missing_initial_names_the_state_and_suggests_its_first_child() -> None:
    fault = only_fault(nested(states={"cart": {}, "pay": {}}))
    assert fault.path == "states.checkout"
    assert fault.message == 'compound state has no "initial"'
    assert fault.fix == 'add "initial": "cart" (its first child)'


def test_missing_initial_of_the_machine() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config({"id": "m", "states": {"idle": {}, "busy": {}}})
    (fault,) = info.value.faults
    assert fault.path == ""
    assert fault.message == 'the machine has child states but no "initial"'
    assert fault.fix == 'add "initial": "idle" (its first child)'
    assert '(machine): the machine has child states but no "initial"' in str(info.value)


def test_missing_initial_does_not_suggest_a_history_state() -> None:
    fault = only_fault(nested(states={"h": {"type": "history"}, "cart": {}}))
    assert fault.fix == 'add "initial": "cart" (its first child)'


def test_misspelt_initial_suggests_the_child() -> None:
    fault = only_fault(nested(initial="crat", states={"cart": {}, "pay": {}}))
    assert fault.path == "states.checkout.initial"
    assert fault.message == 'no child state "crat" to start in'
    assert fault.fix == 'did you mean "cart"?'


def test_unknown_initial_without_a_near_miss_lists_the_children() -> None:
    fault = only_fault(nested(initial="zzz", states={"cart": {}, "pay": {}}))
    assert fault.fix == "its states are cart, pay"


@pytest.mark.parametrize("initial", ["#m.checkout.cart", "checkout.cart"])
def test_initial_is_a_child_key_not_a_target(initial: str) -> None:
    fault = only_fault(nested(initial=initial, states={"cart": {}}))
    assert fault.path == "states.checkout.initial"
    assert fault.fix.startswith('"initial" names a direct child by its key')


@pytest.mark.parametrize(
    ("initial", "kind"), [(5, "the number 5"), (["cart"], "a list"), (True, "true")]
)
def test_initial_must_be_a_string(initial: object, kind: str) -> None:
    fault = only_fault(nested(initial=initial, states={"cart": {}}))
    assert fault.path == "states.checkout.initial"
    assert fault.message == f'"initial" must name a child state, not {kind}'
    assert fault.fix == 'write "cart" (its first child)'


def test_initial_null_is_reported() -> None:
    fault = only_fault(nested(initial=None, states={"cart": {}}))
    assert fault.path == "states.checkout.initial"
    assert fault.message == '"initial" must name a child state, not null'
    assert fault.fix == 'write "initial": "cart"'


def test_initial_object_form_is_accepted() -> None:
    config = nested(
        initial={"target": "pay", "actions": {"type": "assign", "params": {"n": 1}}},
        states={"cart": {}, "pay": {}},
    )
    config["context"] = {"n": 0}
    snapshot = Machine.from_config(config).initial_transition().snapshot
    assert snapshot.value == {"checkout": "pay"}
    assert snapshot.context == {"n": 1}


def test_initial_object_needs_a_target() -> None:
    fault = only_fault(nested(initial={"actions": []}, states={"cart": {}}))
    assert fault.path == "states.checkout.initial.target"
    assert fault.message == 'an "initial" object needs a "target"'
    assert '"target": "cart"' in fault.fix


def test_initial_object_with_a_misspelt_target() -> None:
    fault = only_fault(nested(initial={"target": "crat"}, states={"cart": {}}))
    assert fault.path == "states.checkout.initial.target"
    assert fault.fix == 'did you mean "cart"?'


def test_initial_object_with_an_unknown_key() -> None:
    fault = only_fault(nested(initial={"target": "cart", "guard": "x"}, states={"cart": {}}))
    assert fault.path == "states.checkout.initial.guard"
    assert "unknown initial key 'guard'" in fault.message
    assert fault.fix.startswith("allowed keys: ")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"initial": "x"}, "an atomic state has no child states to start in"),
        ({"type": "final", "initial": "x"}, "a final state has no child states to start in"),
    ],
)
def test_initial_on_a_state_without_children(config: dict[str, object], message: str) -> None:
    fault = only_fault(nested(**config))
    assert fault.path == "states.checkout.initial"
    assert fault.message == message
    assert fault.fix == 'remove "initial"'


def test_initial_on_a_parallel_state() -> None:
    config = nested(type="parallel", initial="a", states={"a": {}, "b": {}})
    fault = only_fault(config)
    assert fault.path == "states.checkout.initial"
    assert fault.message == 'a parallel state has no "initial"'
    assert "every region of a parallel state is entered" in fault.fix


def test_initial_on_a_history_state() -> None:
    config = nested(initial="a", states={"a": {}, "h": {"type": "history", "initial": "a"}})
    fault = only_fault(config)
    assert fault.path == "states.checkout.states.h.initial"
    assert fault.message == "a history state has no child states to start in"
