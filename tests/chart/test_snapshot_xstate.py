"""Restoring snapshots that XState itself persisted (`actor.getPersistedSnapshot()`).

Each snapshot below is XState 5.33.3's output, pasted unchanged; the values after it are what
XState's restored actor did with the same events.
"""

from __future__ import annotations

from typing import Any

import pytest

from statewright import Machine, Snapshot, SnapshotError, StopStep
from statewright.testing import PENDING


def player() -> Machine:
    return Machine.from_config(
        {
            "id": "player",
            "initial": "off",
            "states": {
                "off": {"on": {"POWER": "on.hist"}},
                "on": {
                    "initial": "first",
                    "states": {
                        "first": {"on": {"SWITCH": "second"}},
                        "second": {"on": {"SWITCH": "third"}},
                        "third": {"initial": "a", "states": {"a": {"on": {"SUB": "b"}}, "b": {}}},
                        "hist": {"type": "history"},
                    },
                    "on": {"POWER": "off"},
                },
            },
        }
    )


def payment() -> Machine:
    return Machine.from_config(
        {
            "id": "pay",
            "initial": "method",
            "states": {
                "method": {
                    "initial": "cash",
                    "states": {
                        "cash": {"on": {"SWITCH": "card"}},
                        "card": {
                            "initial": "visa",
                            "states": {"visa": {"on": {"NEXT_CARD": "amex"}}, "amex": {}},
                        },
                        "deepHist": {"type": "history", "history": "deep"},
                        "shallowHist": {"type": "history", "history": "shallow", "target": "card"},
                    },
                    "on": {"NEXT": "review"},
                },
                "review": {"on": {"BACK": "method.deepHist", "BACK_SHALLOW": "method.shallowHist"}},
            },
        }
    )


def jobs() -> Machine:
    return Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"on": {"GO": "b"}},
                "b": {
                    "invoke": [
                        {"id": "job", "src": "ok", "input": {"x": 1}, "onDone": {"actions": []}},
                        {"src": "never", "input": {"z": 2}},
                    ],
                    "on": {"BACK": "a"},
                },
            },
        },
        actors={"ok": lambda input: PENDING, "never": lambda input: PENDING},
    )


def values_after(machine: Machine, snapshot: Snapshot, *events: str) -> list[Any]:
    values = []
    for event in events:
        snapshot, _ = machine.transition(snapshot, event)
        values.append(snapshot.value)
    return values


def test_shallow_history_persisted_by_xstate_restores() -> None:
    machine = player()
    persisted = {
        "status": "active",
        "value": "off",
        "historyValue": {"player.on.hist": [{"id": "player.on.second"}]},
        "context": {},
        "children": {},
    }

    restored = Snapshot.from_json(machine, persisted)

    assert restored.history == {"player.on.hist": ["player.on.second"]}
    assert values_after(machine, restored, "POWER", "SWITCH", "SUB", "POWER", "POWER") == [
        {"on": "second"},
        {"on": {"third": "a"}},
        {"on": {"third": "b"}},
        "off",
        {"on": {"third": "a"}},
    ]


def test_deep_and_shallow_history_persisted_by_xstate_restore() -> None:
    machine = payment()
    persisted = {
        "status": "active",
        "value": "review",
        "historyValue": {
            "pay.method.deepHist": [{"id": "pay.method.card.amex"}],
            "pay.method.shallowHist": [{"id": "pay.method.card"}],
        },
        "context": {},
        "children": {},
    }

    restored = Snapshot.from_json(machine, persisted)

    assert values_after(machine, restored, "BACK", "NEXT", "BACK_SHALLOW") == [
        {"method": {"card": "amex"}},
        "review",
        {"method": {"card": "visa"}},
    ]


def test_history_written_as_plain_ids_still_restores() -> None:
    machine = player()
    saved = {
        "status": "active",
        "value": "off",
        "historyValue": {"player.on.hist": ["player.on.second"]},
        "context": {},
        "children": {},
    }

    restored = Snapshot.from_json(machine, saved)

    assert values_after(machine, restored, "POWER") == [{"on": "second"}]


def test_a_running_child_persisted_by_xstate_restores_into_its_invoke() -> None:
    machine = jobs()
    persisted = {
        "status": "active",
        "value": "b",
        "historyValue": {},
        "context": {},
        "children": {
            "job": {
                "snapshot": {"status": "active", "input": {"x": 1}},
                "src": "ok",
                "syncSnapshot": False,
            },
        },
    }

    restored = Snapshot.from_json(machine, persisted)

    assert restored.children == {"job": {"src": "ok", "input": {"x": 1}, "state": "m.b"}}
    left, effects = machine.transition(restored, "BACK")
    assert left.children == {}
    assert StopStep(id="job") in effects


def test_a_finished_child_persisted_by_xstate_is_not_restored_as_running() -> None:
    machine = jobs()
    persisted = {
        "status": "active",
        "value": "b",
        "historyValue": {},
        "context": {},
        "children": {
            "job": {
                "snapshot": {"status": "done", "output": {"y": 2}},
                "src": "ok",
                "syncSnapshot": False,
            },
            "1.m.b": {
                "snapshot": {"status": "active", "input": {"z": 2}},
                "src": "never",
                "syncSnapshot": False,
            },
        },
    }

    restored = Snapshot.from_json(machine, persisted)

    assert restored.children == {"1.m.b": {"src": "never", "input": {"z": 2}, "state": "m.b"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"children": {"report": {"snapshot": {"status": "active"}, "src": "ok"}}},
            "snapshot child 'report' matches no invoke of the active states of 'm' "
            '(their invoke ids: 1.m.b, job); give the invoke that runs it "id": "report"',
        ),
        (
            {"children": {"job": {"snapshot": {"status": "active"}, "src": "mail"}}},
            "snapshot child 'job' runs 'mail', but states.b.invoke[0] invokes 'ok'",
        ),
        (
            {"children": {"job": {"snapshot": "active", "src": "ok"}}},
            "snapshot children['job'].snapshot must be an object",
        ),
        (
            {"value": "a", "children": {"job": {"snapshot": {"status": "active"}, "src": "ok"}}},
            "(their invoke ids: none)",
        ),
    ],
    ids=["unknown-id", "other-src", "snapshot-not-object", "state-not-active"],
)
def test_an_xstate_child_that_fits_no_active_invoke_is_refused(
    change: dict[str, Any], message: str
) -> None:
    persisted = {"status": "active", "value": "b", "historyValue": {}, "context": {}}

    with pytest.raises(SnapshotError) as info:
        Snapshot.from_json(jobs(), {**persisted, **change})

    assert message in str(info.value)


def test_a_remembered_state_in_neither_shape_is_refused_with_both_shapes_named() -> None:
    persisted = {
        "status": "active",
        "value": "off",
        "historyValue": {"player.on.hist": [{"state": "player.on.second"}]},
    }

    with pytest.raises(SnapshotError) as info:
        Snapshot.from_json(player(), persisted)

    assert "historyValue['player.on.hist'][0]" in str(info.value)
    assert '{"id": "m.a.b"}' in str(info.value)
