"""Schema skew in a rolling upgrade: a process that runs while a newer statewright migrates
its database past this version's schema stops writing, naming both versions and the fix.

The newer release is simulated by the row its `db migrate` would add: schema_migrations at
SCHEMA_VERSION + 1. The recheck interval is set to 0 so that no test waits for it.
"""

from __future__ import annotations

import threading
import time

import pytest

from statewright import Engine, Worker
from statewright.api.problems import problem_of
from statewright.errors import SchemaOutOfDate
from statewright.store import SCHEMA_VERSION, open_store
from statewright.store import schema as schema_module
from statewright.testing import VirtualClock

NEWER = SCHEMA_VERSION + 1
MACHINE = {
    "id": "door",
    "initial": "closed",
    "states": {"closed": {"on": {"OPEN": "opened"}}, "opened": {"after": {"1s": "closed"}}},
}


def _migrate_as_newer_release(url: str) -> None:
    """What a newer statewright's `db migrate` leaves: the schema at NEWER."""
    store = open_store(url)
    try:
        with store._transaction(write=True, what="test") as tx:  # type: ignore[attr-defined]
            tx.run(f"INSERT INTO schema_migrations (version, applied_at) VALUES ({NEWER}, 0)", {})
    finally:
        store.close()


@pytest.fixture
def recheck_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_module, "SCHEMA_RECHECK_S", 0.0, raising=False)


@pytest.mark.usefixtures("recheck_at_once")
def test_a_running_engine_refuses_to_write_once_a_newer_release_migrated(store_url: str) -> None:
    with Engine.open(store_url, clock=VirtualClock(1_000)) as engine:
        engine.register(MACHINE)
        engine.start("door", instance_id="d-1", tenant="acme")
        before = engine.history("d-1", tenant="acme")

        _migrate_as_newer_release(store_url)

        with pytest.raises(SchemaOutOfDate) as info:
            engine.send("d-1", {"type": "OPEN"}, tenant="acme")
        message = str(info.value)
        assert f"schema {NEWER}, newer than this version's {SCHEMA_VERSION}" in message
        assert "nothing was written" in message
        assert "restart this process with the upgraded statewright" in message
        assert (info.value.found, info.value.needed) == (NEWER, SCHEMA_VERSION)
        # Nothing changed, and reads still answer.
        assert engine.history("d-1", tenant="acme") == before
        assert engine.get("d-1", tenant="acme").value == "closed"
        # Every later write is refused too, not only the one that found out.
        with pytest.raises(SchemaOutOfDate):
            engine.start("door", instance_id="d-2", tenant="acme")


@pytest.mark.usefixtures("recheck_at_once")
def test_a_running_worker_stops_once_a_newer_release_migrated(store_url: str) -> None:
    with Engine.open(store_url) as engine:
        engine.register(MACHINE)
        worker = Worker(engine)
        failure: list[BaseException] = []
        stop = threading.Event()

        def run() -> None:
            try:
                worker.run(poll_ms=20, stop=stop)
            except BaseException as error:  # the test asserts on it
                failure.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        try:
            # Running: past its start-up check (which refuses a newer schema by itself).
            deadline = time.monotonic() + 10
            while not engine.store.live_workers(0) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert engine.store.live_workers(0), failure
            _migrate_as_newer_release(store_url)
            thread.join(timeout=10)
        finally:
            stop.set()
            thread.join(timeout=10)
        assert failure, "the worker went on running against the newer schema"
        assert isinstance(failure[0], SchemaOutOfDate)
        assert f"schema {NEWER}, newer than this version's {SCHEMA_VERSION}" in str(failure[0])


def test_ready_on_a_newer_schema_asks_for_an_upgrade_not_a_migrate(store_url: str) -> None:
    with Engine.open(store_url) as engine:
        _migrate_as_newer_release(store_url)
        with pytest.raises(SchemaOutOfDate) as info:
            engine.ready()
    assert f"schema {NEWER}, newer than this version's {SCHEMA_VERSION}" in str(info.value)
    assert "upgrade statewright" in str(info.value)
    assert "db migrate" not in str(info.value)


def test_opening_a_newer_schema_names_both_versions_and_writes_nothing(store_url: str) -> None:
    _migrate_as_newer_release(store_url)
    with pytest.raises(SchemaOutOfDate) as info:
        Engine.open(store_url)
    assert f"schema {NEWER}, newer than this version's {SCHEMA_VERSION}" in str(info.value)
    assert "upgrade statewright" in str(info.value)
    assert (info.value.found, info.value.needed) == (NEWER, SCHEMA_VERSION)


def test_the_api_tells_which_fix_a_schema_mismatch_needs() -> None:
    newer = problem_of(SchemaOutOfDate("x", found=NEWER, needed=SCHEMA_VERSION))
    older = problem_of(SchemaOutOfDate("x", found=SCHEMA_VERSION - 1, needed=SCHEMA_VERSION))
    assert newer.status == older.status == 503
    assert "upgraded statewright" in str(newer.detail)
    assert "db migrate" not in str(newer.detail)
    assert "statewright db migrate" in str(older.detail)
