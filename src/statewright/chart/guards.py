"""Guards: named implementations, `and`/`or`/`not` combinators and `$expr` expressions.

Forms a definition may use (XState's, plus statewright's data-only ones):

    "guard": "isSmall"                                  a provided guard
    "guard": {"type": "isOver", "params": {"n": 5}}     the same, with params
    "guard": {"and": [g, ...]} | {"or": [g, ...]} | {"not": g}
    "guard": {"$expr": "context.total < 1000"}          an expression, no Python needed
    "guard": {"type": "xstate.stateIn", "params": {"state": "#id"}}    XState's `stateIn`
    "guard": {"$expr": "stateIn('#id') and context.n > 1"}            the same in an expression

Each is compiled once into `fn(context, event, configuration) -> bool`; only `stateIn` reads
the configuration (see `state_in.py`). A Python guard that declares a `state_in` parameter is
passed a `StateQuery` for it, by keyword.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

from statewright.chart.expressions import StateInResolver, compile_expression
from statewright.chart.faults import Faults, join_path
from statewright.chart.implementations import (
    Implementations,
    UserFunction,
    accepts_params,
    takes_state_in,
)
from statewright.chart.nodes import Guard
from statewright.chart.state_in import STATE_IN_TYPE, StateQuery, StateTree, resolve_state_in
from statewright.chart.values import compile_value
from statewright.errors import ExpressionError

__all__ = ["compile_guard"]

_COMBINATORS = ("and", "or", "not", "$expr", "type")


def compile_guard(
    raw: object,
    *,
    path: str,
    faults: Faults,
    impls: Implementations,
    tree: StateTree | None = None,
) -> tuple[Guard, str]:
    """Compile a guard reference; returns the guard and a label for messages.

    `tree` resolves `stateIn` references; without it they are faults.
    """
    if callable(raw):
        return _bind(raw, None, getattr(raw, "__name__", "inline guard"), tree), "inline guard"
    if isinstance(raw, str):
        if raw == STATE_IN_TYPE:
            faults.add(path, f'"{raw}" needs the state to test', _STATE_IN_FIX)
            return _never, raw
        return _named(raw, None, path, faults, impls, tree), raw
    if isinstance(raw, Mapping):
        return _compile_mapping(raw, path, faults, impls, tree)
    faults.add(path, f"a guard must be a name or an object, not {type(raw).__name__}", _FIX)
    return _never, "invalid guard"


_FIX = 'write "guard": "name", {"type": "name", "params": {...}}, {"and": [...]}, {"$expr": "..."}'
_STATE_IN_FIX = (
    f'write {{"type": "{STATE_IN_TYPE}", "params": {{"state": "#id"}}}}, or a state value '
    'for "state": "a.b" or {"a": "b"}'
)


def _compile_mapping(
    raw: Mapping[str, object],
    path: str,
    faults: Faults,
    impls: Implementations,
    tree: StateTree | None,
) -> tuple[Guard, str]:
    keys = [key for key in raw if key in _COMBINATORS]
    if len(keys) != 1 or (keys != ["type"] and len(raw) != 1):
        unknown = [key for key in raw if key not in (*_COMBINATORS, "params")]
        what = f"unknown key {unknown[0]!r}" if unknown else "ambiguous guard object"
        faults.add(path, what, _FIX)
        return _never, "invalid guard"
    key = keys[0]
    if key == "$expr":
        return _expression(raw["$expr"], join_path(path, "$expr"), faults, tree)
    if key == "not":
        inner, label = compile_guard(
            raw["not"], path=join_path(path, "not"), faults=faults, impls=impls, tree=tree
        )
        return (lambda context, event, config: not inner(context, event, config)), f"not({label})"
    if key in ("and", "or"):
        return _combine(key, raw[key], join_path(path, key), faults, impls, tree)
    for key in raw:
        if key not in ("type", "params"):
            faults.add(
                join_path(path, str(key)),
                f"unknown guard key {key!r}",
                'a guard object has only "type" and "params"',
            )
    name = raw["type"]
    if not isinstance(name, str):
        faults.add(join_path(path, "type"), "a guard type must be a string", _FIX)
        return _never, "invalid guard"
    if name == STATE_IN_TYPE:
        return _state_in(raw.get("params"), join_path(path, "params"), faults, tree)
    params = compile_value(
        raw.get("params"), path=join_path(path, "params"), faults=faults, scope="transition"
    )
    return _named(name, params, path, faults, impls, tree), name


def _combine(
    key: str,
    items: object,
    path: str,
    faults: Faults,
    impls: Implementations,
    tree: StateTree | None,
) -> tuple[Guard, str]:
    if not isinstance(items, list) or not items:
        faults.add(
            path, f'"{key}" takes a non-empty list of guards', f'write {{"{key}": [g1, g2]}}'
        )
        return _never, "invalid guard"
    compiled = [
        compile_guard(item, path=join_path(path, i), faults=faults, impls=impls, tree=tree)
        for i, item in enumerate(items)
    ]
    guards = tuple(guard for guard, _ in compiled)
    label = f"{key}({', '.join(label for _, label in compiled)})"
    if key == "and":
        return (
            lambda context, event, config: all(g(context, event, config) for g in guards)
        ), label
    return (lambda context, event, config: any(g(context, event, config) for g in guards)), label


def _state_in(
    params: object, path: str, faults: Faults, tree: StateTree | None
) -> tuple[Guard, str]:
    if not isinstance(params, Mapping) or "state" not in params:
        faults.add(path, f'"{STATE_IN_TYPE}" needs params {{"state": ...}}', _STATE_IN_FIX)
        return _never, STATE_IN_TYPE
    for key in params:
        if key != "state":
            faults.add(
                join_path(path, str(key)), f"unknown {STATE_IN_TYPE} param {key!r}", _STATE_IN_FIX
            )
    state = params["state"]
    label = f"stateIn({state if isinstance(state, str) else repr(state)})"
    if tree is None:
        faults.add(path, "stateIn cannot be used here", "use it in a transition's guard")
        return _never, label
    try:
        test = resolve_state_in(state, tree)
    except ValueError as error:
        faults.add(join_path(path, "state"), str(error).split("; ")[0], _hint(error))
        return _never, label
    return (lambda context, event, config: test(config)), label


def _hint(error: ValueError) -> str:
    parts = str(error).split("; ", 1)
    return parts[1] if len(parts) > 1 else _STATE_IN_FIX


def _expression(
    source: object, path: str, faults: Faults, tree: StateTree | None
) -> tuple[Guard, str]:
    if not isinstance(source, str):
        faults.add(path, "an expression must be a string", 'write {"$expr": "context.n > 1"}')
        return _never, "invalid guard"
    resolver: StateInResolver | None = None
    if tree is not None:
        # The expression hands the test the `$state` value, which is the configuration.
        resolver = cast(StateInResolver, lambda ref: resolve_state_in(ref, tree))
    try:
        expression = compile_expression(
            source, ("context", "event", "$state"), path=path, state_in=resolver
        )
    except ExpressionError as error:
        faults.add(
            path,
            str(error).split(": ", 1)[-1],
            _expression_fix(error),
        )
        return _never, source
    return (lambda context, event, config: bool(expression(context, event, config))), source


def _named(
    name: str,
    params: Callable[[Mapping[str, object], Mapping[str, object]], object] | None,
    path: str,
    faults: Faults,
    impls: Implementations,
    tree: StateTree | None,
) -> Guard:
    fn = impls.guards.get(name)
    if fn is None:
        if name in ("and", "or", "not"):
            faults.add(path, f'"{name}" is written {{"{name}": [...]}} in statewright', _FIX)
        else:
            faults.add_missing(path, "guards", name, impls.guards)
        return _never
    return _bind(fn, params, name, tree)


def _bind(
    fn: UserFunction,
    params: Callable[[Mapping[str, object], Mapping[str, object]], object] | None,
    name: str,
    tree: StateTree | None,
) -> Guard:
    if tree is not None and takes_state_in(fn):
        return _bind_state_in(fn, params, tree)
    if not accepts_params(fn):
        return lambda context, event, config: bool(fn(context, event))
    if params is None:
        return lambda context, event, config: bool(fn(context, event, None))
    return lambda context, event, config: bool(fn(context, event, params(context, event)))


def _bind_state_in(
    fn: UserFunction,
    params: Callable[[Mapping[str, object], Mapping[str, object]], object] | None,
    tree: StateTree,
) -> Guard:
    """A guard declaring `state_in` gets a `StateQuery` for the configuration, by keyword."""
    if not accepts_params(fn, ignore="state_in"):
        return lambda context, event, config: bool(
            fn(context, event, state_in=StateQuery(config, tree))
        )
    return lambda context, event, config: bool(
        fn(
            context,
            event,
            None if params is None else params(context, event),
            state_in=StateQuery(config, tree),
        )
    )


def _never(context: object, event: object, config: object) -> bool:
    return False


def _expression_fix(error: ExpressionError) -> str:
    if "stateIn()" in str(error):
        return 'stateIn() takes "#id", "a.b" or {"a": "b"}, written as a literal'
    return "write a statewright expression over context and event"
