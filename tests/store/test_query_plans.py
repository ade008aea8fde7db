"""Every hot-path query uses an index: its cost does not grow with instances, timers or history.

Each named query is explained (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN with
sequential scans disabled, so that only a query no index serves still shows one) and may not
scan a whole table, unless it is an admin query listed in ALLOWED_SCANS.
"""

from __future__ import annotations

import itertools
import re
import sqlite3

import psycopg
import pytest

from statewright.store.sql_store import LIST_FILTERS, list_instances_sql
from statewright.store.url import parse_postgres_url, parse_sqlite_url

#: Admin and schema queries that may read a whole (small or admin-only) table.
ALLOWED_SCANS = {"list_definitions", "count_instances", "schema_version", "schema_table_exists"}
_INTEGER_PARAMS = {
    "version", "expected_version", "definition_version", "due_at", "created_seq", "limit",
    "count", "after_seq", "at", "created_at", "started_version", "applied_at", "seq",
    "attempts", "now", "next_attempt_at", "lease_until", "tick_at", "work_count", "step_count",
    "timer_count",
}  # fmt: skip
#: Parameters that are arrays (PostgreSQL's batched lookups).
_ARRAY_PARAMS = {"tenants", "ids"}
#: The one-statement start's: a flag and lists of rows as JSON.
_OTHER_PARAMS: dict[str, object] = {
    "latest_definition": True,
    "timers": '[["t", 1, "{}"]]',
    "steps": '[["s", "src", "{}", "state", "key", null]]',
    "messages": '[["m", "{}"]]',
}
_TABLES = ("instances", "definitions", "audit", "timers", "steps", "outbox", "idempotency")


def _statements(queries: dict[str, str]) -> dict[str, str]:
    """Every query to explain: the named ones, and list_instances per combination of filters."""
    found = {
        name: sql
        for name, sql in queries.items()
        if not name.startswith(("filter_", "lock_", "part_")) and name != "list_instances"
    }
    for size in range(len(LIST_FILTERS) + 1):
        for filters in itertools.combinations(LIST_FILTERS, size):
            name = "list_instances[" + ",".join(filters) + "]"
            found[name] = list_instances_sql(queries, filters)
    return found


def _params(sql: str, style: str) -> dict[str, object]:
    names = re.findall(r":(\w+)" if style == "sqlite" else r"%\((\w+)\)s", sql)
    return {name: _param(name) for name in names}


def _param(name: str) -> object:
    if name in _OTHER_PARAMS:
        return _OTHER_PARAMS[name]
    if name in _INTEGER_PARAMS:
        return 1
    return ["x"] if name in _ARRAY_PARAMS else '"x"'


def _may_scan(name: str) -> bool:
    # Listing every tenant's instances (tenant None) is for admin tools only.
    return name in ALLOWED_SCANS or (name.startswith("list_instances[") and "tenant" not in name)


def _uses_filter_index(name: str, plan: list[str]) -> bool:
    """A tenant's list filtered by definition, status or runtime status searches the index
    that leads with that column, not every instance of the tenant (SQLite plans without
    statistics, so its choice is deterministic; PostgreSQL's on empty tables is not)."""
    if not name.startswith("list_instances[tenant"):
        return True
    filters = name.removeprefix("list_instances[").removesuffix("]").split(",")
    indexed = [f for f in ("definition_id", "status", "runtime_status") if f in filters]
    return not indexed or any(
        re.search(rf"\b{column}=\?", line) for line in plan for column in indexed
    )


def _sqlite_scans(url: str) -> dict[str, list[str]]:
    from statewright.store.sqlite import SqliteStore

    connection = sqlite3.connect(parse_sqlite_url(url).path)
    scans: dict[str, list[str]] = {}
    try:
        for name, sql in _statements(dict(SqliteStore.queries)).items():
            plan = [
                row[3]
                for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", _params(sql, "sqlite"))
            ]
            bad = [
                line for line in plan
                if re.match(rf"SCAN ({'|'.join(_TABLES)})\b", line)
                or (name.startswith("list_instances[tenant") and "TEMP B-TREE" in line)
            ]  # fmt: skip
            if (bad and not _may_scan(name)) or not _uses_filter_index(name, plan):
                scans[name] = plan
    finally:
        connection.close()
    return scans


def _postgres_scans(url: str) -> dict[str, list[str]]:
    from statewright.store.postgres import PostgresStore

    scans: dict[str, list[str]] = {}
    with psycopg.connect(parse_postgres_url(url).conninfo) as connection:
        connection.execute("SET enable_seqscan = off")
        queries = {**PostgresStore.queries, **PostgresStore.fast_paths}
        for name, sql in _statements(queries).items():
            rows = connection.execute(f"EXPLAIN {sql}", _params(sql, "postgres")).fetchall()  # type: ignore[arg-type]
            plan = [str(row[0]) for row in rows]
            bad = [
                line for line in plan if re.search(rf"Seq Scan on ({'|'.join(_TABLES)})\b", line)
            ]
            if bad and not _may_scan(name):
                scans[name] = plan
            connection.rollback()  # EXPLAIN of a write plans it without running it
    return scans


def test_hot_path_queries_never_scan_a_whole_table(store_url: str) -> None:
    scans = (
        _sqlite_scans(store_url) if store_url.startswith("sqlite") else _postgres_scans(store_url)
    )
    assert scans == {}


@pytest.mark.parametrize("name", sorted(ALLOWED_SCANS))
def test_allowed_scans_name_real_queries(name: str) -> None:
    from statewright.store.sqlite import SqliteStore

    assert name in SqliteStore.queries
