"""Actions: compiled once into ops that a microstep runs in XState's order.

Forms a definition may use:

    "actions": "notify"                                   a provided action
    "actions": [{"type": "charge", "params": {...}}]      the same, with params
    {"type": "assign", "params": {"total": {"$expr": "context.total + event.amount"}}}
    {"type": "raise",  "params": {"event": {"type": "RETRY"}, "delay": "5m", "id": "retry"}}
    {"type": "cancel", "params": {"id": "retry"}}
    {"type": "emit",   "params": {"event": {"type": "shipped", "id": {"$expr": "context.id"}}}}
    {"type": "log",    "params": {"message": "charged", "value": {"$expr": "context.total"}}}

Built-ins are pure: each resolves against the run (a new context, an internal event, an
effect) and performs nothing. Provided actions are called with `(context, event[, params])`
as XState's actor calls them, at their place in the order.
"""

from __future__ import annotations

from collections.abc import Mapping

from statewright.chart.delays import compile_delay
from statewright.chart.effects import Emit, Log, ScheduleTimer
from statewright.chart.faults import Faults, did_you_mean, join_path
from statewright.chart.implementations import (
    BUILTIN_ACTIONS,
    AssignAction,
    EmitAction,
    Implementations,
    UserFunction,
    accepts_params,
)
from statewright.chart.json_types import JsonObject
from statewright.chart.nodes import Op, ValueFn
from statewright.chart.run import Run
from statewright.chart.values import compile_value
from statewright.errors import ImplementationError

__all__ = ["compile_actions", "implementation_error"]

_FIX = 'write "actions": "name", {"type": "name", "params": {...}} or a list of them'


def compile_actions(
    raw: object, *, path: str, faults: Faults, impls: Implementations, where: str
) -> tuple[Op, ...]:
    """Compile an `entry`/`exit`/`actions` value (one action or a list) into ops.

    Args:
        raw: the value as written.
        path: its JSON path.
        faults: where faults go.
        impls: the provided implementations.
        where: the id of the state that declares the actions, for error messages.
    """
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    ops = []
    for index, item in enumerate(items):
        item_path = join_path(path, index) if isinstance(raw, list) else path
        op = _compile_one(item, item_path, faults, impls, where)
        if op is not None:
            ops.append(op)
    return tuple(ops)


def _compile_one(
    item: object, path: str, faults: Faults, impls: Implementations, where: str
) -> Op | None:
    if isinstance(item, (AssignAction, EmitAction)) or callable(item):
        return _provided(item, "inline action", None, path, faults, where)
    if isinstance(item, str):
        name, params_raw = item, None
    elif isinstance(item, Mapping) and isinstance(item.get("type"), str):
        name, params_raw = str(item["type"]), item.get("params")
        for key in item:
            if key not in ("type", "params"):
                faults.add(join_path(path, key), f"unknown key {key!r} in an action", _FIX)
    else:
        faults.add(path, 'an action must be a name or an object with a string "type"', _FIX)
        return None
    if name in BUILTIN_ACTIONS:
        if name == "assign":  # names its own errors as `_named_errors` does, a call less
            at = join_path(path, "params")
            if not _builtin_params_ok(name, params_raw, at, faults):
                return None
            assigned = params_raw if isinstance(params_raw, Mapping) else {}
            return _assign(assigned, at, faults, where, path)
        op = _builtin(name, params_raw, join_path(path, "params"), faults, impls, where)
        return None if op is None else _named_errors(op, name, where, path)
    if name not in impls.actions:
        faults.add_missing(path, "actions", name, impls.actions)
        return None
    params = None
    if params_raw is not None:
        params = compile_value(
            params_raw, path=join_path(path, "params"), faults=faults, scope="transition"
        )
    return _provided(impls.actions[name], name, params, path, faults, where)


def _named_errors(op: Op, name: str, where: str, path: str) -> Op:
    """Make a failing built-in (an expression raising, say) name the action, state and event."""

    def run_builtin(run: Run) -> None:
        try:
            op(run)
        except ImplementationError:
            raise
        except Exception as error:
            raise implementation_error("action", name, where, run.event, error, path) from error

    return run_builtin


def implementation_error(
    kind: str, name: str, where: str, event: JsonObject, error: Exception, path: str = ""
) -> ImplementationError:
    """Describe an exception raised by a guard, action or delay, naming it and its place
    (`path`: where the definition refers to it)."""
    event_type = event.get("type")
    message = (
        f"{kind} {name!r} in state {where!r} raised {type(error).__name__}: {error} "
        f"(while handling event {event_type!r}); fix the {kind} or the data it reads"
    )
    return ImplementationError(
        message, kind=kind, name=name, state=where, event=str(event_type), path=path
    )


def _provided(
    impl: object, name: str, params: ValueFn | None, path: str, faults: Faults, where: str
) -> Op | None:
    if isinstance(impl, AssignAction):
        return _python_assign(impl, name, params, where, path)
    if isinstance(impl, EmitAction):
        return _python_emit(impl, name, where, path)
    if not callable(impl):
        faults.add(path, f"action {name!r} is not callable", "provide a function or assign(...)")
        return None
    fn: UserFunction = impl
    with_params = accepts_params(fn)

    def call(context: JsonObject, event: JsonObject) -> None:
        try:
            if with_params:
                fn(context, event, params(context, event) if params else None)
            else:
                fn(context, event)
        except Exception as error:
            raise implementation_error("action", name, where, event, error, path) from error

    def run_action(run: Run) -> None:
        if run.deferred is None:
            call(run.context, run.event)
        else:
            context, event = run.context, run.event
            run.deferred.append(lambda: call(context, event))

    return run_action


def _python_assign(
    action: AssignAction, name: str, params: ValueFn | None, where: str, path: str
) -> Op:
    assignment = action.assignment
    if isinstance(assignment, Mapping):
        parts = [(key, _bind_call(value, params)) for key, value in assignment.items()]

        def updates_of(run: Run) -> Mapping[str, object]:
            context, event = run.context, run.event
            return {key: part(context, event) for key, part in parts}

    else:
        whole = _bind_call(assignment, params)

        def updates_of(run: Run) -> Mapping[str, object]:
            result = whole(run.context, run.event)
            if not isinstance(result, Mapping):
                raise TypeError(f"assign returned {type(result).__name__}; return a dict")
            return result

    def run_assign(run: Run) -> None:
        try:
            updates = updates_of(run)
        except Exception as error:
            raise implementation_error("action", name, where, run.event, error, path) from error
        run.assign(updates)

    return run_assign


def _bind_call(value: object, params: ValueFn | None) -> ValueFn:
    """A value or function of an assignment as `fn(context, event)`; arity read once."""
    if not callable(value):
        return lambda context, event: value
    fn: UserFunction = value
    if not accepts_params(fn):
        return lambda context, event: fn(context, event)
    if params is None:
        return lambda context, event: fn(context, event, None)
    return lambda context, event: fn(context, event, params(context, event))


def _python_emit(action: EmitAction, name: str, where: str, path: str) -> Op:
    source = action.event

    def run_emit(run: Run) -> None:
        try:
            event = source(run.context, run.event) if callable(source) else dict(source)
            run.effects.append(Emit(event=_as_event(event, "emit")))
        except Exception as error:
            raise implementation_error("action", name, where, run.event, error, path) from error

    return run_emit


def _as_event(value: object, what: str) -> JsonObject:
    if isinstance(value, str):
        return {"type": value}
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        raise TypeError(f"{what} needs an event with a string 'type', got {value!r}")
    return dict(value)


def _builtin_params_ok(name: str, raw: object, path: str, faults: Faults) -> bool:
    """Check the params of the built-in `name` (at `path`): False, with the fault added,
    if they cannot be compiled; unknown keys are faults too, but do not stop it."""
    params = raw if isinstance(raw, Mapping) else {}
    if raw is not None and not isinstance(raw, Mapping):
        faults.add(path, f'"{name}" params must be an object', _BUILTIN_FIX[name])
        return False
    allowed = _BUILTIN_KEYS[name]
    for key in params:
        if allowed is not None and key not in allowed:
            # A plain XState config may name an action of its own "log": say that the name is
            # taken, or the fix would only correct the params of an action never meant.
            hint = did_you_mean(str(key), allowed) or _BUILTIN_FIX[name]
            faults.add(
                join_path(path, key),
                f"unknown {name} param {key!r}: {name!r} is reserved for statewright's "
                f"built-in action, which takes {', '.join(allowed)}",
                f"{hint} (or, for an action of your own, rename it, e.g. to {name}Message, "
                "here and in actions={...})",
            )
    for key in _BUILTIN_REQUIRED[name]:
        if key not in params:
            faults.add(path, f'"{name}" needs params.{key}', _BUILTIN_FIX[name])
            return False
    return True


def _builtin(
    name: str, raw: object, path: str, faults: Faults, impls: Implementations, where: str
) -> Op | None:
    """A built-in other than `assign` (whose params passed `_builtin_params_ok`)."""
    if not _builtin_params_ok(name, raw, path, faults):
        return None
    params: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
    if name == "raise":
        return _raise(params, path, faults, impls, where)
    if name == "cancel":
        return _cancel(params, path, faults)
    if name == "emit":
        event = compile_value(
            params["event"], path=join_path(path, "event"), faults=faults, scope="transition"
        )
        return lambda run: run.effects.append(
            Emit(event=_as_event(event(run.context, run.event), "emit"))
        )
    message = compile_value(
        params.get("message", ""),
        path=join_path(path, "message"),
        faults=faults,
        scope="transition",
    )
    value = compile_value(
        params.get("value"), path=join_path(path, "value"), faults=faults, scope="transition"
    )
    return lambda run: run.effects.append(
        Log(message=str(message(run.context, run.event)), value=value(run.context, run.event))
    )


_BUILTIN_KEYS: dict[str, tuple[str, ...] | None] = {
    "assign": None,
    "raise": ("event", "delay", "id"),
    "cancel": ("id",),
    "emit": ("event",),
    "log": ("message", "value"),
}
_BUILTIN_REQUIRED: dict[str, tuple[str, ...]] = {
    "assign": (),
    "raise": ("event",),
    "cancel": ("id",),
    "emit": ("event",),
    "log": (),
}
_BUILTIN_FIX = {
    "assign": '{"type": "assign", "params": {"key": value or {"$expr": "..."}}}',
    "raise": '{"type": "raise", "params": {"event": {"type": "X"}, "delay": "5m", "id": "x"}}',
    "cancel": '{"type": "cancel", "params": {"id": "x"}}',
    "emit": '{"type": "emit", "params": {"event": {"type": "order.shipped"}}}',
    "log": '{"type": "log", "params": {"message": "text", "value": {"$expr": "context"}}}',
}


def _assign(params: Mapping[str, object], path: str, faults: Faults, where: str, at: str) -> Op:
    """The `assign` built-in at `at` (its params at `path`), naming its errors as
    `_named_errors` names a built-in's."""
    if not params:
        faults.add(path, '"assign" needs at least one key to assign', _BUILTIN_FIX["assign"])
    parts = [
        (key, compile_value(value, path=join_path(path, key), faults=faults, scope="transition"))
        for key, value in params.items()
    ]

    def run_assign(run: Run) -> None:
        context, event = run.context, run.event
        updates = {}
        try:
            for key, part in parts:  # a loop, not a comprehension: one call less per run
                updates[key] = part(context, event)
        except ImplementationError:
            raise
        except Exception as error:
            raise implementation_error("action", "assign", where, event, error, at) from error
        run.assign(updates)

    return run_assign


def _raise(
    params: Mapping[str, object], path: str, faults: Faults, impls: Implementations, where: str
) -> Op:
    event_raw = params["event"]
    if isinstance(event_raw, str):
        event_raw = {"type": event_raw}
    event = compile_value(
        event_raw, path=join_path(path, "event"), faults=faults, scope="transition"
    )
    timer_id = params.get("id")
    if timer_id is not None and not isinstance(timer_id, str):
        faults.add(join_path(path, "id"), "a timer id must be a string", _BUILTIN_FIX["raise"])
        timer_id = None
    if "delay" not in params:
        return lambda run: run.queue.append(_as_event(event(run.context, run.event), "raise"))
    delay = compile_delay(
        params["delay"], path=join_path(path, "delay"), faults=faults, impls=impls
    )
    label = str(params["delay"])

    def run_delayed_raise(run: Run) -> None:
        try:
            milliseconds = delay(run.context, run.event)
        except Exception as error:
            raise implementation_error("delay", label, where, run.event, error) from error
        resolved = _as_event(event(run.context, run.event), "raise")
        run.schedule_timer(ScheduleTimer(id=timer_id, delay_ms=milliseconds, event=resolved))

    return run_delayed_raise


def _cancel(params: Mapping[str, object], path: str, faults: Faults) -> Op:
    timer_id = params["id"]
    if not isinstance(timer_id, str):
        faults.add(join_path(path, "id"), "a timer id must be a string", _BUILTIN_FIX["cancel"])
        timer_id = ""
    resolved_id = timer_id
    return lambda run: run.cancel_timer(resolved_id)
