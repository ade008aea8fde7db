"""`statewright db migrate` killed (SIGKILL) at random points, again and again: each time the
database is at some version's exact schema, never between two, and migrate carries on."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_catalog import Catalog, postgres_catalog, sqlite_catalog

from statewright.store import SCHEMA_VERSION, open_store
from statewright.testing.postgres import create_schema, drop_schema

pytestmark = pytest.mark.slow

KILLS = 20


def _catalog(url: str) -> Catalog:
    if url.startswith("sqlite"):
        return sqlite_catalog(url.removeprefix("sqlite:///"))
    return postgres_catalog(url)


def _version(url: str) -> int:
    store = open_store(url, create=False)
    try:
        return store.schema_version()
    finally:
        store.close()


@pytest.fixture
def other_urls(
    empty_store_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """Two more empty databases beside `empty_store_url`, on the same backend."""
    if empty_store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}", f"sqlite:///{tmp_path / 'timing.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    schemas = [f"test_{uuid.uuid4().hex[:16]}" for _ in range(2)]
    first, second = (create_schema(base, schema) for schema in schemas)
    yield first, second
    for schema in schemas:
        drop_schema(base, schema)


def _catalogs_by_version(url: str) -> dict[int, Catalog]:
    """The catalog of a database at each version, migration after migration."""
    store = open_store(url)
    try:
        catalogs = {0: _catalog(url)}
        for migration in store.migrations:
            with store._transaction(write=True, what="test") as tx:  # type: ignore[attr-defined]
                store._apply(tx, migration)  # type: ignore[attr-defined]
            catalogs[migration.version] = _catalog(url)
    finally:
        store.close()
    return catalogs


#: What `statewright db migrate` does, with a line on stdout once the store is open, so
#: that the kill lands in the migrations rather than in the interpreter's start.
_MIGRATE = """
import sys
from statewright.store import open_store
store = open_store(sys.argv[1])
print("open", flush=True)
store.migrate()
"""


def _migrate(url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-c", _MIGRATE, url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"open\n"
    return process


def _migrate_alone(url: str) -> float:
    """Seconds one whole migrate takes here, from the open store."""
    process = _migrate(url)
    began = time.monotonic()
    assert _end(process) == 0
    return time.monotonic() - began


def _end(process: subprocess.Popen[bytes]) -> int:
    code = process.wait(timeout=60)
    assert process.stdout is not None
    process.stdout.close()
    return code


def test_a_migrate_killed_anywhere_leaves_one_versions_schema_and_runs_again(
    empty_store_url: str, other_urls: tuple[str, str]
) -> None:
    reference_url, timing_url = other_urls
    expected = _catalogs_by_version(reference_url)
    # How long migrating takes here: the kills are spread over that span.
    span = _migrate_alone(timing_url)
    rng = random.Random(20261205)
    seen: list[int] = []
    for _ in range(KILLS):
        process = _migrate(empty_store_url)
        time.sleep(span * rng.random() ** 3)  # early kills are likelier: later ones end it
        process.send_signal(signal.SIGKILL)
        _end(process)
        version = _version(empty_store_url)
        seen.append(version)
        assert _catalog(empty_store_url) == expected[version], f"between versions at {version}"
        if version == SCHEMA_VERSION:
            break
    _migrate_alone(empty_store_url)  # runs again, from where the last kill left it
    assert _version(empty_store_url) == SCHEMA_VERSION
    assert _catalog(empty_store_url) == expected[SCHEMA_VERSION]
    print(f"versions after each kill: {seen}")
