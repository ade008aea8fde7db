"""Validation of event descriptors and raised events."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import DefinitionError, Fault, Machine


def machine(**states: object) -> dict[str, object]:
    return {"id": "m", "initial": next(iter(states)), "states": states}


def only_fault(config: object) -> Fault:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config)  # type: ignore[arg-type]
    assert len(info.value.faults) == 1, str(info.value)
    fault = info.value.faults[0]
    assert fault.fix, fault
    assert f"{fault.path or '(machine)'}: {fault.message}; {fault.fix}" in str(info.value)
    return fault


def test_empty_event_type() -> None:
    fault = only_fault(machine(a={"on": {"": "b"}}, b={}))
    assert fault.path == 'states.a.on[""]'
    assert fault.message == "an empty event type is not allowed"
    assert fault.fix == 'use "always" for eventless transitions'


def test_transitions_of_an_empty_event_are_still_checked() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(machine(a={"on": {"": "bb"}}, b={}))
    assert [f.path for f in info.value.faults] == ['states.a.on[""]', 'states.a.on[""].target']


@pytest.mark.parametrize(
    ("descriptor", "fix"),
    [
        ("order*", 'write "order.*" or "*"'),
        ("order.*.paid", 'write "order.*" or "*"'),
        ("*.paid", 'write "order.*" or "*"'),
        ("**", 'write "order.*" or "*"'),
    ],
)
def test_wildcard_only_at_the_end_after_a_dot(descriptor: str, fix: str) -> None:
    fault = only_fault(machine(a={"on": {descriptor: "a"}}))
    assert fault.path == f'states.a.on["{descriptor}"]'
    assert fault.message.startswith(f'"{descriptor}" never matches')
    assert fault.fix == fix


@pytest.mark.parametrize("descriptor", ["*", "order.*", "order.paid"])
def test_valid_descriptors_are_accepted(descriptor: str) -> None:
    Machine.from_config(machine(a={"on": {descriptor: "a"}}))


def test_event_type_with_spaces_around_it() -> None:
    fault = only_fault(machine(a={"on": {"SUBMIT ": "a"}}))
    assert fault.path == 'states.a.on["SUBMIT "]'
    assert fault.message == 'event type "SUBMIT " has spaces around it'
    assert fault.fix == 'write "SUBMIT"'


def test_boolean_event_type_from_yaml() -> None:
    fault = only_fault(machine(a={"on": {False: "a"}}))
    assert fault.path == "states.a.on.False"
    assert fault.message == "event type False is a boolean"
    assert "YAML" in fault.fix


def only_warning(config: object, **implementations: Any) -> Fault:
    """The definition loads; it has exactly one warning, with a fix."""
    loaded = Machine.from_config(config, **implementations)  # type: ignore[arg-type]
    assert len(loaded.warnings) == 1, loaded.warnings
    warning = loaded.warnings[0]
    assert warning.fix, warning
    return warning


def test_raised_event_no_state_handles_is_a_warning_with_the_near_miss() -> None:
    config = machine(
        a={
            "entry": {"type": "raise", "params": {"event": {"type": "SUBMT"}}},
            "on": {"SUBMIT": "b"},
        },
        b={},
    )
    warning = only_warning(config)
    assert warning.path == "states.a.entry.params.event"
    assert warning.message == (
        'no state handles the raised event "SUBMT": it is dropped when processed'
    )
    assert warning.fix == 'did you mean "SUBMIT"?'


def test_raised_event_as_a_string_in_an_action_list() -> None:
    config = machine(
        a={"on": {"GO": {"actions": ["x", {"type": "raise", "params": {"event": "DONN"}}]}}},
        b={"on": {"DONE": "a"}},
    )
    warning = only_warning(config, actions={"x": lambda context, event: None})
    assert warning.path == "states.a.on.GO.actions[1].params.event"
    assert warning.fix == 'did you mean "DONE"?'


def test_raised_event_without_a_near_miss() -> None:
    config = machine(a={"entry": {"type": "raise", "params": {"event": "ZZZ"}}, "on": {"GO": {}}})
    warning = only_warning(config)
    assert warning.fix == "add a transition for it, or remove the raise if nothing should"


def test_every_unhandled_raise_is_warned_at_its_own_path() -> None:
    raise_zzz = {"type": "raise", "params": {"event": "ZZZ", "delay": 100}}
    config = machine(a={"entry": [raise_zzz], "exit": raise_zzz, "on": {"GO": {}}})
    paths = [w.path for w in Machine.from_config(config).warnings]
    assert paths == ["states.a.entry[0].params.event", "states.a.exit.params.event"]


def test_a_handled_raise_and_a_clean_definition_have_no_warnings() -> None:
    config = machine(a={"entry": {"type": "raise", "params": {"event": "GO"}}, "on": {"GO": {}}})
    assert Machine.from_config(config).warnings == ()


def test_a_warning_is_not_one_of_the_faults() -> None:
    config = machine(
        a={"entry": {"type": "raise", "params": {"event": "SUBMT"}}, "on": {"GO": "nowhere"}}
    )
    fault = only_fault(config)
    assert fault.path == "states.a.on.GO.target"


@pytest.mark.parametrize("descriptor", ["*", "order.*"])
def test_raised_event_accepted_by_a_wildcard(descriptor: str) -> None:
    config = machine(
        a={"entry": {"type": "raise", "params": {"event": "order.paid"}}, "on": {descriptor: "b"}},
        b={},
    )
    assert Machine.from_config(config).initial_transition().snapshot.value == "b"
