"""The head cache keeps each committed snapshot parsed: the next send runs on exactly what
a reload of the stored JSON would give, on an object no caller and no other transition
holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from statewright.chart import Machine, Snapshot, assign
from statewright.engine import Engine
from statewright.errors import TransitionFailed
from statewright.testing import VirtualClock

#: Parallel regions, a history state and a context that events fill in.
CONFIG: dict[str, object] = {
    "id": "board",
    "type": "parallel",
    "context": {"items": [], "meta": {"n": 0}},
    "states": {
        "lights": {
            "initial": "off",
            "states": {
                "off": {"on": {"FLIP": "on"}},
                "on": {"on": {"FLIP": "off"}},
            },
        },
        "mode": {
            "initial": "a",
            "states": {
                "a": {"on": {"NEXT": "b"}},
                "b": {"on": {"NEXT": "a", "AWAY": "#board.mode.away"}},
                "away": {"on": {"BACK": "#board.mode.hist"}},
                "hist": {"type": "history"},
            },
        },
    },
    "on": {
        "SET": {"actions": [{"type": "assign", "params": {"items": {"$expr": "event.items"}}}]},
        "COPY": {"actions": [{"type": "assign", "params": {"copied": {"$expr": "context.items"}}}]},
        "BUMP": {"actions": ["bump"]},
        "TUPLE": {"actions": ["keep_tuple"]},
        "CHECK": {"guard": "holds_a_list", "actions": ["mark"]},
        "SPOIL": {"actions": ["spoil"]},
    },
}


def _spoil(context: dict[str, Any], event: dict[str, Any]) -> None:
    context["items"].append("spoiled")  # changes the context in place, then fails
    raise RuntimeError("boom")


def board() -> Machine:
    return Machine.from_config(
        CONFIG,
        actions={
            "bump": assign(lambda context, event: {"meta": {"n": context["meta"]["n"] + 1}}),
            "keep_tuple": assign(lambda context, event: {"pair": (1, 2), "keyed": {7: "x"}}),
            "mark": assign({"checked": True}),
            "spoil": _spoil,
        },
        guards={
            "holds_a_list": lambda context, event: (
                type(context["pair"]) is list and "7" in context["keyed"]
            )
        },
    )


@pytest.fixture
def engines(store_url: str, clock: VirtualClock) -> Iterator[tuple[Engine, Engine]]:
    """An engine with the head cache and one without, on the same database."""
    with (
        Engine.open(store_url, clock=clock) as cached,
        Engine.open(store_url, clock=clock, head_cache=0) as uncached,
    ):
        cached.register(board())
        uncached.register(board())
        yield cached, uncached


EVENTS: list[dict[str, object]] = [
    {"type": "FLIP"},
    {"type": "NEXT"},
    {"type": "SET", "items": [1, {"a": [2.5, None, True]}, "é"]},
    {"type": "BUMP"},
    {"type": "AWAY"},
    {"type": "COPY"},
    {"type": "BACK"},
    {"type": "TUPLE"},
    {"type": "CHECK"},
    {"type": "FLIP"},
]


def test_sends_on_cached_heads_store_what_sends_on_reloaded_ones_store(
    engines: tuple[Engine, Engine],
) -> None:
    cached, uncached = engines
    cached.start("board", instance_id="b-cached")
    uncached.start("board", instance_id="b-reloaded")
    for event in EVENTS:
        cached.send("b-cached", dict(event))
        uncached.send("b-reloaded", dict(event))

    rows = [cached.store.load_instance("default", i) for i in ("b-cached", "b-reloaded")]
    assert rows[0] is not None and rows[1] is not None
    assert rows[0].snapshot == rows[1].snapshot
    assert rows[0].version == len(EVENTS) + 1
    context = json.loads(rows[0].snapshot)["context"]
    assert context["checked"] is True  # the tuple came back a list, the int key a string
    assert context["copied"] == [1, {"a": [2.5, None, True]}, "é"]
    histories = [
        [(e.event, e.from_value, e.to_value, e.microsteps, e.effects) for e in engine.history(i)]
        for engine, i in ((cached, "b-cached"), (uncached, "b-reloaded"))
    ]
    assert histories[0] == histories[1]


def test_the_parsed_head_is_the_reloaded_snapshot_and_is_lent_once(
    engines: tuple[Engine, Engine],
) -> None:
    cached, _ = engines
    cached.start("board", instance_id="b-1")
    for event in EVENTS[:7]:
        cached.send("b-1", dict(event))
    machine = cached.registry.machine("board", 1)
    head = cached._heads.get("default", "b-1")
    assert head is not None

    parsed = cached._heads.take_parsed(head, machine)

    assert parsed is not None
    reloaded = Snapshot.from_json(machine, json.loads(head.snapshot))
    assert parsed.to_json() == reloaded.to_json()
    assert parsed.configuration == reloaded.configuration
    assert parsed.history == reloaded.history
    assert cached._heads.take_parsed(head, machine) is None  # lent once


def test_a_snapshot_that_json_would_change_is_not_kept_parsed(
    engines: tuple[Engine, Engine],
) -> None:
    cached, _ = engines
    cached.start("board", instance_id="b-1")
    cached.send("b-1", {"type": "TUPLE"})
    head = cached._heads.get("default", "b-1")
    assert head is not None

    assert cached._heads.take_parsed(head, cached.registry.machine("board", 1)) is None
    assert cached.send("b-1", {"type": "CHECK"}).seq == 3  # decided on the reloaded lists


def test_an_event_the_caller_changes_after_the_send_changes_nothing_stored(
    engines: tuple[Engine, Engine],
) -> None:
    cached, _ = engines
    cached.start("board", instance_id="b-1")
    items: list[object] = [1]
    cached.send("b-1", {"type": "SET", "items": items})
    items.append("later")  # the caller's own list, which the assign read

    cached.send("b-1", {"type": "COPY"})

    assert cached.get("b-1").context["copied"] == [1]  # type: ignore[index]


def test_an_action_that_changes_the_context_in_place_and_fails_leaves_no_trace(
    engines: tuple[Engine, Engine],
) -> None:
    cached, _ = engines
    cached.start("board", instance_id="b-1")
    cached.send("b-1", {"type": "SET", "items": ["a"]})

    with pytest.raises(TransitionFailed):
        cached.send("b-1", {"type": "SPOIL"})
    cached.send("b-1", {"type": "COPY"})

    assert cached.get("b-1").context["copied"] == ["a"]  # type: ignore[index]
    assert cached.verify("b-1").ok
