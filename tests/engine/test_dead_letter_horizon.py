"""A redrive's dry run counts the letters dead at a position (`dead_letter_horizon`): a
letter dead-lettered in a transaction still running when it is read is either counted, and
inside the position, or left out, and after it; never counted and then left out, nor the
reverse."""

from __future__ import annotations

import sqlite3
import threading

import psycopg
import pytest

from statewright.engine import Engine
from statewright.errors import StoreUnavailable
from statewright.store.records import OutboxRecord
from statewright.store.url import parse_postgres_url, parse_sqlite_url
from statewright.testing import VirtualClock


def pending_message(engine: Engine, clock: VirtualClock) -> OutboxRecord:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})
    (run,) = engine.store.claim_steps(clock.now(), 60_000, 10)
    engine.finish_step(run, output={"ok": True})
    (message,) = engine.store.due_outbox(clock.now(), 10)
    return message


def test_sqlite_a_letter_dying_during_the_count_falls_after_its_position(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer")
    message = pending_message(engine, clock)
    other = sqlite3.connect(parse_sqlite_url(store_url).path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "UPDATE outbox SET status = 'dead' WHERE message_id = ?", [message.message_id]
        )
        other.execute("UPDATE counters SET value = value + 1 WHERE name = 'work'")
        other.execute(
            "UPDATE outbox SET dead_seq = (SELECT value FROM counters WHERE name = 'work') "
            "WHERE message_id = ?",
            [message.message_id],
        )
        as_of = engine.dead_letter_horizon()
        other.execute("COMMIT")
    finally:
        other.close()
    assert engine.redrive(dry_run=True, as_of=as_of) == 0
    assert engine.redrive(as_of=as_of) == 0
    assert [d.message_id for d in engine.dead_letters()] == [message.message_id]


def test_postgres_the_count_waits_for_a_letter_being_dead_lettered(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    if not store_url.startswith("postgres"):
        pytest.skip("PostgreSQL's concurrent writers")
    message = pending_message(engine, clock)
    with psycopg.connect(parse_postgres_url(store_url).conninfo) as other:
        # As the store dead-letters: the outbox row first (its table locked), then the number.
        other.execute(
            "UPDATE outbox SET status = 'dead' WHERE message_id = %s", [message.message_id]
        )
        row = other.execute(
            "UPDATE outbox SET dead_seq = nextval('work_seq') WHERE message_id = %s "
            "RETURNING dead_seq",
            [message.message_id],
        ).fetchone()
        assert row is not None
        dead_seq = int(row[0])
        with pytest.raises(StoreUnavailable, match="try again once it ends"):
            engine.dead_letter_horizon(timeout_s=0.05)
        found: list[int] = []
        reader = threading.Thread(target=lambda: found.append(engine.dead_letter_horizon()))
        reader.start()
        reader.join(0.2)
        assert reader.is_alive()  # waits for the transaction in flight
        other.commit()
        reader.join(10)
    (as_of,) = found
    assert as_of >= dead_seq
    assert engine.redrive(dry_run=True, as_of=as_of) == 1
    assert engine.redrive(as_of=as_of) == 1
    assert engine.dead_letters() == []
