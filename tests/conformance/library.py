"""The shared implementation library of the conformance corpus, for statewright.

`recorder/record.mjs` implements the same names for XState; the two must stay identical, since
the expected traces were recorded with the JavaScript side. What each name does:

- actions: `snap` logs `{"type": "snap", "context": <copy of the context>}`; `boom` raises;
  `inc` is an assign: `count = (context.count ?? 0) + 1` (logs nothing). Every other action
  name only records itself in `LOG`: the name, or `{"type": name, "params": params}` when the
  reference carries params.
- guards: `yes`, `no`, `ctxTrue {key}` (context[key] is truthy), `evtTrue {key}` (event[key]
  is truthy), `countLt {n}`, `countGte {n}` (on `count ?? 0`), `explode` (raises). Truthiness
  is JavaScript's, so both sides agree on `[]` and `{}`.
- delays: `short` = 100, `long` = 1000, `fromCtx` = context.delay.
- actors (`invoke.src`): `succeed` returns its input; `fail` fails with the JSON value
  `{"message": "failed"}` as the error event's `error` (XState's promise rejects with that
  plain object; here `statewright.testing.StepError` carries it); `never` never settles
  (`statewright.testing.PENDING`).

The runner clears `LOG` before each step and compares it with the step's recorded `log`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["LOG", "implementations", "plain"]

#: Custom actions run during the current step, in order; the runner clears it per step.
LOG: list[object] = []

#: Names statewright implements itself (data-only built-ins); never library actions.
_BUILTIN_ACTIONS = frozenset({"assign", "raise", "cancel", "emit", "log"})


def plain(value: object) -> object:
    """Return a JSON-shaped deep copy (mappings -> dicts, sequences -> lists)."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def _truthy(value: object) -> bool:
    """JavaScript's truthiness: false, 0, NaN, "", null and undefined are falsy."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _count(context: Mapping[str, Any]) -> Any:
    count = context.get("count")
    return 0 if count is None else count


# -- actions -----------------------------------------------------------------------------------


def _snap(context: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    LOG.append({"type": "snap", "context": plain(context)})


def _boom(context: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    raise RuntimeError("boom")


def _recording(name: str) -> Callable[[Mapping[str, Any], Mapping[str, Any], object], None]:
    def record(context: Mapping[str, Any], event: Mapping[str, Any], params: object) -> None:
        LOG.append(name if params is None else {"type": name, "params": plain(params)})

    record.__name__ = f"record_{name}"
    return record


# -- guards ------------------------------------------------------------------------------------


def _explode(context: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    raise RuntimeError("explode")


_GUARDS: dict[str, Callable[..., bool]] = {
    "yes": lambda context, event: True,
    "no": lambda context, event: False,
    "ctxTrue": lambda context, event, params: _truthy(context.get(params["key"])),
    "evtTrue": lambda context, event, params: _truthy(event.get(params["key"])),
    "countLt": lambda context, event, params: _count(context) < params["n"],
    "countGte": lambda context, event, params: _count(context) >= params["n"],
    "explode": _explode,
}

_DELAYS: dict[str, object] = {
    "short": 100,
    "long": 1000,
    "fromCtx": lambda context, event: context.get("delay"),
}


# -- actors ------------------------------------------------------------------------------------


def _actors() -> dict[str, Callable[[object], object]]:
    from statewright.testing import PENDING, StepError

    def succeed(input: object) -> object:
        return input

    def fail(input: object) -> object:
        raise StepError({"message": "failed"})

    def never(input: object) -> object:
        return PENDING

    return {"succeed": succeed, "fail": fail, "never": never}


# -- the whole library -------------------------------------------------------------------------


def implementations(machine_config: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Return the library as keyword arguments for `machine.provide(**...)`.

    Args:
        machine_config: the case's machine config. Every action name it references that the
            library does not implement gets a recording action (XState's `setup` needs the
            names up front, and so does statewright).
    """
    from statewright import assign

    actions: dict[str, object] = {
        "snap": _snap,
        "boom": _boom,
        "inc": assign(lambda context, event: {"count": _count(context) + 1}),
    }
    if machine_config is not None:
        for name in sorted(set(action_names(machine_config))):
            if name not in actions and name not in _BUILTIN_ACTIONS:
                actions[name] = _recording(name)
    return {
        "guards": dict(_GUARDS),
        "actions": actions,
        "actors": _actors(),
        "delays": dict(_DELAYS),
    }


def action_names(node: Mapping[str, Any]) -> Iterator[str]:
    """Yield every action name referenced by a state node config and its descendants."""
    for key in ("entry", "exit"):
        yield from _names_in_actions(node.get(key))
    for key in ("on", "after"):
        for transition in (node.get(key) or {}).values():
            yield from _names_in_transition(transition)
    yield from _names_in_transition(node.get("always"))
    yield from _names_in_transition(node.get("onDone"))
    invokes = node.get("invoke") or []
    for invoke in invokes if isinstance(invokes, list) else [invokes]:
        yield from _names_in_transition(invoke.get("onDone"))
        yield from _names_in_transition(invoke.get("onError"))
    initial = node.get("initial")
    if isinstance(initial, Mapping):
        yield from _names_in_actions(initial.get("actions"))
    for child in (node.get("states") or {}).values():
        yield from action_names(child)


def _names_in_transition(transition: object) -> Iterator[str]:
    if isinstance(transition, list):
        for item in transition:
            yield from _names_in_transition(item)
    elif isinstance(transition, Mapping):
        yield from _names_in_actions(transition.get("actions"))


def _names_in_actions(actions: object) -> Iterator[str]:
    for action in actions if isinstance(actions, list) else [actions]:
        if isinstance(action, str):
            yield action
        elif isinstance(action, Mapping) and isinstance(action.get("type"), str):
            yield action["type"]
