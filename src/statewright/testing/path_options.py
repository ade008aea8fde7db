"""What `paths` explores with: sample events, state keys, and state filters.

Events follow XState's `@xstate/graph` (`createDefaultMachineOptions`): in each state the
explorer sends one event per event descriptor of the active states (`on` events, `after`
delays as `xstate.after.<delay>.<state id>`, step results as `xstate.done.actor.<id>` /
`xstate.error.actor.<id>`). When the user gave sample events of that type, each sample is sent
instead, so guards see real payloads. Eventless (`always`) transitions need no event: they run
inside every macrostep. Unlike XState's graph, a state's completion event
(`xstate.done.state.<id>`, which takes `onDone`) is not sent from outside unless asked for
with samples: the chart raises it when the state is done, as a real run does.

A state is deduplicated by a key (XState's `serializeState`). XState keys a snapshot by its
value and context; statewright's default also counts the status and the history it
remembers, so that a state reachable only through a remembered history is explored too.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

from statewright.chart import Machine, Snapshot
from statewright.chart.json_types import JsonObject, JsonValue
from statewright.errors import PathError

__all__ = [
    "EventSamples",
    "SerializeOption",
    "StateFilter",
    "events_for",
    "is_default_result",
    "state_filter",
    "state_key",
]

#: Sample events: event type -> payloads, or a function of the state giving events.
EventSamples = (
    Mapping[str, Sequence[Mapping[str, object]]]
    | Callable[[Snapshot], Iterable[Mapping[str, object] | str]]
)
#: `"full"` (value, context, status, history), `"xstate"` (value and context, as XState's
#: graph), `"value"` (the state value only), or a function of the snapshot giving a string.
SerializeOption = Literal["full", "xstate", "value"] | Callable[[Snapshot], str]
#: A state value (`"review"`, `"review.waiting"`, `{"p": {"x": "x1"}}`), a state id
#: (`"#order.review"`), or a predicate on the snapshot.
StateFilter = str | Mapping[str, object] | Callable[[Snapshot], bool]


def _dumps(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr)


def _full(snapshot: Snapshot) -> str:
    data: dict[str, object] = {
        "value": snapshot.value,
        "context": snapshot.context,
        "status": snapshot.status,
    }
    if snapshot.history:
        data["history"] = snapshot.history
    return _dumps(data)


def _xstate(snapshot: Snapshot) -> str:
    # XState's serializeSnapshot: JSON.stringify({value, context}), context left out if empty.
    data: dict[str, object] = {"value": snapshot.value}
    if snapshot.context:
        data["context"] = snapshot.context
    return _dumps(data)


def _value(snapshot: Snapshot) -> str:
    return _dumps(snapshot.value)


_SERIALIZERS: dict[str, Callable[[Snapshot], str]] = {
    "full": _full,
    "xstate": _xstate,
    "value": _value,
}


def state_key(serialize: SerializeOption) -> Callable[[Snapshot], str]:
    """The function that keys a snapshot for deduplication.

    Raises:
        PathError: `serialize` is neither a preset name nor a function.
    """
    if callable(serialize):
        return serialize
    if isinstance(serialize, str) and serialize in _SERIALIZERS:
        return _SERIALIZERS[serialize]
    raise PathError(
        f"serialize={serialize!r} is not a state key; pass 'full', 'xstate', 'value' or a "
        "function of the snapshot returning a string"
    )


# -- events -----------------------------------------------------------------------------------


def descriptors(machine: Machine, snapshot: Snapshot) -> list[str]:
    """XState's `getAllOwnEventDescriptors`: own event descriptors of every active state.

    A descriptor counts when one of its transitions has a target, actions or `reenter`
    (XState's `ownEvents`); the order is the configuration's, then each state's own.
    """
    found: dict[str, None] = {}
    for state_id in snapshot.configuration:
        node = machine.get_state(state_id)
        for descriptor, transitions in node.transitions.items():
            if any(t.has_content for t in transitions):
                found[descriptor] = None
    return list(found)


def _matches(descriptor: str, event_type: str) -> bool:
    if descriptor == "*":
        return True
    if descriptor.endswith(".*"):
        return event_type.startswith(descriptor[:-1]) or event_type == descriptor[:-2]
    return descriptor == event_type


def _default_event(event_type: str) -> JsonObject:
    """The event sent when no sample is given: `{"type": T}`, and for a step's result the
    keys the actor sends (`output` or `error`, `actorId`), empty."""
    for prefix, key in (("xstate.done.actor.", "output"), ("xstate.error.actor.", "error")):
        if event_type.startswith(prefix):
            return {"type": event_type, key: None, "actorId": event_type[len(prefix) :]}
    return {"type": event_type}


def is_default_result(event: Mapping[str, object]) -> bool:
    """Whether `event` is a step's result sent without a sample (`output` or `error` None)."""
    event_type = event.get("type")
    return (
        isinstance(event_type, str)
        and event_type.startswith(("xstate.done.actor.", "xstate.error.actor."))
        and dict(event) == _default_event(event_type)
    )


def _sample(event_type: str, payload: Mapping[str, object], where: str) -> JsonObject:
    if not isinstance(payload, Mapping):
        raise PathError(
            f"{where}: a sample event must be an object, not {type(payload).__name__}; "
            f'write e.g. {{"{event_type}": [{{"by": "ann"}}]}}'
        )
    given = payload.get("type", event_type)
    if given != event_type:
        raise PathError(
            f"{where}: a sample listed under {event_type!r} has type {given!r}; list it under "
            "its own type, or leave the type out"
        )
    event: dict[str, object] = {**_default_event(event_type), **payload}
    event["type"] = event_type
    return event


def _grouped(samples: EventSamples, snapshot: Snapshot) -> dict[str, list[JsonObject]]:
    if callable(samples):
        grouped: dict[str, list[JsonObject]] = {}
        for event in samples(snapshot):
            if isinstance(event, str):
                event = {"type": event}
            event_type = event.get("type") if isinstance(event, Mapping) else None
            if not isinstance(event_type, str) or not event_type:
                raise PathError(
                    f"the events function gave {event!r}, which has no string 'type'; return "
                    'events such as {"type": "APPROVE", "by": "ann"}'
                )
            grouped.setdefault(event_type, []).append(_sample(event_type, event, "events()"))
        return grouped
    return {
        event_type: [_sample(event_type, payload, f"events[{event_type!r}]") for payload in items]
        for event_type, items in samples.items()
    }


def check_samples(machine: Machine, samples: EventSamples | None) -> None:
    """Refuse a samples mapping of the wrong shape, or naming event types nothing handles.

    Raises:
        PathError: naming the entry and, for an unknown type, the nearest known one.
    """
    if samples is None or callable(samples):
        return
    if not isinstance(samples, Mapping):
        raise PathError(
            f"events= must map event types to lists of sample events, not "
            f'{type(samples).__name__}; write {{"APPROVE": [{{"by": "ann"}}]}}'
        )
    known = {d for node in machine.states for d in node.transitions}
    for event_type, items in samples.items():
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            raise PathError(
                f"events[{event_type!r}] must be a list of sample events, not "
                f'{type(items).__name__}; write {{"{event_type}": [{{...}}]}}'
            )
        if not any(_matches(descriptor, str(event_type)) for descriptor in known):
            near = difflib.get_close_matches(str(event_type), sorted(known), n=1)
            hint = f'did you mean "{near[0]}"? ' if near else ""
            raise PathError(
                f"events[{event_type!r}]: no state of machine {machine.id!r} handles "
                f"{event_type!r}; {hint}the machine handles {', '.join(sorted(known)) or 'none'}"
            )


def events_for(
    machine: Machine, snapshot: Snapshot, samples: EventSamples | None
) -> list[JsonObject]:
    """The events to try in `snapshot`, in XState's order (see the module docstring).

    A descriptor with samples sends each sample (an empty list sends nothing); one without
    sends `{"type": descriptor}`. A wildcard descriptor (`*`, `order.*`) sends only the
    samples whose type it matches, as no single event stands for it. A state's completion
    event (`xstate.done.state.<id>`) is sent only when it has samples: the chart raises it
    when the state is done, so paths reach `onDone` targets the way a real run does.
    """
    grouped = _grouped(samples, snapshot) if samples is not None else {}
    events: list[JsonObject] = []
    seen: set[str] = set()
    for descriptor in descriptors(machine, snapshot):
        if "*" in descriptor:
            for event_type, items in grouped.items():
                if _matches(descriptor, event_type) and event_type not in seen:
                    seen.add(event_type)
                    events.extend(items)
        elif descriptor.startswith("xstate.done.state.") and descriptor not in grouped:
            # Raised by the chart itself when the state completes: sent from outside, it
            # would take `onDone` while the state is not done (XState's graph sends it).
            continue
        elif descriptor not in seen:
            seen.add(descriptor)
            events.extend(grouped.get(descriptor, [_default_event(descriptor)]))
    return events


# -- state filters ------------------------------------------------------------------------------


def state_filter(machine: Machine, spec: StateFilter, option: str) -> Callable[[Snapshot], bool]:
    """A predicate for `to_state` / `from_state`: a state value, a `#id` or a function.

    Raises:
        PathError: the value names a state the machine lacks (with the nearest one).
    """
    if callable(spec):
        return spec
    if isinstance(spec, str) and spec.startswith("#"):
        state_id = spec[1:]
        ids = [node.id for node in machine.states]
        if state_id not in ids:
            raise PathError(_unknown(machine, option, spec, ["#" + i for i in ids]))
        return lambda snapshot: state_id in snapshot.configuration
    if isinstance(spec, (str, Mapping)):
        paths = {".".join(node.state_path) for node in machine.states if node.state_path}
        for path in _value_paths(spec):
            if path not in paths:
                raise PathError(_unknown(machine, option, path, sorted(paths)))
        value: JsonValue = spec if isinstance(spec, str) else dict(spec)
        return lambda snapshot: snapshot.matches(value)
    raise PathError(
        f"{option}={spec!r} is not a state; pass a state value ('review.waiting' or "
        "{'p': {'x': 'x1'}}), a state id ('#order.review') or a function of the snapshot"
    )


def _value_paths(value: object, prefix: str = "") -> list[str]:
    if isinstance(value, str):
        return [prefix + value]
    if isinstance(value, Mapping):
        found: list[str] = []
        for key, inner in value.items():
            here = prefix + str(key)
            found.append(here)
            if inner not in ({}, None):
                found.extend(_value_paths(inner, here + "."))
        return found
    raise PathError(f"{value!r} is not a state value; write 'a.b' or {{'a': 'b'}}")


def _unknown(machine: Machine, option: str, name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    hint = f'did you mean "{near[0]}"? ' if near else ""
    states = ", ".join(known)
    return f"{option}: machine {machine.id!r} has no state {name!r}; {hint}it has {states}"
