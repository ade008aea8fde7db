"""A new PostgreSQL database's tables grow before the server first analyzes them: the store's
connections must not keep a plan made while a table was nearly empty (plan_choice.py).

Autovacuum is turned off for the test's tables, so that nothing analyzes them unless the
test does; the counts of index scans are the server's own (`pg_stat_user_indexes`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from statewright import Machine
from statewright.engine import Engine, StartRequest
from statewright.store.postgres import plan_choice
from statewright.testing.postgres import create_schema, drop_schema

COUNTER = {
    "id": "counter",
    "initial": "counting",
    "context": {"count": 0},
    "states": {"counting": {"on": {"INC": {"actions": "increment"}}}},
}
STARTS = 3000
SENDS = 300


@pytest.fixture
def schema_url(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A migrated schema of its own whose tables autovacuum leaves alone: (name, URL)."""
    name = f"plans_{time.time_ns()}"
    url = create_schema(postgres_url, name)
    Engine.open(url).close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (name,)
        ).fetchall()
        for (table,) in tables:
            connection.execute(f'ALTER TABLE "{name}"."{table}" SET (autovacuum_enabled = false)')
    yield name, url
    drop_schema(postgres_url, name)


def _engine(url: str) -> Engine:
    engine = Engine.open(url)
    machine = Machine.from_config(COUNTER).provide(
        actions={"increment": lambda context, event: {"count": context["count"] + 1}}
    )
    engine.register(machine)
    return engine


def _scans_of_list_indexes(postgres_url: str, schema: str) -> int:
    """Index scans of `instances` by any index but its primary key, once the engine's
    backends have ended and reported their counts (they report on exit)."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        last = -1
        for _ in range(100):
            connection.execute("SELECT pg_stat_clear_snapshot()")
            row = connection.execute(
                "SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes "
                "WHERE schemaname = %s AND relname = 'instances' "
                "AND indexrelname <> 'instances_pkey'",
                (schema,),
            ).fetchone()
            assert row is not None
            if int(row[0]) == last:
                return last
            last = int(row[0])
            time.sleep(0.3)
    return last


def _run(engine: Engine) -> None:
    ids: list[str] = []
    for _ in range(STARTS // 100):
        for started in engine.start_many([StartRequest("counter") for _ in range(100)]):
            assert not isinstance(started, BaseException)
            ids.append(started.id)
    for index in range(SENDS):
        engine.send(ids[index * 7 % len(ids)], {"type": "INC"})


@pytest.mark.parametrize("role", ["owner", "not the owner"])
def test_lookups_by_key_keep_to_the_primary_key_while_instances_grow_unanalyzed(
    postgres_url: str,
    schema_url: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    role: str,
) -> None:
    """The owner's store analyzes the grown tables; another role's plans each run."""
    monkeypatch.setattr(plan_choice, "LOOK_EVERY_S", 0.05)
    schema, url = schema_url
    if role != "owner":
        url = request.getfixturevalue("other_role_url")
    engine = _engine(url)
    try:
        _run(engine)
    finally:
        engine.close()
    # A generic plan made while the table was nearly empty scans a list index on `tenant`
    # for each lookup by key (two per start: 6,000 here), each reading all of the tenant's
    # instances. Only the first few hundred starts, while the table is within the
    # planner's ten pages, may do so (600-1,000 here).
    scans = _scans_of_list_indexes(postgres_url, schema)
    assert scans < STARTS // 2, f"{scans} lookups by key scanned a list index of instances"


def _modes(engine: Engine, count: int) -> set[str]:
    """plan_cache_mode of `count` connections handed out by the store's pool at once."""
    pool: Any = engine.store._pool  # type: ignore[attr-defined]
    taken = [pool.getconn() for _ in range(count)]
    try:
        return {str(c.execute("SHOW plan_cache_mode").fetchone()[0]) for c in taken}
    finally:
        for connection in taken:
            pool.putconn(connection)


def _unanalyzed(postgres_url: str, schema: str) -> set[str]:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND c.reltuples < 0",
            (schema,),
        ).fetchall()
    return {str(name) for (name,) in rows}


def test_the_store_analyzes_a_table_that_grew_unanalyzed_and_keeps_generic_plans(
    postgres_url: str, schema_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan_choice, "LOOK_EVERY_S", 0.0)
    schema, url = schema_url
    engine = _engine(url)
    try:
        assert _modes(engine, 3) == {"force_generic_plan"}  # small tables: plan once
        assert "instances" in _unanalyzed(postgres_url, schema)
        _run(engine)
        assert _modes(engine, 3) == {"force_generic_plan"}
    finally:
        engine.close()
    # Those that grew past ten pages were analyzed; the small ones were left to autovacuum.
    left = _unanalyzed(postgres_url, schema)
    assert not {"instances", "audit", "instance_states"} & left
    assert {"outbox", "steps", "timers"} <= left


@pytest.fixture
def other_role_url(postgres_url: str, schema_url: tuple[str, str]) -> Iterator[str]:
    """`schema_url`'s URL for a role that may read and write the tables but does not own
    them (so its ANALYZE skips them)."""
    schema, url = schema_url
    role = f"plans_user_{time.time_ns()}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{role}" LOGIN')
        connection.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        connection.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
        connection.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"')
    parts = urlsplit(url)
    netloc = f"{role}@{parts.hostname}:{parts.port}"
    yield urlunsplit(parts._replace(netloc=netloc))
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'DROP OWNED BY "{role}"')
        connection.execute(f'DROP ROLE "{role}"')


def test_a_role_that_cannot_analyze_plans_each_run_until_the_tables_are_analyzed(
    postgres_url: str,
    schema_url: tuple[str, str],
    other_role_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plan_choice, "LOOK_EVERY_S", 0.0)
    schema, _ = schema_url
    engine = _engine(other_role_url)
    try:
        _run(engine)
        assert "instances" in _unanalyzed(postgres_url, schema)
        assert _modes(engine, 3) == {"force_custom_plan"}
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f'ANALYZE "{schema}".instances')
            assert _modes(engine, 3) == {"force_custom_plan"}  # others grew too
            for table in _unanalyzed(postgres_url, schema):
                connection.execute(f'ANALYZE "{schema}"."{table}"')
        assert _modes(engine, 3) == {"force_generic_plan"}
        assert engine.store._plans._settled  # type: ignore[attr-defined]
    finally:
        engine.close()
