"""`stateIn`: the `xstate.stateIn` guard, `stateIn(...)` in `$expr` guards, `state_in` for
Python guards, and the faults an unknown state gives at load time.

The XState semantics themselves (ids test the active set, values the state value, guards see
the configuration before the microstep) are pinned by the `guard-statein-*` conformance cases.
"""

from __future__ import annotations

from typing import Any

import pytest

from statewright import DefinitionError, Fault, ImplementationError, Machine

STATE_IN = "xstate.stateIn"


def form_machine(guard: object, **impls: Any) -> Machine:
    """Region `button` may SUBMIT (to `sent`) when `guard` passes; FIX makes the form valid."""
    return Machine.from_config(
        {
            "id": "m",
            "type": "parallel",
            "context": {"n": 1},
            "states": {
                "form": {
                    "initial": "invalid",
                    "states": {
                        "invalid": {"on": {"FIX": "valid"}},
                        "valid": {"id": "ok", "on": {"BREAK": "invalid"}},
                    },
                },
                "button": {
                    "initial": "idle",
                    "states": {
                        "idle": {"on": {"SUBMIT": {"target": "sent", "guard": guard}}},
                        "sent": {},
                    },
                },
            },
        },
        **impls,
    )


def submits(machine: Machine, *, fixed: bool) -> bool:
    snapshot, _ = machine.initial_transition()
    if fixed:
        snapshot, _ = machine.transition(snapshot, "FIX")
    after, _ = machine.transition(snapshot, "SUBMIT")
    assert after.status == "active", after.error
    value = after.value
    assert isinstance(value, dict)
    return value["button"] == "sent"


@pytest.mark.parametrize(
    "state",
    ["#ok", "#m.form.valid", "form.valid", {"form": "valid"}],
    ids=["custom-id", "id-path", "dotted-value", "object-value"],
)
def test_the_dialect_guard_passes_only_while_the_state_is_active(state: object) -> None:
    machine = form_machine({"type": STATE_IN, "params": {"state": state}})
    assert not submits(machine, fixed=False)
    assert submits(machine, fixed=True)


def test_can_answers_with_state_in() -> None:
    machine = form_machine({"type": STATE_IN, "params": {"state": "#ok"}})
    snapshot, _ = machine.initial_transition()
    assert not snapshot.can("SUBMIT")
    snapshot, _ = machine.transition(snapshot, "FIX")
    assert snapshot.can("SUBMIT")


def test_state_in_inside_not_and_and_or() -> None:
    valid = {"type": STATE_IN, "params": {"state": "#ok"}}
    machine = form_machine({"not": valid})
    assert submits(machine, fixed=False)
    assert not submits(machine, fixed=True)
    machine = form_machine({"and": [valid, {"$expr": "context.n == 1"}]})
    assert submits(machine, fixed=True)
    machine = form_machine({"and": [valid, {"$expr": "context.n == 2"}]})
    assert not submits(machine, fixed=True)
    machine = form_machine({"or": [{"$expr": "context.n == 2"}, valid]})
    assert not submits(machine, fixed=False)
    assert submits(machine, fixed=True)


@pytest.mark.parametrize(
    "source",
    [
        "stateIn('#ok')",
        "stateIn('#m.form.valid') and context.n == 1",
        "stateIn('form.valid')",
        "stateIn({'form': 'valid'})",
        "not stateIn('form.invalid')",
    ],
)
def test_state_in_in_a_guard_expression(source: str) -> None:
    machine = form_machine({"$expr": source})
    assert not submits(machine, fixed=False)
    assert submits(machine, fixed=True)


def test_a_python_guard_declaring_state_in_is_passed_a_query() -> None:
    seen: list[object] = []

    def ready(context: Any, event: Any, *, state_in: Any) -> bool:
        seen.append(event["type"])
        return (
            bool(state_in("#ok")) and state_in({"button": "idle"}) and not state_in("form.invalid")
        )

    machine = form_machine("ready", guards={"ready": ready})
    assert not submits(machine, fixed=False)
    assert submits(machine, fixed=True)
    assert seen and set(seen) == {"SUBMIT"}


def test_a_python_guard_with_params_and_state_in() -> None:
    def within(context: Any, event: Any, params: Any, state_in: Any = None) -> bool:
        assert state_in is not None
        return bool(state_in(params["state"]))

    guard = {"type": "within", "params": {"state": "#ok"}}
    machine = form_machine(guard, guards={"within": within})
    assert not submits(machine, fixed=False)
    assert submits(machine, fixed=True)


def test_guards_without_state_in_are_called_as_before() -> None:
    calls: list[tuple[object, ...]] = []

    def two(context: Any, event: Any) -> bool:
        calls.append((context["n"], event["type"]))
        return True

    def three(context: Any, event: Any, params: Any) -> bool:
        calls.append((context["n"], event["type"], params))
        return True

    assert submits(form_machine("two", guards={"two": two}), fixed=False)
    assert submits(
        form_machine({"type": "three", "params": {"x": 1}}, guards={"three": three}), fixed=False
    )
    assert calls == [(1, "SUBMIT"), (1, "SUBMIT", {"x": 1})]


def test_a_python_guard_asking_about_an_unknown_state_fails_the_transition() -> None:
    def typo(context: Any, event: Any, *, state_in: Any) -> bool:
        return bool(state_in("#okk"))

    machine = form_machine("typo", guards={"typo": typo})
    snapshot, _ = machine.initial_transition()
    after, _ = machine.transition(snapshot, "SUBMIT")
    assert after.status == "error"
    assert isinstance(after.error, ImplementationError)
    assert "typo" in str(after.error)
    assert 'no state with id "okk"' in str(after.error)
    assert 'did you mean "#ok"?' in str(after.error)


# -- faults at load time -----------------------------------------------------------------


def only_fault(guard: object) -> Fault:
    with pytest.raises(DefinitionError) as info:
        form_machine(guard)
    assert len(info.value.faults) == 1, str(info.value)
    fault = info.value.faults[0]
    assert fault.fix, fault
    return fault


GUARD_PATH = "states.button.states.idle.on.SUBMIT.guard"


@pytest.mark.parametrize(
    ("state", "message", "fix"),
    [
        ("#okay", 'no state with id "okay" ("#okay")', 'did you mean "#ok"?'),
        ("#m.form.vaild", 'no state "vaild" in state "m.form"', 'did you mean "valid"?'),
        ("from.valid", 'no state "from" in the machine', 'did you mean "form"?'),
        ({"form": "valdi"}, 'no state "valdi" in state "m.form"', 'did you mean "valid"?'),
        ({"form": {"valid": "x"}}, 'no state "x" in state "ok"', '"ok" has no child states'),
        (3, "3 names no state", 'write "#id", a dotted value "a.b"'),
        ({}, "{} names no state", 'write "#id"'),
    ],
)
def test_an_unknown_state_is_a_fault_with_a_suggestion(
    state: object, message: str, fix: str
) -> None:
    fault = only_fault({"type": STATE_IN, "params": {"state": state}})
    assert fault.path == f"{GUARD_PATH}.params.state"
    assert message in fault.message
    assert fix in fault.fix


def test_state_in_nested_in_a_combinator_names_its_path() -> None:
    fault = only_fault(
        {"or": [{"$expr": "true"}, {"not": {"type": STATE_IN, "params": {"state": "#nope"}}}]}
    )
    assert fault.path == f"{GUARD_PATH}.or[1].not.params.state"
    assert "known ids: m, m.button" in fault.fix


def test_state_in_needs_its_state_param() -> None:
    assert only_fault(STATE_IN).path == GUARD_PATH
    fault = only_fault({"type": STATE_IN})
    assert fault.path == f"{GUARD_PATH}.params"
    fault = only_fault({"type": STATE_IN, "params": {"state": "#ok", "extra": 1}})
    assert fault.path == f"{GUARD_PATH}.params.extra"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("stateIn('#m.frm')", 'no state "frm" in the machine'),
        ("stateIn(context.state)", "takes a literal"),
        ("stateIn('#ok', 1)", "takes one argument"),
    ],
)
def test_a_bad_state_in_in_an_expression_is_a_fault(source: str, message: str) -> None:
    fault = only_fault({"$expr": source})
    assert fault.path == f'{GUARD_PATH}["$expr"]'
    assert message in fault.message


def test_state_in_is_refused_in_data_expressions() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "entry": {"type": "assign", "params": {"x": {"$expr": "stateIn('#m.a')"}}}
                    }
                },
            }
        )
    assert "stateIn() can be used only in a guard" in str(info.value)


def test_an_inline_python_guard_may_declare_state_in() -> None:
    def inline(context: Any, event: Any, state_in: Any) -> bool:
        return bool(state_in("form.valid"))

    machine = form_machine(inline)
    assert not submits(machine, fixed=False)
    assert submits(machine, fixed=True)


def test_expression_faults_do_not_mention_the_hidden_state_name() -> None:
    fault = only_fault({"$expr": "stat == 1"})
    assert "$state" not in fault.message
    assert "$state" not in fault.fix
