"""Validation of state types: unknown types and misuse of parallel, final and history states."""

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


# --- "type" ----------------------------------------------------------------------------------


def test_misspelt_type_suggests_the_type_and_nothing_else() -> None:
    # No second fault about the missing "initial": the type was meant to be parallel.
    fault = only_fault(machine(a={"type": "paralel", "states": {"x": {}, "y": {}}}))
    assert fault.path == "states.a.type"
    assert fault.message == "unknown state type 'paralel'"
    assert fault.fix == 'did you mean "parallel"?'


def test_unknown_type_without_a_near_miss_lists_the_types() -> None:
    fault = only_fault(machine(a={"type": 3}))
    assert fault.path == "states.a.type"
    assert fault.fix == "use one of atomic, compound, parallel, final, history"


def test_compound_state_needs_children() -> None:
    fault = only_fault(machine(a={"type": "compound"}))
    assert fault.path == "states.a.type"
    assert fault.message == "a compound state needs child states"
    assert fault.fix == 'add "states": {...}, or remove "type": "compound"'


@pytest.mark.parametrize(("kind", "article"), [("atomic", "an"), ("final", "a")])
def test_atomic_and_final_states_have_no_children(kind: str, article: str) -> None:
    fault = only_fault(machine(a={"type": kind, "initial": "x", "states": {"x": {}}}, b={}))
    assert fault.path == "states.a.type"
    assert fault.message == f"{article} {kind} state cannot have child states"
    assert 'remove "states"' in fault.fix


def test_parallel_state_needs_regions() -> None:
    fault = only_fault(machine(a={"type": "parallel"}))
    assert fault.path == "states.a.type"
    assert fault.message == "a parallel state needs child states (its regions)"
    assert fault.fix == 'add "states", or remove "type": "parallel"'


@pytest.mark.parametrize("kind", ["final", "history"])
def test_the_machine_cannot_be_final_or_history(kind: str) -> None:
    fault = only_fault({"id": "m", "type": kind})
    assert fault.path == "type"
    assert fault.message == f"the machine itself cannot be a {kind} state"
    assert fault.fix == "move it into a child state"


# --- final states ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("on", {"GO": "a"}),
        ("always", {"target": "a"}),
        ("after", {"1000": "a"}),
        ("invoke", {"src": "step"}),
    ],
)
def test_final_state_cannot_be_left(key: str, value: object) -> None:
    fault = only_fault(machine(a={}, done={"type": "final", key: value}), actors={"step": print})
    assert fault.path == f"states.done.{key}"
    assert fault.message == f'a final state cannot have "{key}"'
    assert "move it to the parent" in fault.fix


@pytest.mark.parametrize("kind", ["atomic", "final"])
def test_onDone_never_fires_on_a_state_without_children(kind: str) -> None:
    fault = only_fault(machine(a={"type": kind, "onDone": "b"}, b={}))
    assert fault.path == "states.a.onDone"
    assert fault.message.startswith("onDone never fires on a")
    assert fault.fix == "put onDone on a compound or parallel state"


def test_output_only_on_final_states() -> None:
    fault = only_fault(machine(a={"output": {"ok": True}}))
    assert fault.path == "states.a.output"
    assert fault.message == "only final states (and the machine) have an output"
    assert fault.fix == 'remove "output"'


def test_final_state_output_and_entry_are_accepted() -> None:
    config = machine(a={"on": {"GO": "done"}}, done={"type": "final", "output": {"ok": True}})
    step = Machine.from_config(config).initial_transition()
    assert step.snapshot.status == "active"


# --- history states --------------------------------------------------------------------------


def region(**history: object) -> dict[str, object]:
    """A machine with a compound state "a" holding states x, y and the history state h."""
    h = {"type": "history", **history}
    return machine(a={"initial": "x", "states": {"x": {}, "y": {}, "h": h}}, b={})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("on", {"GO": "x"}),
        ("always", "x"),
        ("after", {"1000": "x"}),
        ("invoke", {"src": "step"}),
        ("entry", []),
        ("exit", []),
        ("states", {"z": {}}),
    ],
)
def test_history_state_is_a_pseudo_state(key: str, value: object) -> None:
    fault = only_fault(region(**{key: value}), actors={"step": print})
    assert fault.path == f"states.a.states.h.{key}"
    assert fault.message == f'a history state cannot have "{key}"'
    assert fault.fix == "history is a pseudo-state; put this on its parent"


def test_history_mode_must_be_shallow_or_deep() -> None:
    fault = only_fault(region(history="deeep"))
    assert fault.path == "states.a.states.h.history"
    assert fault.message == "unknown history mode 'deeep'"
    assert fault.fix == 'write "history": "shallow" or "deep"'


def test_history_key_on_a_state_that_is_not_history() -> None:
    fault = only_fault(machine(a={"history": "deep", "initial": "x", "states": {"x": {}}}))
    assert fault.path == "states.a.history"
    assert fault.message == 'only a history state has "history"'
    assert '"type": "history"' in fault.fix


def test_default_target_on_a_state_that_is_not_history() -> None:
    fault = only_fault(machine(a={"target": "b"}, b={}))
    assert fault.path == "states.a.target"
    assert fault.message == 'only a history state has a default "target"'
    assert fault.fix == "put the target in a transition"


def test_history_type_is_inferred_from_the_history_key_as_xstate_does() -> None:
    config = machine(
        a={
            "initial": "x",
            "states": {"x": {"on": {"NEXT": "y"}}, "y": {}, "h": {"history": "shallow"}},
            "on": {"LEAVE": "#m.b"},
        },
        b={"on": {"BACK": "#m.a.h"}},
    )
    running = Machine.from_config(config)
    assert running.get_state("m.a.h").type == "history"
    snapshot = running.initial_transition().snapshot
    for event in ("NEXT", "LEAVE", "BACK"):
        snapshot = running.transition(snapshot, event).snapshot
    assert snapshot.value == {"a": "y"}
