"""`Engine.audit_since` and `Engine.stream_horizon`: a tenant's committed transitions after a
cursor, never past a number a transaction still in flight may fill (PostgreSQL draws the
numbers before commit, so they become visible out of order)."""

from __future__ import annotations

import time

import psycopg
import pytest

from statewright.engine import Engine
from statewright.errors import PayloadError

FLOW = {
    "id": "flow",
    "initial": "a",
    "states": {"a": {"on": {"GO": "b"}}, "b": {"on": {"GO": "a"}}},
}


def test_audit_since_reads_a_tenants_transitions_after_a_cursor(engine: Engine) -> None:
    engine.register(FLOW)
    engine.start("flow", instance_id="i1", tenant="acme", actor="ann")
    engine.start("flow", instance_id="j1", tenant="other")
    engine.send("i1", {"type": "GO", "note": "x"}, tenant="acme", actor="bob")
    entries = engine.audit_since(0, tenant="acme")
    assert [(e.instance_id, e.version, e.to_value) for e in entries] == [
        ("i1", 1, "a"),
        ("i1", 2, "b"),
    ]
    assert entries[1].event == {"type": "GO", "note": "x"} and entries[1].actor == "bob"
    assert entries[1].from_value == "a" and entries[1].definition_id == "flow"
    assert engine.audit_since(entries[1].cursor, tenant="acme") == []
    assert engine.audit_since(0, tenant="acme", through=entries[0].cursor) == entries[:1]
    assert [e.tenant for e in engine.audit_since(0, tenant="other")] == ["other"]
    assert engine.stream_horizon() >= entries[1].cursor


def test_audit_since_refuses_bad_input_naming_it(engine: Engine) -> None:
    with pytest.raises(PayloadError, match="cursor -1"):
        engine.audit_since(-1, tenant="acme")
    with pytest.raises(PayloadError, match="limit 0"):
        engine.audit_since(0, tenant="acme", limit=0)
    with pytest.raises(PayloadError, match="tenant"):
        engine.audit_since(0, tenant="")


def _draw_in_flight(connection: psycopg.Connection[tuple[object, ...]], seq: int) -> int:
    """Insert an audit row of i1 in the connection's open transaction: its stream number."""
    row = connection.execute(
        "INSERT INTO audit (tenant, instance_id, seq, event, to_value, status, runtime_status,"
        " at, microsteps, effects, instance_created_at) VALUES ('acme', 'i1', %s,"
        " '{\"type\": \"X\"}', '\"a\"', 'active', 'active', 0, '[]', '[]', (SELECT"
        " created_at FROM instances WHERE tenant = 'acme' AND id = 'i1')) RETURNING stream_seq",
        (seq,),
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_the_horizon_waits_for_a_number_drawn_by_a_transaction_in_flight(
    store_url: str,
) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite commits one writer at a time: no number is ever in flight")
    with Engine.open(store_url) as engine, psycopg.connect(store_url) as other:
        engine.register(FLOW)
        engine.start("flow", instance_id="i1", tenant="acme")
        first = engine.stream_horizon()
        held = _draw_in_flight(other, 100)  # drawn, not committed
        engine.start("flow", instance_id="i2", tenant="acme")  # drawn after, committed first
        for _ in range(3):
            assert engine.stream_horizon() < held
        assert [e.instance_id for e in engine.audit_since(first, tenant="acme")] == []
        other.commit()
        horizon = engine.stream_horizon()
        assert horizon > held
        after = engine.audit_since(first, tenant="acme")
        assert [(e.instance_id, e.version) for e in after] == [("i1", 100), ("i2", 1)]
        # A number whose transaction rolls back never appears; the horizon passes it.
        lost = _draw_in_flight(other, 101)
        other.rollback()
        engine.start("flow", instance_id="i3", tenant="acme")
        assert engine.stream_horizon() > lost
        (third,) = engine.audit_since(horizon, tenant="acme")
        assert third.instance_id == "i3"


def test_the_horizon_waits_for_a_transaction_that_began_after_the_readers_last_look(
    store_url: str,
) -> None:
    """No transaction ends between the reader's two looks, so PostgreSQL hands its backends
    the snapshot they had (its in-progress list misses the writer that began since): the
    horizon must not count on snapshots, or the writer's row is skipped for good."""
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite commits one writer at a time: no number is ever in flight")
    with Engine.open(store_url) as engine, psycopg.connect(store_url) as other:
        engine.register(FLOW)
        engine.start("flow", instance_id="i1", tenant="acme")
        time.sleep(0.3)  # the start's NOTIFY (a transaction of its own) has been sent
        first = engine.stream_horizon()
        held = _draw_in_flight(other, 100)
        assert engine.stream_horizon() < held
        other.commit()
        assert engine.stream_horizon() >= held
        (entry,) = engine.audit_since(first, tenant="acme")
        assert (entry.instance_id, entry.version) == ("i1", 100)


def test_a_commit_wakes_a_wait_for_commits_of_another_engine(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite streams poll: wait_for_commits only waits")
    with Engine.open(store_url) as writer, Engine.open(store_url) as reader:
        writer.register(FLOW)
        assert reader.wait_for_commits(0.05) is False  # listening from now on; nothing came
        writer.start("flow", instance_id="i1", tenant="acme")
        assert reader.wait_for_commits(10) is True
        (entry,) = reader.audit_since(0, tenant="acme")
        assert entry.instance_id == "i1"


def test_sqlite_wait_for_commits_waits_out_its_timeout(tmp_path: object) -> None:
    with Engine.open(f"sqlite:///{tmp_path}/a.db") as engine:
        assert engine.wait_for_commits(0.01) is False
