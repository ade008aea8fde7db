"""Fixtures for every test that needs a database: one fresh database per test, per backend.

- `store_url`: the URL of a fresh, migrated database; tests using it run once on SQLite and
  once on PostgreSQL (ids `[sqlite]` and `[postgres]`).
- `empty_store_url`: the same, without the schema.
- `store`: an open `Store` on a fresh, migrated database, closed after the test.
- `postgres_url`: the session's PostgreSQL database. A throwaway server is started the first
  time a test needs it (about two seconds), unless STATEWRIGHT_TEST_POSTGRES_URL names a
  database to use instead.

With STATEWRIGHT_TEST_PARTITIONED_AUDIT=1, every migrated PostgreSQL store has its audit
table partitioned by month (`statewright db partition-audit`), so that any test runs on one.

SQLite gets a file in the test's tmp_path. PostgreSQL gets a schema of its own per test
(`CREATE SCHEMA`, a few milliseconds), selected through the URL's search_path and dropped
afterwards; a database per test would cost a copy of the template each time.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite(
    "statewright.testing.store_contract", "statewright.testing.store_contract_ops"
)

from statewright.store import SCHEMA_VERSION, Store, open_store  # noqa: E402
from statewright.testing.postgres import TemporaryPostgres, create_schema, drop_schema  # noqa: E402

BACKENDS = ("sqlite", "postgres")
PARTITIONED = os.environ.get("STATEWRIGHT_TEST_PARTITIONED_AUDIT") == "1"


@pytest.fixture(autouse=True)
def _forget_modules_imported_from_test_folders(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """The CLI imports a project's implementations file under its own name
    (`implementations`), as a script would. In one test process, a file imported by one test
    must not stand in for another test's file of the same name."""
    yield
    folder = str(tmp_path_factory.getbasetemp())
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(folder):
            del sys.modules[name]


def _migrate(store: Store) -> None:
    store.migrate()
    if PARTITIONED and store.url.startswith("postgres"):
        store.partition_audit("month", now=time.time_ns() // 1_000_000, ahead=1)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database for this session (throwaway server unless the env names one)."""
    given = os.environ.get("STATEWRIGHT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with TemporaryPostgres() as server:
        yield server.create_database("statewright_test")


@pytest.fixture(params=BACKENDS)
def empty_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of a fresh, empty database on each backend."""
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("db")
        yield f"sqlite:///{folder / 'statewright.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    yield create_schema(base, schema)
    drop_schema(base, schema)


@pytest.fixture
def store_url(empty_store_url: str) -> str:
    """The URL of a fresh, migrated database on each backend."""
    store = open_store(empty_store_url)
    try:
        _migrate(store)
    finally:
        store.close()
    return empty_store_url


@pytest.fixture
def old_store_url(store_url: str) -> str:
    """`store_url` taken back one schema version, as a store the last upgrade left behind
    (`statewright db migrate` brings it up to date)."""
    store = open_store(store_url)
    try:
        with store._transaction(write=True, what="test") as tx:  # type: ignore[attr-defined]
            tx.run(f"DELETE FROM schema_migrations WHERE version = {SCHEMA_VERSION}", {})
    finally:
        store.close()
    return store_url


@pytest.fixture
def store(empty_store_url: str) -> Iterator[Store]:
    """An open store on a fresh, migrated database on each backend; closed afterwards."""
    opened = open_store(empty_store_url)
    try:
        _migrate(opened)
        yield opened
    finally:
        opened.close()
