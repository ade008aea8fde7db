"""Validation of transition targets: misspelt states and ids, impossible targets, history."""

from __future__ import annotations

import pytest

from statewright import DefinitionError, Fault, Machine


def machine(**states: object) -> dict[str, object]:
    return {"id": "m", "initial": next(iter(states)), "states": states}


def faults_of(config: object) -> tuple[Fault, ...]:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config)  # type: ignore[arg-type]
    for fault in info.value.faults:
        assert fault.fix, fault
        assert str(fault) in str(info.value)
    return info.value.faults


def only_fault(config: object) -> Fault:
    faults = faults_of(config)
    assert len(faults) == 1, faults
    return faults[0]


def test_misspelt_sibling_target_suggests_the_state() -> None:
    fault = only_fault(machine(form={"on": {"SUBMIT": "sumbit"}}, submit={}))
    assert fault.path == "states.form.on.SUBMIT.target"
    assert fault.message == 'no state "sumbit" in the machine (target "sumbit")'
    assert fault.fix == 'did you mean "submit"?'


def test_misspelt_target_in_a_transition_list_has_its_index() -> None:
    fault = only_fault(
        machine(a={"on": {"GO": [{"target": "b", "guard": {"$expr": "true"}}, "bb"]}}, b={})
    )
    assert fault.path == "states.a.on.GO[1].target"
    assert fault.fix == 'did you mean "b"?'


def test_misspelt_nested_target_names_the_missing_part() -> None:
    config = machine(
        a={"on": {"GO": "b.revew"}},
        b={"initial": "review", "states": {"review": {}, "done": {}}},
    )
    fault = only_fault(config)
    assert fault.path == "states.a.on.GO.target"
    assert fault.message == 'no state "revew" in state "m.b" (target "b.revew")'
    assert fault.fix == 'did you mean "review"?'


def test_target_with_no_near_miss_lists_the_states() -> None:
    fault = only_fault(machine(a={"on": {"GO": "zzz"}}, b={}))
    assert fault.fix == "its states are a, b"


def test_misspelt_child_target() -> None:
    config = machine(a={"initial": "x", "on": {"GO": ".yy"}, "states": {"x": {}, "y": {}}})
    fault = only_fault(config)
    assert fault.path == "states.a.on.GO.target"
    assert 'no state "yy" in state "m.a"' in fault.message
    assert fault.fix == 'did you mean "y"?'


def test_misspelt_id_target_suggests_the_id() -> None:
    fault = only_fault(machine(a={"on": {"PAY": "#paymnt"}}, b={"id": "payment"}))
    assert fault.path == "states.a.on.PAY.target"
    assert fault.message == 'no state with id "paymnt" (target "#paymnt")'
    assert fault.fix == 'did you mean "#payment"?'


def test_unknown_id_without_a_near_miss_lists_the_ids() -> None:
    fault = only_fault(machine(a={"on": {"GO": "#zzzz"}}, b={}))
    assert fault.fix.startswith("known ids: ")
    assert "m.a" in fault.fix


def test_path_below_an_id_is_checked() -> None:
    config = machine(
        a={"on": {"GO": "#order.reviw"}},
        b={"id": "order", "initial": "review", "states": {"review": {}}},
    )
    fault = only_fault(config)
    assert fault.message == 'no state "reviw" in state "order" (target "#order.reviw")'
    assert fault.fix == 'did you mean "review"?'


def test_an_id_with_a_dot_cannot_be_targeted() -> None:
    fault = only_fault(machine(a={"on": {"GO": "#pay.ok"}}, b={"id": "pay.ok"}))
    assert fault.path == "states.a.on.GO.target"
    assert 'the dot in the state id "pay.ok"' in fault.message
    assert fault.fix == "rename the state id without dots"


def test_a_bare_target_from_the_root_needs_a_dot() -> None:
    config = {"id": "m", "initial": "a", "on": {"RESET": "a"}, "states": {"a": {}}}
    fault = only_fault(config)
    assert fault.path == "on.RESET.target"
    assert fault.message == '"a" is not a valid target from the machine root'
    assert fault.fix == 'write ".a" to target a child of the machine'


def test_a_target_into_an_atomic_state_says_it_has_no_children() -> None:
    fault = only_fault(machine(a={"on": {"GO": "b.zzz"}}, b={}))
    assert fault.message == 'no state "zzz" in state "m.b" (target "b.zzz")'
    assert fault.fix == '"m.b" is an atomic state with no child states'


def test_a_target_in_the_wrong_parent_points_to_the_state_by_id() -> None:
    config = machine(
        a={"on": {"GO": "b.paid"}},
        b={},
        c={"initial": "paid", "states": {"paid": {}}},
    )
    fault = only_fault(config)
    assert fault.fix == 'did you mean "#m.c.paid"?'


def test_a_target_into_a_history_state_is_refused() -> None:
    config = machine(
        a={"initial": "x", "states": {"x": {}, "h": {"type": "history", "states": {"y": {}}}}},
        b={"on": {"BACK": "a.h.y"}},
    )
    faults = faults_of(config)
    assert [f.path for f in faults] == ["states.a.states.h.states", "states.b.on.BACK.target"]
    target = faults[1]
    assert target.message == (
        'target "a.h.y" is inside a history state "m.a.h", which cannot have child states'
    )
    assert target.fix == 'target "#m.a.h" itself, or move "y" out of it'


def test_a_target_into_a_final_state_is_refused() -> None:
    config = machine(
        a={"on": {"GO": "#deep"}},
        b={"type": "final", "states": {"x": {"id": "deep"}}},
    )
    faults = faults_of(config)
    assert [f.path for f in faults] == ["states.b.type", "states.a.on.GO.target"]
    assert 'inside a final state "m.b"' in faults[1].message


@pytest.mark.parametrize("target", [5, {"state": "b"}, ["b", 5]])
def test_a_target_must_be_a_string_or_a_list_of_strings(target: object) -> None:
    faults = faults_of(machine(a={"on": {"GO": {"target": target}}}, b={}))
    assert faults[0].path == "states.a.on.GO.target"
    assert faults[0].message == "a target must be a state name or a list of them"
    assert '"target": "approved"' in faults[0].fix


def test_an_empty_target_is_refused() -> None:
    fault = only_fault(machine(a={"on": {"GO": ""}}))
    assert fault.path == "states.a.on.GO.target"
    assert fault.message == "a target cannot be empty"
    assert "remove the target" in fault.fix


def test_a_bad_target_in_a_list_has_its_index() -> None:
    config = {
        "id": "m",
        "type": "parallel",
        "on": {"GO": {"target": ["#m.p.x", "#m.q.zz"]}},
        "states": {
            "p": {"initial": "x", "states": {"x": {}}},
            "q": {"initial": "z", "states": {"z": {}}},
        },
    }
    fault = only_fault(config)
    assert fault.path == "on.GO.target[1]"
    assert fault.fix == 'did you mean "z"?'


def test_multiple_targets_must_be_in_different_regions() -> None:
    fault = only_fault(machine(a={"on": {"GO": {"target": ["b", "c"]}}}, b={}, c={}))
    assert fault.path == "states.a.on.GO.target"
    assert fault.message == 'targets "m.b" and "m.c" cannot both be active'
    assert "different regions of a parallel state" in fault.fix


def test_targets_of_onDone_always_after_and_invoke_are_checked() -> None:
    config = machine(
        a={
            "always": {"target": "bb", "guard": {"$expr": "false"}},
            "after": {"1000": "bb"},
            "invoke": {"src": "step", "onDone": "bb", "onError": "bb"},
        },
        b={"initial": "x", "states": {"x": {"type": "final"}}, "onDone": "bb"},
    )
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config, actors={"step": print})
    assert sorted(f.path for f in info.value.faults) == [
        "states.a.after.1000.target",
        "states.a.always.target",
        "states.a.invoke.onDone.target",
        "states.a.invoke.onError.target",
        "states.b.onDone.target",
    ]
    assert all(f.fix == 'did you mean "b"?' for f in info.value.faults)


# --- history defaults ------------------------------------------------------------------------


def test_history_default_target_misspelt() -> None:
    config = machine(
        a={"initial": "x", "states": {"x": {}, "y": {}, "h": {"type": "history", "target": "yy"}}}
    )
    fault = only_fault(config)
    assert fault.path == "states.a.states.h.target"
    assert fault.fix == 'did you mean "y"?'


def test_history_default_target_outside_its_parent() -> None:
    config = machine(
        a={"initial": "x", "states": {"x": {}, "h": {"type": "history", "target": "#m.b"}}},
        b={},
    )
    fault = only_fault(config)
    assert fault.path == "states.a.states.h.target"
    assert fault.message == 'history default "#m.b" is not inside "m.a"'
    assert "inside the history state's parent" in fault.fix
