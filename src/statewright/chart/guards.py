"""Guards: named implementations, `and`/`or`/`not` combinators and `$expr` expressions.

Forms a definition may use (XState's, plus statewright's data-only ones):

    "guard": "isSmall"                                  a provided guard
    "guard": {"type": "isOver", "params": {"n": 5}}     the same, with params
    "guard": {"and": [g, ...]} | {"or": [g, ...]} | {"not": g}
    "guard": {"$expr": "context.total < 1000"}          an expression, no Python needed

Each is compiled once into `fn(context, event) -> bool`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from statewright.chart.expressions import compile_expression
from statewright.chart.faults import Faults, join_path
from statewright.chart.implementations import Implementations, UserFunction, accepts_params
from statewright.chart.nodes import Guard
from statewright.chart.values import compile_value
from statewright.errors import ExpressionError

__all__ = ["compile_guard"]

_COMBINATORS = ("and", "or", "not", "$expr", "type")


def compile_guard(
    raw: object, *, path: str, faults: Faults, impls: Implementations
) -> tuple[Guard, str]:
    """Compile a guard reference; returns the guard and a label for messages."""
    if callable(raw):
        return _bind(raw, None, getattr(raw, "__name__", "inline guard")), "inline guard"
    if isinstance(raw, str):
        return _named(raw, None, path, faults, impls), raw
    if isinstance(raw, Mapping):
        return _compile_mapping(raw, path, faults, impls)
    faults.add(path, f"a guard must be a name or an object, not {type(raw).__name__}", _FIX)
    return _never, "invalid guard"


_FIX = 'write "guard": "name", {"type": "name", "params": {...}}, {"and": [...]}, {"$expr": "..."}'


def _compile_mapping(
    raw: Mapping[str, object], path: str, faults: Faults, impls: Implementations
) -> tuple[Guard, str]:
    keys = [key for key in raw if key in _COMBINATORS]
    if len(keys) != 1 or (keys != ["type"] and len(raw) != 1):
        unknown = [key for key in raw if key not in (*_COMBINATORS, "params")]
        what = f"unknown key {unknown[0]!r}" if unknown else "ambiguous guard object"
        faults.add(path, what, _FIX)
        return _never, "invalid guard"
    key = keys[0]
    if key == "$expr":
        return _expression(raw["$expr"], join_path(path, "$expr"), faults)
    if key == "not":
        inner, label = compile_guard(
            raw["not"], path=join_path(path, "not"), faults=faults, impls=impls
        )
        return (lambda context, event: not inner(context, event)), f"not({label})"
    if key in ("and", "or"):
        return _combine(key, raw[key], join_path(path, key), faults, impls)
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
    params = compile_value(
        raw.get("params"), path=join_path(path, "params"), faults=faults, scope="transition"
    )
    return _named(name, params, path, faults, impls), name


def _combine(
    key: str, items: object, path: str, faults: Faults, impls: Implementations
) -> tuple[Guard, str]:
    if not isinstance(items, list) or not items:
        faults.add(
            path, f'"{key}" takes a non-empty list of guards', f'write {{"{key}": [g1, g2]}}'
        )
        return _never, "invalid guard"
    compiled = [
        compile_guard(item, path=join_path(path, i), faults=faults, impls=impls)
        for i, item in enumerate(items)
    ]
    guards = tuple(guard for guard, _ in compiled)
    label = f"{key}({', '.join(label for _, label in compiled)})"
    if key == "and":
        return (lambda context, event: all(g(context, event) for g in guards)), label
    return (lambda context, event: any(g(context, event) for g in guards)), label


def _expression(source: object, path: str, faults: Faults) -> tuple[Guard, str]:
    if not isinstance(source, str):
        faults.add(path, "an expression must be a string", 'write {"$expr": "context.n > 1"}')
        return _never, "invalid guard"
    try:
        expression = compile_expression(source, ("context", "event"), path=path)
    except ExpressionError as error:
        faults.add(
            path,
            str(error).split(": ", 1)[-1],
            "write a statewright expression over context and event",
        )
        return _never, source
    return (lambda context, event: bool(expression(context, event))), source


def _named(
    name: str,
    params: Callable[[Mapping[str, object], Mapping[str, object]], object] | None,
    path: str,
    faults: Faults,
    impls: Implementations,
) -> Guard:
    fn = impls.guards.get(name)
    if fn is None:
        if name in ("and", "or", "not"):
            faults.add(path, f'"{name}" is written {{"{name}": [...]}} in statewright', _FIX)
        else:
            faults.add_missing(path, "guards", name, impls.guards)
        return _never
    return _bind(fn, params, name)


def _bind(
    fn: UserFunction,
    params: Callable[[Mapping[str, object], Mapping[str, object]], object] | None,
    name: str,
) -> Guard:
    if not accepts_params(fn):
        return lambda context, event: bool(fn(context, event))
    if params is None:
        return lambda context, event: bool(fn(context, event, None))
    return lambda context, event: bool(fn(context, event, params(context, event)))


def _never(context: object, event: object) -> bool:
    return False
