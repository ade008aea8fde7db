"""Migrations: every one applied to an empty database yields exactly schema.sql."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from store_catalog import Catalog, postgres_catalog, sqlite_catalog

from statewright.store import SCHEMA_VERSION, open_store
from statewright.store.postgres import PostgresStore
from statewright.store.sql_files import read_sql
from statewright.store.sqlite import SqliteStore
from statewright.testing.postgres import create_schema, drop_schema

#: backend -> (apply schema.sql to an empty database at a URL, read its catalog)
Backend = tuple[Callable[[str], None], Callable[[str], Catalog]]


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _apply_sqlite_schema(url: str) -> None:
    connection = sqlite3.connect(_sqlite_path(url))
    try:
        connection.executescript(read_sql("statewright.store.sqlite", "schema.sql"))
    finally:
        connection.close()


def _apply_postgres_schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(read_sql("statewright.store.postgres", "schema.sql"))  # type: ignore[arg-type]


BACKENDS: dict[str, Backend] = {
    "sqlite": (_apply_sqlite_schema, lambda url: sqlite_catalog(_sqlite_path(url))),
    "postgres": (_apply_postgres_schema, postgres_catalog),
}


@pytest.fixture
def second_empty_url(
    empty_store_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """Another empty database on the same backend as `empty_store_url`."""
    if empty_store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'from_schema.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    yield create_schema(base, schema)
    drop_schema(base, schema)


def _backend(url: str) -> Backend:
    return BACKENDS["sqlite" if url.startswith("sqlite") else "postgres"]


def test_migrations_add_up_to_schema_sql(empty_store_url: str, second_empty_url: str) -> None:
    apply_schema, catalog = _backend(empty_store_url)
    store = open_store(empty_store_url)
    try:
        assert store.migrate() == list(range(1, SCHEMA_VERSION + 1))
    finally:
        store.close()
    apply_schema(second_empty_url)
    migrated, declared = catalog(empty_store_url), catalog(second_empty_url)
    assert len(migrated) > 1
    assert migrated == declared


def test_an_empty_database_is_at_version_zero_and_migrate_is_idempotent(
    empty_store_url: str,
) -> None:
    store = open_store(empty_store_url)
    try:
        assert store.schema_version() == 0
        assert store.migrate() == list(range(1, SCHEMA_VERSION + 1))
        assert store.schema_version() == SCHEMA_VERSION
        assert store.migrate() == []
        assert store.schema_version() == SCHEMA_VERSION
    finally:
        store.close()


def test_two_processes_migrating_at_once_apply_each_migration_once(empty_store_url: str) -> None:
    stores = [open_store(empty_store_url), open_store(empty_store_url)]
    barrier = threading.Barrier(2)
    applied: list[list[int]] = []

    def migrate(index: int) -> None:
        barrier.wait()
        applied.append(stores[index].migrate())

    threads = [threading.Thread(target=migrate, args=(index,)) for index in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for store in stores:
            store.close()
    # Each migration is applied once, by one of the two (they may take turns).
    assert len(applied) == 2
    assert sorted(version for versions in applied for version in versions) == list(
        range(1, SCHEMA_VERSION + 1)
    )


@pytest.mark.parametrize("store_class", [SqliteStore, PostgresStore])
def test_each_backend_ships_migrations_up_to_the_schema_version(
    store_class: type[SqliteStore],
) -> None:
    versions = [migration.version for migration in store_class.migrations]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_both_backends_define_the_same_queries() -> None:
    only_postgres = {"lock_migrations", "lock_definition", "lock_wait_limit", "lock_holders"}
    only_sqlite = {"read_work_seq"}
    assert set(PostgresStore.queries) - set(SqliteStore.queries) == only_postgres
    assert set(SqliteStore.queries) - set(PostgresStore.queries) == only_sqlite


def test_an_operation_on_an_unmigrated_database_says_to_migrate(empty_store_url: str) -> None:
    from statewright.errors import SchemaOutOfDate

    store = open_store(empty_store_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="statewright db migrate"):
            store.load_instance("acme", "order-42")
    finally:
        store.close()
