"""Validation of keys: unknown and misspelt keys, XState v4 names, and values of the wrong shape.

Each test checks the exact JSON path of the fault, that the message says what is wrong, and that
the fix says what to write instead.
"""

from __future__ import annotations

import pytest

from statewright import DefinitionError, Fault, Machine


def machine(**states: object) -> dict[str, object]:
    return {"id": "m", "initial": next(iter(states)), "states": states}


def only_fault(config: object, **impls: object) -> Fault:
    """The definition's one fault; the error message must show its path, message and fix."""
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config, **impls)  # type: ignore[arg-type]
    assert len(info.value.faults) == 1, str(info.value)
    fault = info.value.faults[0]
    assert fault.fix, fault
    assert f"{fault.path or '(machine)'}: {fault.message}; {fault.fix}" in str(info.value)
    return fault


# --- misspelt keys get a "did you mean" ------------------------------------------------------


def test_misspelt_state_key_suggests_the_right_one() -> None:
    fault = only_fault(machine(a={"entyr": []}))
    assert fault.path == "states.a.entyr"
    assert fault.message == "unknown state key 'entyr'"
    assert fault.fix == 'did you mean "entry"?'


def test_misspelt_root_key_is_reported_at_the_root() -> None:
    fault = only_fault({"id": "m", "initial": "a", "contxt": {}, "states": {"a": {}}})
    assert fault.path == "contxt"
    assert fault.fix == 'did you mean "context"?'


def test_misspelt_transition_key() -> None:
    fault = only_fault(machine(a={"on": {"GO": {"taget": "b"}}}, b={}))
    assert fault.path == "states.a.on.GO.taget"
    assert "unknown transition key 'taget'" in fault.message
    assert fault.fix == 'did you mean "target"?'


def test_misspelt_invoke_key() -> None:
    fault = only_fault(
        machine(a={"invoke": {"src": "charge", "onDon": "a"}}), actors={"charge": print}
    )
    assert fault.path == "states.a.invoke.onDon"
    assert "unknown invoke key" in fault.message
    assert fault.fix == 'did you mean "onDone"?'


def test_misspelt_key_in_an_initial_object() -> None:
    fault = only_fault({"id": "m", "initial": {"target": "a", "actons": []}, "states": {"a": {}}})
    assert fault.path == "initial.actons"
    assert fault.fix == 'did you mean "actions"?'


def test_unknown_key_without_a_near_miss_lists_the_allowed_keys() -> None:
    fault = only_fault(machine(a={"on": {"GO": {"target": "a", "priority": 1}}}))
    assert fault.path == "states.a.on.GO.priority"
    assert fault.fix.startswith("allowed keys: ")
    assert "guard" in fault.fix and "target" in fault.fix


def test_an_unknown_key_of_the_machine_is_called_a_machine_key() -> None:
    fault = only_fault({"id": "m", "initial": "a", "contxt": {}, "states": {"a": {}}})
    assert fault.message == "unknown machine key 'contxt'"


@pytest.mark.parametrize("key", ["types", "schemas"])
def test_xstate_type_information_on_the_machine_is_accepted_and_ignored(key: str) -> None:
    config = {"id": "m", "initial": "a", key: {"context": {}, "events": {}}, "states": {"a": {}}}

    snapshot, _ = Machine.from_config(config).initial_transition()

    assert snapshot.value == "a"


@pytest.mark.parametrize("key", ["types", "schemas", "options"])
def test_machine_keys_on_a_state_say_they_belong_on_the_machine(key: str) -> None:
    fault = only_fault(machine(a={key: {}}))
    assert fault.path == f"states.a.{key}"
    assert fault.message == f"unknown state key {key!r}"
    assert f'"{key}" belongs on the machine itself' in fault.fix


def test_a_route_says_statewright_has_no_routes_and_what_to_write() -> None:
    fault = only_fault(machine(a={}, b={"id": "b", "route": {"guard": "ok"}}))
    assert fault.path == "states.b.route"
    assert "statewright does not support routes" in fault.fix
    assert 'write a transition on the machine, which every state inherits: "on":' in fault.fix


@pytest.mark.parametrize(
    ("options", "path", "message", "fix"),
    [
        ([5], "options", "the machine options must be an object, not a list", '"maxIterations"'),
        (
            {"maxIteration": 5},
            "options.maxIteration",
            "unknown machine option 'maxIteration'",
            'did you mean "maxIterations"?',
        ),
        (
            {"maxIterations": 0},
            "options.maxIterations",
            "maxIterations must be a whole number >= 1, not 0",
            "write 100",
        ),
        (
            {"maxIterations": float("inf")},
            "options.maxIterations",
            "maxIterations must be a whole number >= 1, not inf",
            "Infinity is not accepted",
        ),
    ],
    ids=["not-an-object", "misspelt", "zero", "infinity"],
)
def test_machine_options_are_checked(options: object, path: str, message: str, fix: str) -> None:
    fault = only_fault({"id": "m", "initial": "a", "options": options, "states": {"a": {}}})
    assert fault.path == path
    assert fault.message == message
    assert fix in fault.fix


def test_machine_only_keys_on_a_state_say_where_they_belong() -> None:
    fault = only_fault(machine(a={"context": {}}))
    assert fault.path == "states.a.context"
    assert "move it to the top level" in fault.fix


# --- XState v4 keys get their v5 name as the fix ---------------------------------------------


@pytest.mark.parametrize(
    ("config", "path", "expected_fix"),
    [
        (
            machine(a={"on": {"GO": {"target": "b", "cond": "ok"}}}, b={}),
            "states.a.on.GO.cond",
            'write "guard"',
        ),
        (
            machine(a={"on": {"GO": {"target": "b", "internal": False}}}, b={}),
            "states.a.on.GO.internal",
            '"reenter": true',
        ),
        (machine(a={"onEntry": []}), "states.a.onEntry", 'write "entry"'),
        (machine(a={"onExit": []}), "states.a.onExit", 'write "exit"'),
        (machine(a={"type": "final", "data": {}}), "states.a.data", 'write "output"'),
        (machine(a={"activities": []}), "states.a.activities", 'use "invoke"'),
        (
            machine(a={"parallel": True, "states": {"x": {}, "y": {}}}),
            "states.a.parallel",
            'write "type": "parallel"',
        ),
        ({"key": "m", "initial": "a", "states": {"a": {}}}, "key", 'write "id"'),
        (
            {"id": "m", "initial": "a", "services": {}, "states": {"a": {}}},
            "services",
            "actors={...}",
        ),
        (machine(a={"cond": "ok"}), "states.a.cond", "belongs in a transition"),
        (
            machine(a={"invoke": {"src": "charge", "data": {}}}),
            "states.a.invoke.data",
            'write "input"',
        ),
        (
            machine(a={"on": {"GO": {"target": "b", "in": "#m.a"}}}, b={}),
            "states.a.on.GO.in",
            '"guard": {"type": "xstate.stateIn", "params": {"state": "#m.a"}}',
        ),
        (
            {"id": "m", "initial": "a", "predictableActionArguments": True, "states": {"a": {}}},
            "predictableActionArguments",
            "remove it",
        ),
    ],
)
def test_xstate_v4_keys_get_the_v5_name(
    config: dict[str, object], path: str, expected_fix: str
) -> None:
    fault = only_fault(config, actors={"charge": print})
    assert fault.path == path
    assert fault.message.startswith("unknown ")
    assert expected_fix in fault.fix


def test_implementations_written_into_the_definition_point_to_python() -> None:
    fault = only_fault({"id": "m", "initial": "a", "guards": {"ok": "x"}, "states": {"a": {}}})
    assert fault.path == "guards"
    assert "Machine.from_config(config, guards={...})" in fault.fix


def test_actions_on_a_state_point_to_entry_exit_or_a_transition() -> None:
    fault = only_fault(machine(a={"actions": ["notify"]}))
    assert fault.path == "states.a.actions"
    assert '"entry"' in fault.fix and '"on"' in fault.fix


def test_a_yaml_boolean_key_explains_the_yaml_trap() -> None:
    # yaml.safe_load reads `on:` as True; from_config gets the boolean key.
    fault = only_fault(machine(a={True: {"GO": "a"}}))
    assert fault.path == "states.a.True"
    assert "boolean" in fault.fix and '"on"' in fault.fix


# --- the statewright extension object --------------------------------------------------------


def test_statewright_extension_must_be_an_object() -> None:
    fault = only_fault(machine(a={"statewright": "fast"}))
    assert fault.path == "states.a.statewright"
    assert '"statewright" must be an object' in fault.message
    assert 'write "statewright": {...}' in fault.fix


def test_statewright_option_misspelt_on_a_transition() -> None:
    fault = only_fault(machine(a={"on": {"GO": {"statewright": {"role": ["ops"]}}}}))
    assert fault.path == "states.a.on.GO.statewright.role"
    assert "unknown statewright option 'role'" in fault.message
    assert fault.fix == 'did you mean "roles"?'


def test_statewright_option_where_there_are_none() -> None:
    fault = only_fault(machine(a={"statewright": {"roles": ["ops"]}}))
    assert fault.path == "states.a.statewright.roles"
    assert "no options here" in fault.fix


def test_roles_must_be_a_non_empty_list_of_names() -> None:
    fault = only_fault(machine(a={"on": {"GO": {"statewright": {"roles": []}}}}))
    assert fault.path == "states.a.on.GO.statewright.roles"
    assert "non-empty list" in fault.message
    assert '"roles": ["approver"]' in fault.fix


# --- values of the wrong shape ---------------------------------------------------------------


def test_a_state_must_be_an_object() -> None:
    fault = only_fault(machine(a=5))
    assert fault.path == "states.a"
    assert fault.message == 'state "a" must be an object, not the number 5'
    assert 'write "a": {}' in fault.fix


def test_states_must_be_an_object() -> None:
    fault = only_fault(machine(a={"states": ["x", "y"]}))
    assert fault.path == "states.a.states"
    assert '"states" must map state names to states' in fault.message
    assert '"states": {' in fault.fix


def test_on_must_be_an_object() -> None:
    fault = only_fault(machine(a={"on": ["GO"]}))
    assert fault.path == "states.a.on"
    assert '"on" must map event types' in fault.message
    assert '"on": {"EVENT": "target"}' in fault.fix


def test_a_transition_must_be_a_string_or_an_object() -> None:
    fault = only_fault(machine(a={"on": {"GO": 5}}))
    assert fault.path == "states.a.on.GO"
    assert "a transition must be a target string or an object" in fault.message
    assert '"target"' in fault.fix


def test_a_transition_in_a_list_is_reported_with_its_index() -> None:
    fault = only_fault(machine(a={"on": {"GO": [{"target": "a"}, 5]}}))
    assert fault.path == "states.a.on.GO[1]"


def test_reenter_must_be_a_boolean() -> None:
    fault = only_fault(machine(a={"on": {"GO": {"target": "a", "reenter": "yes"}}}))
    assert fault.path == "states.a.on.GO.reenter"
    assert fault.message == "reenter must be true or false, not the string 'yes'"
    assert '"reenter": true' in fault.fix


def test_tags_must_be_strings() -> None:
    fault = only_fault(machine(a={"tags": [1]}))
    assert fault.path == "states.a.tags"
    assert "tags must be a list of strings" in fault.message
    assert '"tags": ["busy"]' in fault.fix


def test_description_must_be_text() -> None:
    fault = only_fault(machine(a={"description": 5}))
    assert fault.path == "states.a.description"
    assert "description" in fault.message
    assert fault.fix == "write a string"


@pytest.mark.parametrize("context", [[1, 2], "cart", 5, None, True])
def test_context_must_be_an_object(context: object) -> None:
    fault = only_fault({"id": "m", "context": context, "initial": "a", "states": {"a": {}}})
    assert fault.path == "context"
    assert fault.message.startswith("the context must be an object, not ")
    assert '"context": {' in fault.fix


@pytest.mark.parametrize(
    "context", [{}, {"items": []}, {"$expr": "input"}, lambda input: {"n": input}]
)
def test_context_objects_expressions_and_functions_are_accepted(context: object) -> None:
    machine_ = Machine.from_config(
        {"id": "m", "context": context, "initial": "a", "states": {"a": {}}}
    )
    assert isinstance(machine_.initial_transition(input={}).snapshot.context, dict)


def test_version_must_be_a_string() -> None:
    fault = only_fault({"id": "m", "version": 2, "initial": "a", "states": {"a": {}}})
    assert fault.path == "version"
    assert fault.message == "the machine version must be a string, not the number 2"
    assert fault.fix == 'write "version": "2"'


def test_the_config_itself_must_be_an_object() -> None:
    fault = only_fault(["not", "a", "machine"])
    assert fault.path == ""
    assert "must be an object" in fault.message
    assert '"initial"' in fault.fix
