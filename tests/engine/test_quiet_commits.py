"""A quiet transition (no timers, steps or messages written) commits through each backend's
short path: positional statements on SQLite, one statement on PostgreSQL, and, when the state
value stays the same, an update that checks the value instead of setting it (so the state
index's triggers do not start). Each writes exactly the rows the general path writes, and the
state index stays exact."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from statewright.engine import Engine
from statewright.store.protocol import Store
from statewright.store.records import AuditRecord, InstanceWrite, TransitionWrite
from statewright.store.sqlite.quiet import numbered
from statewright.testing import VirtualClock

ADD = {"actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]}
TALLY: dict[str, object] = {
    "id": "tally",
    "initial": "open",
    "context": {"n": 0},
    "states": {
        "open": {
            "on": {
                "ADD": ADD,
                "CLOSE": "closed",
                "WAIT": "waiting",
            }
        },
        "waiting": {
            "after": {"1h": "open"},
            "on": {
                "ADD": ADD,
                "GO": "open",
            },
        },
        "closed": {"on": {"REOPEN": "open"}},
    },
}  # fmt: skip

#: Sends that keep the value (ADD), move it (CLOSE, REOPEN, GO), schedule a timer (WAIT),
#: keep the value while a timer is pending (ADD in waiting) and cancel it (GO).
EVENTS = ["ADD", "ADD", "CLOSE", "REOPEN", "ADD", "WAIT", "ADD", "ADD", "GO", "ADD"]


@pytest.fixture
def engines(store_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one database and one virtual clock: the second never takes a short
    path (every commit goes the general way)."""
    clock = VirtualClock(1_800_000_000_000)
    with (
        Engine.open(store_url, clock=clock) as short,
        Engine.open(store_url, clock=clock) as general,
    ):
        short.register(TALLY)
        general.register(TALLY)
        general.store._commit_alone = lambda writes: False  # type: ignore[attr-defined]
        yield short, general


def _rows(store: Store, sql: str, params: dict[str, object]) -> list[dict[str, Any]]:
    with store._transaction(write=False, what="reading") as tx:  # type: ignore[attr-defined]
        return [dict(row) for row in tx.all(sql, params)]


def _instance(store: Store, instance_id: str) -> dict[str, Any]:
    (row,) = _rows(
        store,
        _sql(store, "SELECT * FROM instances WHERE id = :id"),
        {"id": instance_id},
    )
    del row["id"]
    return row


def _audit(store: Store, instance_id: str) -> list[dict[str, Any]]:
    rows = _rows(
        store,
        _sql(store, "SELECT * FROM audit WHERE instance_id = :id ORDER BY seq"),
        {"id": instance_id},
    )
    for row in rows:
        del row["instance_id"], row["stream_seq"]
    return rows


def _states(store: Store, instance_id: str) -> list[tuple[object, ...]]:
    rows = _rows(
        store,
        _sql(store, "SELECT state, definition_version FROM instance_states WHERE id = :id"),
        {"id": instance_id},
    )
    return sorted(tuple(row.values()) for row in rows)


def _counts(store: Store) -> dict[tuple[object, ...], int]:
    tables = ["state_counts"]
    if not store.url.startswith("sqlite"):
        tables.append("state_count_changes")
    counts: dict[tuple[object, ...], int] = {}
    for table in tables:
        for row in _rows(store, f"SELECT value, status, runtime_status, count FROM {table}", {}):
            key = (row["value"], row["status"], row["runtime_status"])
            counts[key] = counts.get(key, 0) + int(row["count"])
    return {key: count for key, count in counts.items() if count}


def _sql(store: Store, sql: str) -> str:
    return sql if store.url.startswith("sqlite") else sql.replace(":id", "%(id)s")


def _expected_counts(store: Store, ids: Sequence[str]) -> dict[tuple[object, ...], int]:
    counts: dict[tuple[object, ...], int] = {}
    for instance_id in ids:
        row = _instance(store, instance_id)
        key = (row["value"], row["status"], row["runtime_status"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_short_paths_write_the_rows_the_general_path_writes(
    engines: tuple[Engine, Engine],
) -> None:
    short, general = engines
    short.start("tally", instance_id="a")
    general.start("tally", instance_id="b")
    store = short.store
    for event in EVENTS:
        short.send("a", event)
        general.send("b", event)
        assert _instance(store, "a") == _instance(store, "b"), event
        assert _states(store, "a") == _states(store, "b"), event

    assert _audit(store, "a") == _audit(store, "b")
    assert json.loads(_instance(store, "a")["snapshot"])["context"] == {"n": 6}
    assert _counts(store) == _expected_counts(store, ["a", "b"])
    assert short.verify("a").ok


def test_a_write_whose_value_is_not_the_stored_one_still_files_the_stored_value(
    engines: tuple[Engine, Engine],
) -> None:
    """A write that says it keeps the value ("open") of an instance now in "closed" at the
    same version: the short update, which checks the value, matches nothing; the general path
    writes the row, and the state index follows the value written."""
    short, _ = engines
    short.start("tally", instance_id="a")
    short.send("a", "CLOSE")
    row = _instance(short.store, "a")
    write = TransitionWrite(
        tenant="default",
        instance_id="a",
        definition_id="tally",
        definition_version=1,
        expected_version=2,
        instance=InstanceWrite(snapshot=row["snapshot"], value='"open"', status="active"),
        audit=AuditRecord(
            tenant="default",
            instance_id="a",
            seq=3,
            event='{"type":"ADD"}',
            actor=None,
            from_value='"open"',
            to_value='"open"',
            status="active",
            runtime_status="active",
            at=1_800_000_000_000,
            idempotency_key=None,
            microsteps="[]",
            effects="[]",
        ),
    )

    short.store.commit_transition(write)

    assert _instance(short.store, "a")["value"] == '"open"'
    assert _states(short.store, "a") == [("open", 1)]
    assert _counts(short.store) == _expected_counts(short.store, ["a"])


def test_numbered_parameters_follow_the_given_order() -> None:
    assert numbered("UPDATE t SET a = :b WHERE k = :a AND j = :b", ["a", "b"]) == (
        "UPDATE t SET a = ?2 WHERE k = ?1 AND j = ?2"
    )
    with pytest.raises(ValueError, match=r"parameter :c is not one of a, b"):
        numbered("SELECT :a, :b, :c", ["a", "b"])
    with pytest.raises(ValueError, match=r"does not use b"):
        numbered("SELECT :a", ["a", "b"])
