"""PostgreSQL wake-ups: one idle worker listens at a time (store/postgres/listener.py).

The turn is an advisory lock per schema: its holder wakes for NOTIFYs, the others wait for
the lock, which PostgreSQL grants to one of them when the holder lets it go (it worked for
longer than `help_after_s`, or its connection closed)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from statewright.store.postgres.listener import Listener
from statewright.testing.postgres import TemporaryPostgres, create_schema, drop_schema


@pytest.fixture
def schema_url(postgres_url: str) -> Iterator[str]:
    schema = f"listen_{uuid.uuid4().hex[:12]}"
    yield create_schema(postgres_url, schema)
    drop_schema(postgres_url, schema)


class Waiting:
    """`listener.wait(timeout_s)` on a thread: what it returned, and after how long."""

    def __init__(self, listener: Listener, timeout_s: float) -> None:
        self.result: bool | None = None
        self.took = 0.0
        self._thread = threading.Thread(target=self._run, args=(listener, timeout_s))
        self._thread.start()

    def _run(self, listener: Listener, timeout_s: float) -> None:
        began = time.monotonic()
        self.result = listener.wait(timeout_s)
        self.took = time.monotonic() - began

    def join(self) -> Waiting:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()
        return self

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()


def notify(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("NOTIFY statewright_work")


def take_turn(listener: Listener) -> None:
    """Let `listener` take the free turn (taking it is a wake-up)."""
    assert listener.wait(5.0) is True
    assert listener.holding


def test_a_notify_wakes_the_listening_worker_only(schema_url: str) -> None:
    first, second = Listener(schema_url, help_after_s=60), Listener(schema_url, help_after_s=60)
    try:
        take_turn(first)
        queued = Waiting(second, 1.5)
        time.sleep(0.2)
        listening = Waiting(first, 10.0)
        time.sleep(0.2)
        notify(schema_url)
        assert listening.join().result is True
        assert listening.took < 5
        assert not queued.done  # the NOTIFY did not wake the worker waiting for the turn
        assert queued.join().result is False
        assert first.holding and not second.holding
    finally:
        first.close()
        second.close()


def test_a_worker_busy_longer_than_help_after_passes_the_turn_to_an_idle_one(
    schema_url: str,
) -> None:
    busy, idle = Listener(schema_url, help_after_s=0.1), Listener(schema_url, help_after_s=60)
    try:
        take_turn(busy)  # and it works from now on, never waiting again
        queued = Waiting(idle, 10.0)
        assert queued.join().result is True
        assert 0.05 < queued.took < 5
        assert idle.holding and not busy.holding
        # Back from work, the first one waits for the turn and is not woken by a NOTIFY.
        again = Waiting(busy, 1.0)
        time.sleep(0.2)
        notify(schema_url)
        assert again.join().result is False
    finally:
        busy.close()
        idle.close()


def test_a_short_piece_of_work_keeps_the_turn(schema_url: str) -> None:
    worker, other = Listener(schema_url, help_after_s=5), Listener(schema_url, help_after_s=60)
    try:
        take_turn(worker)
        queued = Waiting(other, 1.0)
        for _ in range(5):
            notify(schema_url)
            assert worker.wait(5.0) is True  # woken, works briefly, waits again
        assert queued.join().result is False
        assert worker.holding
    finally:
        worker.close()
        other.close()


def test_the_turn_of_a_worker_that_is_gone_passes_on(schema_url: str) -> None:
    gone, idle = Listener(schema_url), Listener(schema_url, help_after_s=60)
    try:
        take_turn(gone)
        gone.wait(0)  # listening, then closed as by a process that dies
        queued = Waiting(idle, 10.0)
        time.sleep(0.2)
        gone.close()
        assert queued.join().result is True
        assert queued.took < 5
        assert idle.holding
    finally:
        idle.close()


def test_each_schema_has_a_turn_of_its_own(postgres_url: str, schema_url: str) -> None:
    other_schema = f"listen_{uuid.uuid4().hex[:12]}"
    other_url = create_schema(postgres_url, other_schema)
    here, there = Listener(schema_url, help_after_s=60), Listener(other_url, help_after_s=60)
    try:
        take_turn(here)
        take_turn(there)
    finally:
        here.close()
        there.close()
        drop_schema(postgres_url, other_schema)


@pytest.mark.slow
def test_listening_resumes_after_the_server_restarts() -> None:
    with TemporaryPostgres() as server:
        url = server.create_database("relisten")
        listener = Listener(url, connect_kwargs={"connect_timeout": 2})
        try:
            take_turn(listener)
            notify(url)
            assert listener.wait(5.0) is True
            server.restart()  # the listening connection is cut off
            deadline = time.monotonic() + 20
            woken = False
            while not woken and time.monotonic() < deadline:
                # The first waits find the connection gone (and poll); a later one
                # reconnects, takes the turn and LISTENs again, and a NOTIFY wakes it.
                if listener.wait(0.5) and listener.holding:
                    notify(url)
                    woken = listener.wait(5.0)
            assert woken
        finally:
            listener.close()
