"""Validation of actions: references, and the params of the built-in actions."""

from __future__ import annotations

import pytest

from statewright import DefinitionError, Fault, Machine


def machine(**states: object) -> dict[str, object]:
    return {"id": "m", "initial": next(iter(states)), "states": states}


def faults_of(config: object, **impls: object) -> tuple[Fault, ...]:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config, **impls)  # type: ignore[arg-type]
    for fault in info.value.faults:
        assert fault.fix, fault
        assert str(fault) in str(info.value)
    return info.value.faults


def only_fault(config: object, **impls: object) -> Fault:
    faults = faults_of(config, **impls)
    assert len(faults) == 1, faults
    return faults[0]


def entry(*actions: object) -> dict[str, object]:
    return machine(a={"entry": list(actions), "on": {"PING": {}}})


@pytest.mark.parametrize("action", [5, {"params": {}}, {"type": 5}])
def test_an_action_must_be_a_name_or_an_object_with_a_type(action: object) -> None:
    fault = only_fault(entry(action))
    assert fault.path == "states.a.entry[0]"
    assert fault.message == 'an action must be a name or an object with a string "type"'
    assert '{"type": "name", "params": {...}}' in fault.fix


def test_unknown_key_in_an_action_object() -> None:
    fault = only_fault(entry({"type": "log", "message": "hi"}))
    assert fault.path == "states.a.entry[0].message"
    assert fault.message == "unknown key 'message' in an action"
    assert '"params"' in fault.fix


def test_actions_of_a_transition_are_checked() -> None:
    config = machine(a={"on": {"GO": {"actions": {"type": "cancel"}}}})
    fault = only_fault(config)
    assert fault.path == "states.a.on.GO.actions.params"
    assert fault.message == '"cancel" needs params.id'


@pytest.mark.parametrize("name", ["assign", "raise", "cancel", "emit", "log"])
def test_builtin_params_must_be_an_object(name: str) -> None:
    fault = only_fault(entry({"type": name, "params": ["x"]}))
    assert fault.path == "states.a.entry[0].params"
    assert fault.message == f'"{name}" params must be an object'
    assert fault.fix.startswith(f'{{"type": "{name}", "params": {{')


@pytest.mark.parametrize(
    ("action", "path", "message"),
    [
        (
            {"type": "raise", "params": {"event": "PING", "dealy": 5}},
            "states.a.entry[0].params.dealy",
            "unknown raise param 'dealy': 'raise' is reserved for statewright's built-in action, "
            "which takes event, delay, id",
        ),
        (
            {"type": "cancel", "params": {"id": "t", "event": "PING"}},
            "states.a.entry[0].params.event",
            "unknown cancel param 'event': 'cancel' is reserved for statewright's built-in "
            "action, which takes id",
        ),
        (
            {"type": "emit", "params": {"event": "x", "to": "y"}},
            "states.a.entry[0].params.to",
            "unknown emit param 'to': 'emit' is reserved for statewright's built-in action, "
            "which takes event",
        ),
        (
            {"type": "log", "params": {"msg": "hi"}},
            "states.a.entry[0].params.msg",
            "unknown log param 'msg': 'log' is reserved for statewright's built-in action, "
            "which takes message, value",
        ),
    ],
)
def test_unknown_builtin_params(action: object, path: str, message: str) -> None:
    fault = only_fault(entry(action))
    assert (fault.path, fault.message) == (path, message)


def test_an_own_action_named_like_a_builtin_is_told_to_rename() -> None:
    fault = only_fault(entry({"type": "log", "params": {"msg": "hi"}}))
    assert fault.fix == (
        'did you mean "message"? (or, for an action of your own, rename it, e.g. to '
        "logMessage, here and in actions={...})"
    )


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"type": "raise", "params": {}}, '"raise" needs params.event'),
        ({"type": "raise"}, '"raise" needs params.event'),
        ({"type": "cancel", "params": {}}, '"cancel" needs params.id'),
        ({"type": "emit", "params": {}}, '"emit" needs params.event'),
        ({"type": "assign", "params": {}}, '"assign" needs at least one key to assign'),
    ],
)
def test_missing_builtin_params(action: object, message: str) -> None:
    fault = only_fault(entry(action))
    assert fault.path == "states.a.entry[0].params"
    assert fault.message == message


@pytest.mark.parametrize(
    ("action", "fix_start"),
    [
        ({"type": "raise", "params": {"event": "PING", "delay": 5, "id": 1}}, '{"type": "raise"'),
        ({"type": "cancel", "params": {"id": ["t"]}}, '{"type": "cancel"'),
    ],
)
def test_timer_ids_must_be_strings(action: object, fix_start: str) -> None:
    fault = only_fault(entry(action))
    assert fault.path == "states.a.entry[0].params.id"
    assert fault.message == "a timer id must be a string"
    assert fault.fix.startswith(fix_start)


def test_builtin_actions_need_no_python() -> None:
    config = {
        "id": "m",
        "context": {"n": 0},
        "initial": "a",
        "states": {
            "a": {
                "entry": [
                    {"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}},
                    {"type": "raise", "params": {"event": "PING", "delay": "5m", "id": "t"}},
                    {"type": "cancel", "params": {"id": "t"}},
                    {"type": "emit", "params": {"event": {"type": "order.opened"}}},
                    {"type": "log", "params": {"message": "hi", "value": {"$expr": "context.n"}}},
                ],
                "on": {"PING": {}},
            }
        },
    }
    assert Machine.from_config(config).initial_transition().snapshot.context == {"n": 1}


def test_every_action_fault_in_a_list_is_reported() -> None:
    faults = faults_of(entry({"type": "raise"}, 5, "notfy"), actions={"notify": print})
    assert [f.path for f in faults] == [
        "states.a.entry[0].params",
        "states.a.entry[1]",
        "states.a.entry[2]",
    ]
    assert faults[2].fix.startswith('did you mean "notify"?')
