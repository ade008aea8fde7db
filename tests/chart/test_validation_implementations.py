"""Implementations referenced by name: missing ones, "did you mean", and bad `provide()` input.

A machine may be built before its implementations exist: missing guards, actions, actors and
delays are collected in `machine.missing_implementations`. Running it (`initial_transition`,
`transition`) raises `DefinitionError` for missing guards, actions and delays; a missing actor
only matters to whoever runs steps.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from statewright import DefinitionError, Machine, StartStep


def ok(context: Mapping[str, object], event: Mapping[str, object]) -> bool:
    return True


def noop(context: Mapping[str, object], event: Mapping[str, object]) -> None:
    return None


CONFIG: dict[str, object] = {
    "id": "order",
    "initial": "open",
    "states": {
        "open": {
            "entry": "notify",
            "on": {"PAY": {"target": "paying", "guard": "isValid"}},
        },
        "paying": {
            "invoke": {"src": "chargeCard", "onDone": "paid"},
            "after": {"slow": "paid"},
        },
        "paid": {"type": "final"},
    },
}
ALL = {
    "guards": {"isValid": ok},
    "actions": {"notify": noop},
    "actors": {"chargeCard": lambda input: None},
    "delays": {"slow": 1000},
}


def test_every_missing_implementation_is_listed_with_its_path() -> None:
    machine = Machine.from_config(CONFIG)
    assert [(f.path, f.message) for f in machine.missing_implementations] == [
        ("states.open.entry", "action 'notify' is not provided"),
        ("states.open.on.PAY.guard", "guard 'isValid' is not provided"),
        ("states.paying.invoke.src", "actor 'chargeCard' is not provided"),
        ("states.paying.after.slow", "delay 'slow' is not provided"),
    ]
    for fault in machine.missing_implementations:
        assert "machine.provide(" in fault.fix


@pytest.mark.parametrize(
    ("kind", "given", "path", "fix"),
    [
        ("guards", {"isVaild": ok}, "states.open.on.PAY.guard", 'did you mean "isVaild"?'),
        ("actions", {"notfy": noop}, "states.open.entry", 'did you mean "notfy"?'),
        ("actors", {"chargeCrd": print}, "states.paying.invoke.src", 'did you mean "chargeCrd"?'),
        ("delays", {"slw": 5}, "states.paying.after.slow", 'did you mean "slw"?'),
    ],
)
def test_misspelt_implementation_names_get_a_did_you_mean(
    kind: str, given: dict[str, object], path: str, fix: str
) -> None:
    impls: dict[str, object] = {**ALL, kind: given}
    machine = Machine.from_config(CONFIG, **impls)  # type: ignore[arg-type]
    (fault,) = machine.missing_implementations
    assert fault.path == path
    assert fault.fix.startswith(fix)
    assert fault.fix.endswith(": ...})")


def test_running_raises_for_missing_guards_actions_and_delays_but_not_actors() -> None:
    machine = Machine.from_config(CONFIG, actors={"chargeCard": print})
    with pytest.raises(DefinitionError) as info:
        machine.initial_transition()
    assert [f.path for f in info.value.faults] == [
        "states.open.entry",
        "states.open.on.PAY.guard",
        "states.paying.after.slow",
    ]
    message = str(info.value)
    assert message.startswith("machine 'order' has 3 faults:")
    assert "states.open.on.PAY.guard: guard 'isValid' is not provided; provide it" in message


def test_transition_raises_for_missing_implementations() -> None:
    complete = Machine.from_config(CONFIG, **ALL)  # type: ignore[arg-type]
    snapshot = complete.initial_transition().snapshot
    incomplete = Machine.from_config(CONFIG, actions={"notify": noop}, delays={"slow": 5})
    with pytest.raises(DefinitionError, match="guard 'isValid' is not provided"):
        incomplete.transition(snapshot, "PAY")


def test_a_missing_actor_blocks_only_whoever_runs_steps() -> None:
    impls = {k: v for k, v in ALL.items() if k != "actors"}
    machine = Machine.from_config(CONFIG, **impls)  # type: ignore[arg-type]
    assert [f.path for f in machine.missing_implementations] == ["states.paying.invoke.src"]
    snapshot = machine.initial_transition().snapshot
    step = machine.transition(snapshot, "PAY")
    assert StartStep in {type(effect) for effect in step.effects}


def test_provide_fills_in_what_was_missing() -> None:
    machine = Machine.from_config(CONFIG).provide(**ALL)  # type: ignore[arg-type]
    assert machine.missing_implementations == ()
    snapshot = machine.initial_transition().snapshot
    assert machine.transition(snapshot, "PAY").snapshot.value == "paying"


def test_missing_guard_inside_a_combinator_has_its_path() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"GO": {"target": "a", "guard": {"and": ["ok", "big"]}}}}},
    }
    machine = Machine.from_config(config, guards={"ok": ok, "bog": ok})
    (fault,) = machine.missing_implementations
    assert fault.path == "states.a.on.GO.guard.and[1]"
    assert fault.fix.startswith('did you mean "bog"?')


def test_missing_implementations_are_reported_with_structural_faults() -> None:
    config = {"id": "m", "initial": "a", "states": {"a": {"entry": "notify", "on": {"GO": "bb"}}}}
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config)
    assert [f.path for f in info.value.faults] == ["states.a.on.GO.target", "states.a.entry"]


def test_combinator_name_used_as_a_guard_name() -> None:
    config = {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": {"guard": "and"}}}}}
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config)
    (fault,) = info.value.faults
    assert fault.path == "states.a.on.GO.guard"
    assert fault.message == '"and" is written {"and": [...]} in statewright'
    assert '{"and": [...]}' in fault.fix


# --- bad input to from_config and provide ----------------------------------------------------


@pytest.mark.parametrize(
    ("impls", "path", "message", "fix"),
    [
        (
            {"guards": {"isValid": True}},
            "guards.isValid",
            "guard 'isValid' is not callable",
            "provide a function",
        ),
        (
            {"actors": {"chargeCard": "stripe"}},
            "actors.chargeCard",
            "actor 'chargeCard' is not callable",
            "provide a function",
        ),
        (
            {"actions": {"notify": 5}},
            "actions.notify",
            "action 'notify' is not callable",
            "provide a function or assign()",
        ),
        (
            {"actions": {"assign": noop}},
            "actions.assign",
            "'assign' is a built-in action and cannot be replaced (the names assign, cancel, "
            "emit, log, raise are reserved)",
            "give your action another name (e.g. assignMessage) in actions= and in the definition",
        ),
        (
            {"actions": {"raise": noop}},
            "actions.raise",
            "'raise' is a built-in action and cannot be replaced (the names assign, cancel, "
            "emit, log, raise are reserved)",
            "give your action another name (e.g. raiseMessage) in actions= and in the definition",
        ),
        (
            {"delays": {"slow": True}},
            "delays.slow",
            "delay 'slow' must be milliseconds or a function",
            "provide a number or fn(context, event) -> ms",
        ),
        (
            {"delays": {"slow": "5m"}},
            "delays.slow",
            "delay 'slow' must be milliseconds or a function",
            "provide a number or fn(context, event) -> ms",
        ),
    ],
)
@pytest.mark.parametrize("via", ["from_config", "provide"])
def test_bad_implementations_are_reported(
    impls: dict[str, object], path: str, message: str, fix: str, via: str
) -> None:
    with pytest.raises(DefinitionError) as info:
        if via == "provide":
            Machine.from_config(CONFIG).provide(**impls)  # type: ignore[arg-type]
        else:
            Machine.from_config(CONFIG, **impls)  # type: ignore[arg-type]
    (fault,) = info.value.faults
    assert (fault.path, fault.message, fault.fix) == (path, message, fix)
    assert str(fault) in str(info.value)


def test_every_bad_implementation_is_reported_at_once() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(CONFIG).provide(
            guards={"isValid": 1},  # type: ignore[dict-item]
            actions={"log": noop},
            delays={"slow": None},
        )
    assert [f.path for f in info.value.faults] == ["guards.isValid", "actions.log", "delays.slow"]


@pytest.mark.parametrize("impls", [{"guards": [ok]}, {"guards": {1: ok}}])
def test_malformed_implementation_mappings_say_how_to_fix_them(impls: dict[str, object]) -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(CONFIG).provide(**impls)  # type: ignore[arg-type]
    (fault,) = info.value.faults
    assert fault.path == "guards"
    assert fault.fix
