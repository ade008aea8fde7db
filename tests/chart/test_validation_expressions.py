"""Validation of `$expr` expressions in guards, assign, context, output and invoke input.

Expressions are compiled when the machine is built, so a bad one is a definition fault with the
JSON path of its `$expr` key, the compiler's reason, and what names it may use.
"""

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


def guarded(expression: object) -> dict[str, object]:
    return machine(a={"on": {"GO": {"target": "a", "guard": {"$expr": expression}}}})


def test_guard_expression_with_a_syntax_error() -> None:
    fault = only_fault(guarded("context.total <"))
    assert fault.path == 'states.a.on.GO.guard["$expr"]'
    assert "expression 'context.total <': invalid syntax" in fault.message
    assert "statewright expression" in fault.fix


def test_guard_expression_with_a_misspelt_name() -> None:
    fault = only_fault(guarded("contxt.total > 1"))
    assert fault.path == 'states.a.on.GO.guard["$expr"]'
    assert "unknown name 'contxt'; did you mean 'context'?" in fault.message


def test_guard_expression_must_be_a_string() -> None:
    fault = only_fault(guarded(5))
    assert fault.path == 'states.a.on.GO.guard["$expr"]'
    assert fault.message == "an expression must be a string"
    assert fault.fix == 'write {"$expr": "context.n > 1"}'


def test_guard_expression_inside_not() -> None:
    config = machine(a={"on": {"GO": {"target": "a", "guard": {"not": {"$expr": "1 +"}}}}})
    fault = only_fault(config)
    assert fault.path == 'states.a.on.GO.guard.not["$expr"]'


def test_guard_object_with_two_combinators() -> None:
    config = machine(a={"on": {"GO": {"guard": {"$expr": "true", "not": "x"}}}})
    fault = only_fault(config)
    assert fault.path == "states.a.on.GO.guard"
    assert fault.message == "ambiguous guard object"
    assert '{"$expr": "..."}' in fault.fix


def test_guard_combinator_needs_a_list() -> None:
    fault = only_fault(machine(a={"on": {"GO": {"guard": {"or": "ok"}}}}))
    assert fault.path == "states.a.on.GO.guard.or"
    assert fault.message == '"or" takes a non-empty list of guards'
    assert fault.fix == 'write {"or": [g1, g2]}'


def test_assign_expression_with_a_misspelt_name() -> None:
    config = machine(a={"entry": {"type": "assign", "params": {"n": {"$expr": "evnt.n"}}}})
    fault = only_fault(config)
    assert fault.path == 'states.a.entry.params.n["$expr"]'
    assert "unknown name 'evnt'; did you mean 'event'?" in fault.message
    assert fault.fix == "write a statewright expression over context, event"


def test_context_expression_may_only_use_input() -> None:
    config = {
        "id": "m",
        "context": {"n": {"$expr": "context.n"}},
        "initial": "a",
        "states": {"a": {}},
    }
    fault = only_fault(config)
    assert fault.path == 'context.n["$expr"]'
    assert "unknown name 'context'" in fault.message
    assert fault.fix == "write a statewright expression over input"


def test_machine_output_expression() -> None:
    config = {
        "id": "m",
        "output": {"$expr": "context.total +"},
        "initial": "a",
        "states": {"a": {}},
    }
    fault = only_fault(config)
    assert fault.path == 'output["$expr"]'
    assert "invalid syntax" in fault.message


def test_final_state_output_expression() -> None:
    config = machine(a={"type": "final", "output": {"total": {"$expr": "context.total *"}}})
    fault = only_fault(config)
    assert fault.path == 'states.a.output.total["$expr"]'


def test_invoke_input_expression() -> None:
    config = machine(a={"invoke": {"src": "step", "input": {"id": {"$expr": "contxt.id"}}}})
    fault = only_fault(config, actors={"step": print})
    assert fault.path == 'states.a.invoke.input.id["$expr"]'
    assert "did you mean 'context'?" in fault.message


def test_expression_in_a_list_has_its_index() -> None:
    config = machine(
        a={"entry": {"type": "assign", "params": {"xs": [1, {"$expr": "context.n +"}]}}}
    )
    fault = only_fault(config)
    assert fault.path == 'states.a.entry.params.xs[1]["$expr"]'


def test_expression_marker_with_other_keys() -> None:
    config = machine(a={"entry": {"type": "assign", "params": {"n": {"$expr": "1", "default": 0}}}})
    fault = only_fault(config)
    assert fault.path == "states.a.entry.params.n"
    assert fault.message == 'an expression marker must be exactly {"$expr": "<expression text>"}'
    assert "move the other keys out of it" in fault.fix


def test_raised_event_expression() -> None:
    config = machine(
        a={
            "entry": {"type": "raise", "params": {"event": {"type": "GO", "n": {"$expr": "1 +"}}}},
            "on": {"GO": {}},
        }
    )
    fault = only_fault(config)
    assert fault.path == 'states.a.entry.params.event.n["$expr"]'


def test_every_bad_expression_is_reported() -> None:
    config = {
        "id": "m",
        "context": {"a": {"$expr": "inpt"}},
        "output": {"$expr": "("},
        "initial": "a",
        "states": {"a": {"on": {"GO": {"guard": {"$expr": "evnt.x"}}}}},
    }
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config)
    assert sorted(f.path for f in info.value.faults) == [
        'context.a["$expr"]',
        'output["$expr"]',
        'states.a.on.GO.guard["$expr"]',
    ]
