"""PostgreSQL wake-ups are sent beside the commits (store/postgres/notifier.py), also by a
process that exits right after its last commit: `statewright start` or `send` from a shell,
a script, a cron job. A wake-up asked for before `close` is sent before it returns."""

from __future__ import annotations

import uuid

import psycopg

from statewright.store.postgres.notifier import Notifier


def _notified(connection: psycopg.Connection[object], timeout_s: float) -> int:
    """1 if a NOTIFY comes within `timeout_s`, else 0."""
    return sum(1 for _ in connection.notifies(timeout=timeout_s, stop_after=1))


def test_a_wake_up_asked_for_just_before_close_is_sent(postgres_url: str) -> None:
    channel = f"wake_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as listening:
        listening.execute(f"LISTEN {channel}")
        for _ in range(10):
            notifier = Notifier(postgres_url, f"NOTIFY {channel}")
            notifier.poke()  # the commit that created work, then the process ends
            notifier.close()
            assert _notified(listening, 2.0) == 1


def test_wake_ups_asked_for_while_one_is_sent_are_sent_before_close(postgres_url: str) -> None:
    channel = f"wake_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as listening:
        listening.execute(f"LISTEN {channel}")
        notifier = Notifier(postgres_url, f"NOTIFY {channel}")
        notifier.poke()
        assert _notified(listening, 2.0) == 1  # its thread runs, connected
        for _ in range(10):
            notifier.poke()
            assert _notified(listening, 2.0) == 1
        notifier.poke()
        notifier.close()
        assert _notified(listening, 2.0) == 1
