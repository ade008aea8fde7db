"""Data templates: literals, with `{"$expr": "..."}` markers evaluated when used.

Machine `context`, `output`, invoke `input` and action params are data. A plain XState config
writes them as literals; statewright lets any part of them be an expression instead, marked
`{"$expr": "context.total * 2"}`. A template is compiled once into a function of
`(context, event)`; a template without markers returns a fresh copy of its literal, so that no
two snapshots ever share a mutable list or dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from statewright.chart.expressions import compile_expression
from statewright.chart.faults import Faults, join_path
from statewright.chart.implementations import UserFunction
from statewright.chart.json_types import JsonObject, JsonValue
from statewright.chart.nodes import ValueFn
from statewright.errors import ExpressionError

__all__ = ["Scope", "compile_value", "copy_data", "is_expr_marker"]

#: Where a template is evaluated: in a transition (`context`, `event`) or at start (`input`).
Scope = Literal["transition", "init"]

_NAMES: dict[Scope, tuple[str, ...]] = {"transition": ("context", "event"), "init": ("input",)}


def is_expr_marker(raw: object) -> bool:
    """True for `{"$expr": ...}`."""
    return isinstance(raw, Mapping) and "$expr" in raw


def copy_data(value: JsonValue) -> JsonValue:
    """Deep-copy JSON-shaped data (lists and dicts); other values are returned as they are."""
    if isinstance(value, dict):
        return {key: copy_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_data(item) for item in value]
    return value


def compile_value(raw: object, *, path: str, faults: Faults, scope: Scope) -> ValueFn:
    """Compile a data template into `fn(context, event) -> value`.

    Args:
        raw: the template as written: a literal, a `{"$expr": ...}` marker, a container holding
            markers, or (from a Python config) a callable `fn(context, event)`.
        path: its JSON path, for fault messages.
        faults: where compile faults go.
        scope: which names expressions may use.
    """
    if callable(raw):
        return _from_callable(raw, scope)
    if not _has_marker(raw):
        if isinstance(raw, (dict, list)):
            return lambda context, event: copy_data(raw)
        return lambda context, event: raw
    return _compile(raw, path, faults, scope)


def _from_callable(fn: UserFunction, scope: Scope) -> ValueFn:
    if scope == "init":
        return lambda context, event: fn(event.get("input"))
    return lambda context, event: fn(context, event)


def _has_marker(raw: object) -> bool:
    if isinstance(raw, Mapping):
        return "$expr" in raw or any(_has_marker(item) for item in raw.values())
    if isinstance(raw, list):
        return any(_has_marker(item) for item in raw)
    return False


def _compile(raw: object, path: str, faults: Faults, scope: Scope) -> ValueFn:
    if isinstance(raw, Mapping) and "$expr" in raw:
        return _compile_marker(raw, path, faults, scope)
    if isinstance(raw, Mapping):
        parts = [
            (key, _compile(item, join_path(path, key), faults, scope)) for key, item in raw.items()
        ]
        return lambda context, event: {key: part(context, event) for key, part in parts}
    if isinstance(raw, list):
        items = [_compile(item, join_path(path, i), faults, scope) for i, item in enumerate(raw)]
        return lambda context, event: [item(context, event) for item in items]
    return lambda context, event: raw


def _compile_marker(raw: Mapping[str, object], path: str, faults: Faults, scope: Scope) -> ValueFn:
    source = raw["$expr"]
    if len(raw) != 1 or not isinstance(source, str):
        faults.add(
            path,
            'an expression marker must be exactly {"$expr": "<expression text>"}',
            "move the other keys out of it, or quote the expression as a string",
        )
        return lambda context, event: None
    try:
        expression = compile_expression(source, _NAMES[scope], path=join_path(path, "$expr"))
    except ExpressionError as error:
        faults.add(join_path(path, "$expr"), str(error).split(": ", 1)[-1], _expression_fix(scope))
        return lambda context, event: None
    if scope == "init":
        return lambda context, event: expression(_input_of(event))
    return expression


def _input_of(event: JsonObject) -> JsonValue:
    return event.get("input")


def _expression_fix(scope: Scope) -> str:
    names = ", ".join(_NAMES[scope])
    return f"write a statewright expression over {names}"
