"""Many threads on one store, and several processes on one SQLite file, lose no commit."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from statewright.store import Store, open_store
from statewright.testing.store_contract import save_definition, start, step

THREADS = 8
COMMITS = 25

#: A worker process: commits its own instance, and bumps a shared one with retries.
_WORKER = """
import sys
from statewright.errors import VersionConflict
from statewright.store import open_store
from statewright.testing.store_contract import step
url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(url)
for version in range(1, count + 1):
    store.commit_transition(step(name, version))
bumped = 0
while bumped < count:
    current = store.load_instance("acme", "shared")
    try:
        store.commit_transition(step("shared", current.version + 1))
        bumped += 1
    except VersionConflict:
        pass
store.close()
"""


def _commit_many(store: Store, instance_id: str, errors: list[BaseException]) -> None:
    try:
        for version in range(1, COMMITS + 1):
            store.commit_transition(step(instance_id, version))
    except BaseException as error:  # reported by the test thread
        errors.append(error)


@pytest.mark.slow
def test_many_threads_commit_through_one_store(store: Store) -> None:
    save_definition(store)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_commit_many, args=(store, f"order-{n}", errors))
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert store.count_instances("acme") == THREADS
    for n in range(THREADS):
        record = store.load_instance("acme", f"order-{n}")
        assert record is not None and record.version == COMMITS


@pytest.mark.slow
def test_processes_sharing_one_sqlite_file_serialise_their_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = open_store(url)
    try:
        store.migrate()
        save_definition(store)
        store.commit_transition(start("shared"))
    finally:
        store.close()
    workers = [
        subprocess.Popen([sys.executable, "-c", _WORKER, url, f"order-{n}", "20"]) for n in range(3)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0]
    store = open_store(url)
    try:
        shared = store.load_instance("acme", "shared")
        assert shared is not None and shared.version == 1 + 3 * 20
        assert [row.seq for row in store.history("acme", "shared")] == list(range(1, 62))
        for n in range(3):
            record = store.load_instance("acme", f"order-{n}")
            assert record is not None and record.version == 20
    finally:
        store.close()
