"""`stateIn`: a guard that tests the active states, as XState's `stateIn` does.

XState v5 (`guards.ts`, `checkStateIn`) answers two questions:

- `stateIn("#id")` (a string starting with `#`): is the state with that id in the snapshot's
  active set (`snapshot._nodes`)? `#id.child.grandchild` walks down from the state `id`.
- anything else, a state value (`"form.valid"` or `{"form": "valid"}`): does the snapshot's
  state value match it (`snapshot.matches`, `matchesState`)?

A guard sees the configuration transitions are being selected from: during a macrostep that
is the one before the microstep's transitions (for `always` and raised events, the result of
the previous microstep). The active set and the value differ only in a configuration left
incomplete (see `plan.Configuration`), so the two forms are kept apart as XState keeps them.

Every reference is resolved when the machine is loaded: an unknown id or state key is a fault
with its JSON path and a "did you mean". Python guards that declare a `state_in` parameter get
a `StateQuery`, which resolves references the same way when called.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from statewright.chart.faults import did_you_mean, few
from statewright.chart.json_types import JsonValue
from statewright.chart.nodes import StateNode

if TYPE_CHECKING:
    from statewright.chart.plan import Configuration

__all__ = ["StateQuery", "StateTest", "StateTree", "matches_state", "resolve_state_in"]

#: A resolved `stateIn` reference: `(configuration) -> bool`.
StateTest = Callable[["Configuration"], bool]

#: The XState type of the built-in guard in the JSON dialect.
STATE_IN_TYPE = "xstate.stateIn"


class StateTree:
    """What `stateIn` references resolve against: the root and the states by id."""

    __slots__ = ("ids", "root")

    def __init__(self, root: StateNode, ids: Mapping[str, StateNode]) -> None:
        self.root = root
        self.ids = ids


def resolve_state_in(ref: object, tree: StateTree) -> StateTest:
    """Resolve a `stateIn` reference once into a test of a configuration.

    Args:
        ref: `"#id"` / `"#id.child"` (an active state), or a state value: `"a.b"` or
            `{"a": "b"}`, matched against the state value as `snapshot.matches` does.
        tree: the machine's states.

    Raises:
        ValueError: the reference names no state; the message says which part and offers
            the closest name.
    """
    if isinstance(ref, str) and ref.startswith("#"):
        node = _by_id(ref, tree)
        return lambda config: node in config.node_set
    value = _state_value(ref)
    _check_value(value, tree.root, ref)
    return lambda config: matches_state(value, config.value_template)


def matches_state(test: JsonValue, value: JsonValue) -> bool:
    """XState's `matchesState(test, value)`: is `value` in (or below) the state `test`?"""
    if isinstance(value, str):
        return isinstance(test, str) and test == value
    if not isinstance(value, Mapping):
        return False
    if isinstance(test, str):
        return test in value
    if not isinstance(test, Mapping):
        return False
    return all(key in value and matches_state(inner, value[key]) for key, inner in test.items())


class StateQuery:
    """Passed to a Python guard that declares `state_in`: `state_in("#id")` -> bool.

    It takes what the `xstate.stateIn` guard takes (`"#id"`, `"a.b"`, `{"a": "b"}`) and
    answers for the configuration being selected from.
    """

    __slots__ = ("_config", "_tree")

    def __init__(self, config: Configuration, tree: StateTree) -> None:
        self._config = config
        self._tree = tree

    def __call__(self, state: object) -> bool:
        """True if `state` (an id `"#id"` or a state value) is active.

        Raises:
            ValueError: `state` names no state of the machine.
        """
        return resolve_state_in(state, self._tree)(self._config)


def _by_id(ref: str, tree: StateTree) -> StateNode:
    head, _, rest = ref[1:].partition(".")
    node = tree.ids.get(head)
    if node is None:
        hint = did_you_mean(head, tree.ids)
        hint = f'did you mean "#{hint[14:-2]}"?' if hint else f"known ids: {few(tree.ids)}"
        raise ValueError(f'no state with id "{head}" ("{ref}"); {hint}')
    for key in rest.split(".") if rest else ():
        node = _child(node, key, ref)
    if node.type == "history":
        raise ValueError(f'"{ref}" is a history state, which is never active; test its parent')
    return node


def _state_value(ref: object) -> JsonValue:
    """A state value from `"a.b.c"` (XState's `toStateValue`) or a mapping, checked."""
    if isinstance(ref, str):
        if not ref:
            raise ValueError('"" names no state; write "#id", "a.b" or {"a": "b"}')
        keys = ref.split(".")
        value: JsonValue = keys[-1]
        for key in reversed(keys[:-1]):
            value = {key: value}
        return value
    if isinstance(ref, Mapping) and ref:
        return {str(key): _nested(inner, ref) for key, inner in ref.items()}
    raise ValueError(
        f"{json.dumps(ref, default=repr)} names no state; "
        'write "#id", a dotted value "a.b" or an object {"a": "b"}'
    )


def _nested(inner: object, ref: object) -> JsonValue:
    if isinstance(inner, str):
        return inner
    if isinstance(inner, Mapping):
        return {str(key): _nested(value, ref) for key, value in inner.items()}
    raise ValueError(f"in the state value {ref!r}, {inner!r} is not a state key or a value")


def _check_value(value: JsonValue, node: StateNode, ref: object) -> None:
    if isinstance(value, str):
        _child(node, value, ref)
        return
    assert isinstance(value, Mapping)
    for key, inner in value.items():
        _check_value(inner, _child(node, key, ref), ref)


def _child(node: StateNode, key: str, ref: object) -> StateNode:
    child = node.children.get(key)
    if child is not None and child.type != "history":
        return child
    where = f'state "{node.id}"' if node.parent else "the machine"
    real = [name for name, kid in node.children.items() if kid.type != "history"]
    hint = did_you_mean(key, real) or (
        f"its states are {few(real)}" if real else f'"{node.id}" has no child states'
    )
    shown = ref if isinstance(ref, str) else json.dumps(ref, default=repr)
    raise ValueError(f'no state "{key}" in {where} ({shown}); {hint}')
