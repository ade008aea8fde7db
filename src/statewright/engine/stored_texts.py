"""The texts a transition stores, written without building the data they are the JSON of.

`Snapshot.to_json()` builds a dict of seven keys (copying the context, the state value and
the ids of the active states) that the engine then walks (`payload.json_kind`), encodes and
turns back into a snapshot for the head cache (`heads.parsed_snapshot`). For an active
snapshot without running invocations, the only part of that text which is not fixed by its
configuration is the context: so the rest is written once per configuration (`_Frame`, the
texts before and after the context, and the state value's) and the context alone is encoded
per transition, by orjson where it writes exactly what the standard encoder writes (plain
JSON data without floats, as `payload.dump_plain`). The parsed snapshot takes the context
decoded from its own text: equal, type for type, to what decoding the stored text gives,
and shared with nothing.

The microsteps of an audit row depend only on the transitions taken (and the events that
took them), so their text is kept per sequence of transitions (`microsteps_text`).

Anything else (a finished snapshot, running invocations, a context holding a float, a
tuple, a subclass, or a value orjson refuses) returns None: the caller builds the data and
encodes it as before. Both caches are bounded: past `MAX_KEPT` entries each starts again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import orjson

from statewright.chart import Machine, Snapshot
from statewright.chart.macrostep import Microstep
from statewright.chart.nodes import Transition
from statewright.chart.plan import Configuration
from statewright.engine.payload import PLAIN_NO_FLOAT, dump_plain, json_kind

__all__ = [
    "MAX_KEPT",
    "MicrostepShape",
    "StoredSnapshot",
    "microsteps_data",
    "microsteps_parts",
    "microsteps_text",
    "snapshot_texts",
]

#: The most configurations (and sequences of transitions) whose texts are kept.
MAX_KEPT = 4096

_EMPTY_TAIL = b',"historyValue":{},"children":{}}'


class _Frame:
    """The fixed parts of an active snapshot's text in one configuration of one machine."""

    __slots__ = ("machine_id", "prefix", "value_text")

    def __init__(self, machine: Machine, config: Configuration) -> None:
        self.machine_id = machine.id
        head = {
            "machine": machine.id,
            "status": "active",
            "value": config.value_template,
            "configuration": [node.id for node in config.nodes],
        }
        # `{"machine":...,"configuration":[...]}` without its closing brace, then the key.
        self.prefix = dump_plain(head, "the state of a snapshot")[:-1].encode() + b',"context":'
        self.value_text = dump_plain(config.value_template, "the state value")


_frames: dict[Configuration, _Frame] = {}

#: A microstep as its audit data holds it: the event, and per transition its source id,
#: target ids (None for a targetless one) and path, as decoded from the stored text.
MicrostepShape = tuple[str, tuple[tuple[object, object, object], ...]]
#: Per sequence of transitions: the text (UTF-8 and str) and the shape of its microsteps.
_microsteps: dict[
    tuple[tuple[str, tuple[Transition, ...]], ...],
    tuple[bytes, str, tuple[MicrostepShape, ...]],
] = {}
#: A named tuple made from its values in one C call (not through its Python `__new__`).
_new_tuple = tuple.__new__


class StoredSnapshot(NamedTuple):
    """What `snapshot_texts` gives: the snapshot's text, its state value's text and value,
    and the snapshot a reload of the text gives (`parsed`)."""

    text: str
    value_text: str
    value: object
    parsed: Snapshot


def snapshot_texts(snapshot: Snapshot) -> StoredSnapshot | None:
    """The texts `dump_plain(snapshot.to_json())` and `dump_plain(snapshot.value)` would
    give, and the parsed twin of the first (as `heads.parsed_snapshot` would build it), for
    an active snapshot without running invocations whose context is plain JSON data
    without floats; None for any other snapshot (see the module docstring).

    The parsed twin shares the snapshot's configuration (interned by the chart) and its
    history mapping (state nodes; no transition changes one in place), and nothing else.
    """
    if snapshot._status != "active" or snapshot._children:
        return None
    context = snapshot._context
    if type(context) is not dict or json_kind(context) != PLAIN_NO_FLOAT:
        return None
    try:
        context_bytes = orjson.dumps(context)
    except (TypeError, orjson.JSONEncodeError):  # a lone surrogate, nesting past its limit
        return None
    machine = snapshot._machine
    config = snapshot._config
    frame = _frames.get(config)
    if frame is None or frame.machine_id != machine.id:
        if len(_frames) >= MAX_KEPT:
            _frames.clear()
        frame = _frames[config] = _Frame(machine, config)
    history = snapshot._history
    if history:
        tail = (
            b',"historyValue":'
            + dump_plain(snapshot.history, "the history of a snapshot").encode()
            + b',"children":{}}'
        )
    else:
        tail = _EMPTY_TAIL
    parsed = Snapshot(
        machine, config, orjson.loads(context_bytes), "active", history=history, children={}
    )
    return _new_tuple(
        StoredSnapshot,
        ((frame.prefix + context_bytes + tail).decode(), frame.value_text, config.value(), parsed),
    )


def microsteps_text(steps: Sequence[tuple[str, tuple[Transition, ...]]]) -> bytes:
    """The JSON text of `[Microstep(event, transitions).to_json() for ...]`, as UTF-8, for
    the events and transitions of a macrostep's microsteps (`Macrostep._steps`)."""
    return _kept(steps)[0]


def microsteps_parts(
    steps: Sequence[tuple[str, tuple[Transition, ...]]],
) -> tuple[str, tuple[MicrostepShape, ...]]:
    """`microsteps_text(steps)` as a str, and the shape of its data (`microsteps_data`
    builds a fresh copy of what decoding the text gives from it)."""
    _, text, shape = _kept(steps)
    return text, shape


def microsteps_data(shape: tuple[MicrostepShape, ...]) -> list[object]:
    """A fresh copy of the data whose shape `microsteps_parts` gave: equal, type for type
    and key order for key order, to decoding the text (its strings are shared: they are
    immutable), and sharing no list or dict with any other."""
    data: list[object] = []
    for event, transitions in shape:
        taken: list[object] = []
        for source, targets, path in transitions:
            taken.append(
                {
                    "source": source,
                    "targets": None if targets is None else list(targets),  # type: ignore[call-overload]
                    "path": path,
                }
            )
        data.append({"event": event, "transitions": taken})
    return data


def _kept(
    steps: Sequence[tuple[str, tuple[Transition, ...]]],
) -> tuple[bytes, str, tuple[MicrostepShape, ...]]:
    key = tuple(steps)
    try:
        kept = _microsteps.get(key)
    except TypeError:  # an event type that is not hashable (an action's own raise): not kept
        return _encoded(key)
    if kept is None:
        kept = _encoded(key)
        if len(_microsteps) >= MAX_KEPT:
            _microsteps.clear()
        _microsteps[key] = kept
    return kept


def _encoded(
    steps: Sequence[tuple[str, tuple[Transition, ...]]],
) -> tuple[bytes, str, tuple[MicrostepShape, ...]]:
    data = [Microstep(event, transitions).to_json() for event, transitions in steps]
    text = dump_plain(data, "microsteps")
    decoded = orjson.loads(text)
    shape = tuple(
        (
            step["event"],
            tuple(
                (
                    moved["source"],
                    None if moved["targets"] is None else tuple(moved["targets"]),
                    moved["path"],
                )
                for moved in step["transitions"]
            ),
        )
        for step in decoded
    )
    # The shape must rebuild exactly what was decoded (the keys in their order).
    assert microsteps_data(shape) == decoded and all(
        list(step) == ["event", "transitions"]
        and all(list(moved) == ["source", "targets", "path"] for moved in step["transitions"])
        for step in decoded
    )
    return text.encode(), text, shape
