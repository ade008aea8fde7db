"""Implementations bound by name, as XState's `setup`/`provide` bind them.

Guards, actions, delays and actors (steps) are Python callables registered under names the
definition refers to. Their shape is read once, when the machine is built, so that calling
them per event costs one Python call:

- guard `fn(context, event)` or `fn(context, event, params)` -> bool; a guard that also
  declares a parameter named `state_in` is passed, by keyword, a function that tests the active
  states as the `xstate.stateIn` guard does: `state_in("#id")`, `state_in("a.b")`
- action `fn(context, event)` or `fn(context, event, params)`; or `assign(...)` / `emit(...)`
- delay: milliseconds, or `fn(context, event)` -> milliseconds
- actor: `fn(input)` -> output, sync or async; run by the runtime, never by the chart
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from statewright.chart.json_types import JsonObject

__all__ = [
    "AssignAction",
    "EmitAction",
    "Implementations",
    "UserFunction",
    "accepts_params",
    "assign",
    "emit",
]

#: Names of the data-only built-in actions; they cannot be provided under these names.
BUILTIN_ACTIONS = frozenset({"assign", "raise", "cancel", "emit", "log"})
#: Names of the built-in guard combinators.
BUILTIN_GUARDS = frozenset({"and", "or", "not", "$expr", "xstate.stateIn"})

#: Anything users register: guards, actions, delays and actors take 1 to 3 arguments, so their
#: signature is read once at registration (`accepts_params`), not fixed by a type.
UserFunction = Callable[..., object]
Assigner = Callable[..., Mapping[str, object]]


@dataclass(frozen=True, slots=True)
class AssignAction:
    """An action that merges new values into the context (XState's `assign`)."""

    assignment: Assigner | Mapping[str, object]


@dataclass(frozen=True, slots=True)
class EmitAction:
    """An action that records an outbox message (XState's `emit`)."""

    event: Callable[..., JsonObject] | JsonObject


def assign(assignment: Assigner | Mapping[str, object]) -> AssignAction:
    """Build an action that assigns to the context.

    Args:
        assignment: `fn(context, event[, params]) -> mapping of updates`, or a mapping from
            context key to a value or to `fn(context, event[, params])`. Every function sees
            the context as it was before this action.

    Returns:
        An action to use in `provide(actions=...)` or inline in a Python config.
    """
    return AssignAction(assignment)


def emit(event: Callable[..., JsonObject] | JsonObject) -> EmitAction:
    """Build an action that emits an outbox message: a dict, or `fn(context, event) -> dict`."""
    return EmitAction(event)


def accepts_params(fn: UserFunction, *, ignore: str = "") -> bool:
    """True if `fn` takes a third positional argument (the reference's `params`).

    A parameter named `ignore` (one passed by keyword) does not count.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    positional = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return True
        if parameter.name != ignore and parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            positional += 1
    return positional >= 3


def takes_state_in(fn: UserFunction) -> bool:
    """True if the guard `fn` declares a `state_in` parameter that can be passed by keyword."""
    try:
        parameter = inspect.signature(fn).parameters.get("state_in")
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


@dataclass(frozen=True, slots=True)
class Implementations:
    """The named implementations of a machine, by kind."""

    guards: Mapping[str, UserFunction]
    actions: Mapping[str, object]
    actors: Mapping[str, UserFunction]
    delays: Mapping[str, object]

    def merged(self, **updates: Mapping[str, object] | None) -> Implementations:
        """Return these implementations with `updates` (kind -> name -> impl) laid over."""
        kinds: dict[str, dict[str, object]] = {
            "guards": dict(self.guards),
            "actions": dict(self.actions),
            "actors": dict(self.actors),
            "delays": dict(self.delays),
        }
        for kind, extra in updates.items():
            if extra:
                kinds[kind].update(extra)
        return Implementations(
            guards=_callables(kinds["guards"]),
            actions=kinds["actions"],
            actors=_callables(kinds["actors"]),
            delays=kinds["delays"],
        )


def _callables(mapping: Mapping[str, object]) -> dict[str, UserFunction]:
    return {name: impl for name, impl in mapping.items() if callable(impl)}


EMPTY = Implementations(guards={}, actions={}, actors={}, delays={})
