"""A raised event no state handles: registered with its warning logged, dropped when it is
processed, and the drop kept in the audit row as a microstep with no transitions."""

from __future__ import annotations

import logging

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.testing import VirtualClock

CONFIG: dict[str, object] = {
    "id": "raiser",
    "initial": "a",
    "states": {
        "a": {
            "on": {
                "GO": {
                    "target": "b",
                    "actions": [
                        {"type": "raise", "params": {"event": {"type": "NOBODY"}}},
                        {"type": "raise", "params": {"event": {"type": "NEXT"}}},
                    ],
                },
                "ARM": {
                    "actions": {
                        "type": "raise",
                        "params": {"event": {"type": "LATE_NOBODY"}, "delay": 500},
                    }
                },
            }
        },
        "b": {"on": {"NEXT": "c"}},
        "c": {},
    },
}

WARNED_PATHS = ("states.a.on.GO.actions[0].params.event", "states.a.on.ARM.actions.params.event")


def test_register_logs_each_warning_once_per_engine_and_version(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="statewright.engine"):
        record = engine.register(Machine.from_config(CONFIG))
        again = engine.register(Machine.from_config(CONFIG))
    assert again.version == record.version
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines == [
        f"definition 'raiser' version {record.version}: {path}: no state handles the raised "
        f'event "{event}": it is dropped when processed; add a transition for it, or remove '
        "the raise if nothing should"
        for path, event in zip(WARNED_PATHS, ("NOBODY", "LATE_NOBODY"), strict=True)
    ]
    fields = [
        (r.kind, r.definition_id, r.definition_version, r.path)  # type: ignore[attr-defined]
        for r in caplog.records
    ]
    assert fields == [
        ("definition_warning", "raiser", record.version, path) for path in WARNED_PATHS
    ]


def test_register_logs_nothing_for_a_definition_without_warnings(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    clean = {"id": "clean", "initial": "a", "states": {"a": {}}}
    with caplog.at_level(logging.WARNING, logger="statewright.engine"):
        engine.register(Machine.from_config(clean))
    assert caplog.records == []


def test_the_audit_row_shows_the_dropped_raise(engine: Engine) -> None:
    engine.register(Machine.from_config(CONFIG))
    instance = engine.start("raiser")

    entry = engine.send(instance.id, "GO")

    assert entry.to_value == "c"
    assert [m["event"] for m in entry.microsteps] == ["GO", "NOBODY", "NEXT"]  # type: ignore[index]
    assert entry.microsteps[1] == {"event": "NOBODY", "transitions": []}
    (_, stored) = engine.history(instance.id)
    assert stored.microsteps == entry.microsteps
    assert engine.verify(instance.id).ok


def test_a_delayed_raise_nobody_handles_fires_and_its_drop_is_audited(
    engine: Engine, clock: VirtualClock
) -> None:
    engine.register(Machine.from_config(CONFIG))
    instance = engine.start("raiser")
    engine.send(instance.id, "ARM")
    (timer,) = engine.store.pending_timers("default", instance.id)
    clock.advance(500)

    entry = engine.fire_timer(timer)

    assert entry.event == {"type": "LATE_NOBODY"}
    assert entry.from_value == entry.to_value == "a"
    assert entry.microsteps == [{"event": "LATE_NOBODY", "transitions": []}]
    assert engine.store.pending_timers("default", instance.id) == []
    assert engine.verify(instance.id).ok


def test_a_new_version_logs_its_warnings_again(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="statewright.engine"):
        first = engine.register(Machine.from_config(CONFIG))
        caplog.clear()
        second = engine.register(Machine.from_config({**CONFIG, "description": "v2"}))
    assert second.version == first.version + 1
    assert [r.definition_version for r in caplog.records] == [second.version] * 2  # type: ignore[attr-defined]
