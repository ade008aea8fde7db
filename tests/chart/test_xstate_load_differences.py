"""The definitions statewright refuses at load that XState 5.33.3 accepts (or refuses later).

One parameter per example in docs/xstate-differences.md, "At load time"; the comment on each
says what XState does with the same definition (each was run in XState 5.33.3). The last
tests pin the definitions that both refuse at once, and the one XState form statewright
takes as XState does.
"""

from __future__ import annotations

from typing import Any

import pytest

from statewright import DefinitionError, Machine
from statewright.testing import Actor


def machine(**states: Any) -> dict[str, Any]:
    return {"id": "m", "initial": next(iter(states)), "states": states}


def go_to(b: Any, **extra: Any) -> dict[str, Any]:
    return machine(a={"on": {"GO": "b"}}, b=b, **extra)


def faults_of(config: Any) -> dict[str, str]:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config, actions={"t": print, "in_b": print}, actors={"run": print})
    return {fault.path: fault.message for fault in info.value.faults}


REFUSED_AT_LOAD: list[tuple[str, Any, str, str]] = [
    # -- XState accepts the definition and fails only when the state is entered ----------------
    # XState: status "error" at start, 'Initial state node "nope" not found on parent ...'.
    ("initial-no-child", machine(a={}, b={}) | {"initial": "nope"}, "initial", "no child state"),
    # XState: error when b is entered.
    (
        "initial-no-child-nested",
        go_to({"initial": "nope", "states": {"c": {}}}),
        "states.b.initial",
        "no child state",
    ),
    (
        "initial-number",
        go_to({"initial": 5, "states": {"c": {}}}),
        "states.b.initial",
        '"initial" must name a child state',
    ),
    (
        "initial-object-without-target",
        go_to({"initial": {"actions": "t"}, "states": {"c": {}}}),
        "states.b.initial.target",
        'needs a "target"',
    ),
    # XState: "Child state 'nope' does not exist" when the history state is entered.
    (
        "history-default-no-state",
        machine(
            a={"on": {"GO": "b.h"}},
            b={"initial": "c", "states": {"c": {}, "h": {"type": "history", "target": "nope"}}},
        ),
        "states.b.states.h.target",
        'no state "nope"',
    ),
    # XState: error when the transition is taken ("stateNodeToEnter.entry is not iterable").
    (
        "target-number",
        machine(a={"on": {"GO": {"target": 5}}}, b={}),
        "states.a.on.GO.target",
        "a target must be a state name",
    ),
    # XState: "Cannot read properties of null (reading 'type')" when the transition is taken.
    (
        "target-null",
        machine(a={"on": {"GO": {"target": None}}}, b={}),
        "states.a.on.GO.target",
        "a target must be a state name",
    ),
    # XState: the actor goes to error when the invoking state is entered.
    ("invoke-string", machine(a={"invoke": "run"}), "states.a.invoke", "must be an object"),
    (
        "invoke-without-src",
        machine(a={"invoke": {"onDone": "a"}}),
        "states.a.invoke.src",
        'an invoke needs "src"',
    ),
    (
        "invoke-id-number",
        machine(a={"invoke": {"src": "run", "id": 5}}),
        "states.a.invoke.id",
        "non-empty string",
    ),
    # XState: errors when the action runs / the guard is evaluated.
    (
        "action-number",
        machine(a={"on": {"GO": {"actions": 5}}}),
        "states.a.on.GO.actions",
        "an action must be a name",
    ),
    (
        "guard-number",
        machine(a={"on": {"GO": {"guard": 5}}}),
        "states.a.on.GO.guard",
        "a guard must be a name or an object",
    ),
    # -- XState accepts and does something odd ---------------------------------------------------
    # XState enters both: two active children of one compound state.
    (
        "targets-not-orthogonal",
        machine(a={"on": {"GO": {"target": ["b", "c"]}}}, b={}, c={}),
        "states.a.on.GO.target",
        "cannot both be active",
    ),
    # XState takes the history default as an ordinary target.
    (
        "history-default-outside-parent",
        machine(
            a={"on": {"GO": "b.h"}},
            b={"initial": "c", "states": {"c": {}, "h": {"type": "history", "target": "#m.a"}}},
        ),
        "states.b.states.h.target",
        "is not inside",
    ),
    # XState: a transition with "target": "" is targetless.
    (
        "target-empty",
        machine(a={"on": {"GO": {"target": "", "actions": "t"}}}),
        "states.a.on.GO.target",
        "a target cannot be empty",
    ),
    # XState: the later state wins "#x".
    (
        "duplicate-state-id",
        machine(a={"id": "x", "on": {"GO": "b"}}, b={"id": "x"}),
        "states.b.id",
        'duplicate state id "x"',
    ),
    ("empty-state-id", go_to({"id": ""}), "states.b.id", "a state id must be a non-empty string"),
    ("state-key-with-dot", machine(a={}, **{"x.y": {}}), 'states["x.y"]', "is not usable"),
    # XState: a state of unknown type behaves as one without children.
    ("unknown-type", go_to({"type": "weird"}), "states.b.type", "unknown state type"),
    # XState ignores the children (a final one: the machine is done).
    (
        "atomic-with-children",
        go_to({"type": "atomic", "initial": "c", "states": {"c": {}}}),
        "states.b.type",
        "cannot have child states",
    ),
    # XState enters it, value {"b": {}}, and it is never done.
    (
        "parallel-without-regions",
        go_to({"type": "parallel"}),
        "states.b.type",
        "a parallel state needs child states",
    ),
    # XState: done at start / error at start.
    ("root-final", {"id": "m", "type": "final"}, "type", "the machine itself cannot be"),
    # XState: a duplicate invoke id in one state: both run, their events share a name.
    (
        "duplicate-invoke-id",
        machine(a={"invoke": [{"src": "run", "id": "x"}, {"src": "run", "id": "x"}]}),
        "states.a.invoke[1].id",
        'duplicate invoke id "x"',
    ),
    (
        "empty-invoke-id",
        machine(a={"invoke": {"src": "run", "id": ""}}),
        "states.a.invoke.id",
        "non-empty string",
    ),
    # -- values of the wrong kind, which XState ignores or coerces ------------------------------
    (
        "machine-id-empty",
        {"id": "", "initial": "a", "states": {"a": {}}},
        "id",
        "the machine id must be a non-empty string",
    ),
    ("context-number", machine(a={}) | {"context": 5}, "context", "must be an object"),
    ("context-null", machine(a={}) | {"context": None}, "context", "must be an object"),
    ("version-number", machine(a={}) | {"version": 2}, "version", "must be a string"),
    ("state-string", go_to("x"), "states.b", "must be an object"),
    ("states-list", go_to({"states": []}), "states.b.states", '"states" must map'),
    (
        "on-list",
        machine(a={"on": [{"event": "GO", "target": "a"}]}),
        "states.a.on",
        '"on" must map',
    ),
    (
        "after-list",
        machine(a={"after": [{"delay": 100, "target": "a"}]}),
        "states.a.after",
        '"after" must map',
    ),
    (
        "transition-number",
        machine(a={"on": {"GO": 5}}),
        "states.a.on.GO",
        "a transition must be a target string or an object",
    ),
    (
        "reenter-string",
        machine(a={"on": {"GO": {"target": "a", "reenter": "yes"}}}),
        "states.a.on.GO.reenter",
        "reenter must be true or false",
    ),
    ("tags-number", machine(a={"tags": 5}), "states.a.tags", "tags must be a list of strings"),
    (
        "description-number",
        machine(a={"description": 5}),
        "states.a.description",
        "a description is text",
    ),
    # XState reads any other mode as shallow.
    (
        "history-mode-unknown",
        machine(a={"initial": "c", "states": {"c": {}, "h": {"type": "history", "history": "x"}}}),
        "states.a.states.h.history",
        "unknown history mode",
    ),
    # -- keys that do nothing where they are written (XState ignores them) ---------------------
    (
        "history-key-on-compound",
        go_to({"history": "deep", "initial": "c", "states": {"c": {}}}),
        "states.b.history",
        'only a history state has "history"',
    ),
    (
        "target-key-on-state",
        go_to({"target": "a"}),
        "states.b.target",
        'only a history state has a default "target"',
    ),
    (
        "initial-on-parallel",
        go_to({"type": "parallel", "initial": "r", "states": {"r": {}, "s": {}}}),
        "states.b.initial",
        'a parallel state has no "initial"',
    ),
    # XState: an error when b is entered ('Initial state node "x" not found').
    (
        "initial-on-atomic",
        go_to({"initial": "x"}),
        "states.b.initial",
        "has no child states to start in",
    ),
    ("ondone-on-atomic", go_to({"onDone": "a"}), "states.b.onDone", "onDone never fires"),
    (
        "output-on-atomic",
        go_to({"output": 1}),
        "states.b.output",
        "only final states (and the machine) have an output",
    ),
    (
        "history-with-on",
        machine(
            a={"initial": "c", "states": {"c": {}, "h": {"type": "history", "on": {"X": "c"}}}}
        ),
        "states.a.states.h.on",
        'a history state cannot have "on"',
    ),
    # XState runs them: a nested final state's `always` leaves it.
    (
        "final-with-always",
        machine(a={"initial": "f", "states": {"f": {"type": "final", "always": "g"}, "g": {}}}),
        "states.a.states.f.always",
        'a final state cannot have "always"',
    ),
    # -- event descriptors XState matches only literally ----------------------------------------
    (
        "event-with-spaces",
        machine(a={"on": {" GO": "a"}}),
        'states.a.on[" GO"]',
        "has spaces around it",
    ),
    ("wildcard-inside", machine(a={"on": {"a*b": "a"}}), 'states.a.on["a*b"]', "never matches"),
    ("wildcard-first", machine(a={"on": {"*.x": "a"}}), 'states.a.on["*.x"]', "never matches"),
    # -- delays ----------------------------------------------------------------------------------
    # XState: due at once, fires on the next clock advance.
    (
        "negative-delay",
        machine(a={"after": {"-100": "a"}}),
        "states.a.after.-100",
        "a delay cannot be negative",
    ),
    # XState: a string inside a list under `after` is spread into a transition without a
    # target (`getDelayedTransitions`); in `on`, `always` and `onDone` it is a target.
    (
        "after-list-of-target-strings",
        machine(a={"after": {"100": ["b", {"target": "a"}]}}, b={}),
        "states.a.after.100[0]",
        "a target string in a list of delayed transitions does nothing in XState",
    ),
    (
        "empty-after-key",
        machine(a={"after": {"": "a"}}),
        'states.a.after[""]',
        'an empty "after" key is not a delay',
    ),
    # -- the JSON dialect's data-only built-ins (XState: and([]) is true, assign({}) a no-op) --
    (
        "and-empty",
        machine(a={"on": {"GO": {"target": "a", "guard": {"and": []}}}}),
        "states.a.on.GO.guard.and",
        "takes a non-empty list of guards",
    ),
    (
        "assign-nothing",
        machine(a={"entry": {"type": "assign", "params": {}}}),
        "states.a.entry.params",
        '"assign" needs at least one key',
    ),
]


@pytest.mark.parametrize(
    ("config", "path", "message"),
    [
        pytest.param(config, path, message, id=name)
        for name, config, path, message in REFUSED_AT_LOAD
    ],
)
def test_refused_at_load_where_xstate_accepts_it(config: Any, path: str, message: str) -> None:
    faults = faults_of(config)
    assert path in faults, faults
    assert message in faults[path]


#: Definitions XState 5.33.3 also refuses in `createMachine`: no difference.
BOTH_REFUSE: list[tuple[str, Any, str]] = [
    ("initial-missing", go_to({"states": {"c": {}}}), "states.b"),
    ("initial-null", go_to({"initial": None, "states": {"c": {}}}), "states.b.initial"),
    ("compound-without-children", go_to({"type": "compound"}), "states.b.type"),
    ("empty-event", machine(a={"on": {"": "a"}}), 'states.a.on[""]'),
    ("unknown-target", machine(a={"on": {"GO": "nope"}}), "states.a.on.GO.target"),
    ("unknown-id", machine(a={"on": {"GO": "#nope"}}), "states.a.on.GO.target"),
    ("root-target-without-dot", machine(a={}) | {"on": {"GO": "a"}}, "on.GO.target"),
    ("id-with-dot", machine(a={"on": {"GO": "#x.y"}}, b={"id": "x.y"}), "states.a.on.GO.target"),
    ("state-null", go_to(None), "states.b"),
]


@pytest.mark.parametrize(
    ("config", "path"),
    [pytest.param(config, path, id=name) for name, config, path in BOTH_REFUSE],
)
def test_refused_at_load_as_in_xstate(config: Any, path: str) -> None:
    assert path in faults_of(config)


def test_history_true_is_a_shallow_history() -> None:
    config = machine(
        p={
            "initial": "x",
            "on": {"LEAVE": "out"},
            "states": {
                "x": {"on": {"NEXT": "y"}},
                "y": {"initial": "y1", "states": {"y1": {"on": {"NEXT": "y2"}}, "y2": {}}},
                "h": {"history": True},
            },
        },
        out={"on": {"BACK": "#m.p.h"}},
    )
    actor = Actor(Machine.from_config(config)).start()
    for event in ("NEXT", "NEXT", "LEAVE", "BACK"):
        actor.send(event)
    assert actor.snapshot.value == {"p": {"y": "y1"}}
