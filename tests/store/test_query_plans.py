"""Every hot-path query uses an index: its cost does not grow with instances, timers or history.

Each named query is explained (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN with
sequential scans disabled, so that only a query no index serves still shows one, both with the
parameters given and as the generic plan the store's connections use) and may not scan a
whole table (no sequential scan, no index scan without an index condition), unless it is an
admin query listed in ALLOWED_SCANS.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Callable

import psycopg
import psycopg.sql
import pytest

from statewright.store.sql_store import LIST_FILTERS, list_instances_sql
from statewright.store.url import parse_postgres_url, parse_sqlite_url

#: Admin and schema queries that may read a whole (small or admin-only) table.
ALLOWED_SCANS = {
    "list_definitions", "count_instances", "schema_version", "schema_table_exists",
    # The workers table holds one row per worker process: small, read whole.
    "live_workers", "forget_workers",
    # Tokens are listed by an admin command (a few rows per tenant).
    "list_tokens",
    # PostgreSQL's counts per state fold the changes appended since the last fold into
    # state_counts (a few rows per definition, version, state and status).
    "fold_state_counts", "drop_empty_state_counts",
}  # fmt: skip
_INTEGER_PARAMS = {
    "version", "expected_version", "definition_version", "due_at", "created_seq", "limit",
    "count", "after_seq", "at", "created_at", "started_version", "applied_at", "seq",
    "attempts", "now", "next_attempt_at", "lease_until", "tick_at", "work_count", "step_count",
    "attempt", "started_at", "ended_at", "pid", "heartbeat_at", "before", "alive_after",
    "timer_count", "write_count", "consumed_step_count", "consumed_timer_count",
    "response_status", "payloads", "revoked_at", "stale_before", "after", "through",
    "expires_at", "dead_seq", "held_until", "recorded_attempts", "next_attempts", "started",
    "state_version", "cap", "claims", "since",
}  # fmt: skip
#: Parameters that are arrays (PostgreSQL's batched lookups).
_ARRAY_PARAMS = {"tenants", "ids", "srcs"}
#: The one-statement writes': a flag and lists of rows as JSON.
_OTHER_PARAMS: dict[str, object] = {
    "latest_definition": True,
    "writes": '[{"tenant": "t", "id": "i", "expected_version": 1, "deleted_steps": ["s"]}]',
    "consumed_steps": '[{"tenant": "t", "instance_id": "i", "invoke_id": "s"}]',
    "consumed_timers": '[{"tenant": "t", "instance_id": "i", "timer_id": "x"}]',
    "timers": '[["t", 1, "{}"]]',
    "steps": '[["s", "src", "{}", "state", "key", null]]',
    "messages": '[["m", "{}"]]',
    "srcs_json": '["x"]',
    "tried": '["x"]',
    "pending": "{3/10,4/11}",
}
_TABLES = (
    "instances", "definitions", "audit", "timers", "steps", "outbox", "idempotency",
    "step_attempts", "workers", "tokens", "http_requests", "sessions",
)  # fmt: skip


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


def _with_operations(store: type) -> dict[str, str]:
    """A backend's queries and its operations.sql, `count_by_state` for one tenant."""
    queries = dict(store.queries)
    operations = dict(store.operations)
    operations["count_by_state"] = operations["count_by_state"].format(
        where=queries["filter_tenant"]
    )
    return {**queries, **operations}


#: An array of one element for each element type of an array parameter (`%(name)b::type[]`,
#: commit_quiet_group's columns).
_ARRAY_ELEMENTS: dict[str, object] = {"text": "x", "integer": 1, "bigint": 1, "boolean": True}


def _params(sql: str, style: str) -> dict[str, object]:
    if style == "sqlite":
        return {name: _param(name) for name in re.findall(r":(\w+)", sql)}
    params = {name: _param(name) for name in re.findall(r"%\((\w+)\)[sb]", sql)}
    for name, element in re.findall(r"%\((\w+)\)[sb]::(\w+)\[\]", sql):
        params[name] = [_ARRAY_ELEMENTS[element]]
    return params


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
        for name, sql in _statements(
            {
                **_with_operations(SqliteStore),
                **SqliteStore.token_queries,
                **SqliteStore.stream_queries,
            }
        ).items():
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
        queries = {
            **_with_operations(PostgresStore),
            **PostgresStore.fast_paths,
            **PostgresStore.token_queries,
            **PostgresStore.stream_queries,
        }
        for name, sql in _statements(queries).items():
            rows = connection.execute(f"EXPLAIN {sql}", _params(sql, "postgres")).fetchall()  # type: ignore[arg-type]
            plan = [str(row[0]) for row in rows]
            bad = _full_scans(plan)
            if bad and not _may_scan(name):
                scans[name] = plan
            connection.rollback()  # EXPLAIN of a write plans it without running it
            connection.execute("SET enable_seqscan = off")  # the rollback undid it
    return scans


def _details(plan: list[str], index: int) -> list[str]:
    """The detail lines (conditions, filters) of the plan node on line `index`."""
    line = plan[index]
    depth = len(line) - len(line.lstrip(" ->"))
    details = []
    for detail in plan[index + 1 :]:
        if "->" in detail or len(detail) - len(detail.lstrip()) <= depth:
            break
        details.append(detail)
    return details


def _full_scans(plan: list[str]) -> list[str]:
    """The plan's scans that read a whole table: a sequential scan, or (sequential scans
    being disabled) an index scan with no `Index Cond` among its details."""
    tables = "|".join(_TABLES)
    found = []
    for index, line in enumerate(plan):
        if re.search(rf"Seq Scan on ({tables})\b", line) or (
            re.search(rf"Index (Only )?Scan (Backward )?using \w+ on ({tables})\b", line)
            and not any("Index Cond:" in detail for detail in _details(plan, index))
        ):
            found.append(line)
    return found


def test_hot_path_queries_never_scan_a_whole_table(store_url: str) -> None:
    if store_url.startswith("sqlite"):
        scans = _sqlite_scans(store_url)
    else:
        generic = _postgres_generic_scans(store_url)
        scans = {**_postgres_scans(store_url), **{f"{k} (generic)": v for k, v in generic.items()}}
    assert scans == {}


def _numbered(names: list[str]) -> Callable[[re.Match[str]], str]:
    """Replaces `%(name)s` and `%(name)b` with `$n`, n its place in `names` (PREPARE's
    parameters)."""
    return lambda match: f"${names.index(match[1]) + 1}"


def _postgres_generic_scans(url: str) -> dict[str, list[str]]:
    """As `_postgres_scans`, for the plans the store's connections run: statements prepared
    (psycopg prepares those run often) and planned once for all parameters
    (`plan_cache_mode = force_generic_plan`, see postgres/store.py)."""
    from statewright.store.postgres import PostgresStore

    scans: dict[str, list[str]] = {}
    conninfo = parse_postgres_url(url).conninfo
    with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None) as connection:
        connection.execute("SET plan_cache_mode = force_generic_plan")
        connection.execute("SET enable_seqscan = off")
        queries = {
            **_with_operations(PostgresStore),
            **PostgresStore.fast_paths,
            **PostgresStore.token_queries,
            **PostgresStore.stream_queries,
        }
        for name, sql in _statements(queries).items():
            names = list(dict.fromkeys(re.findall(r"%\((\w+)\)[sb]", sql)))
            numbered = re.sub(r"%\((\w+)\)[sb]", _numbered(names), sql)
            values = _params(sql, "postgres")
            arguments = ", ".join(
                psycopg.sql.Literal(values[n]).as_string(connection) for n in names
            )
            connection.execute(f"PREPARE generic AS {numbered}")  # type: ignore[arg-type]
            try:
                with connection.transaction(force_rollback=True):
                    execute = f"EXECUTE generic({arguments})" if names else "EXECUTE generic"
                    rows = connection.execute(f"EXPLAIN {execute}").fetchall()  # type: ignore[arg-type]
            finally:
                connection.execute("DEALLOCATE generic")
            plan = [str(row[0]) for row in rows]
            if _full_scans(plan) and not _may_scan(name):
                scans[name] = plan
    return scans


@pytest.mark.parametrize("name", sorted(ALLOWED_SCANS))
def test_allowed_scans_name_real_queries(name: str) -> None:
    from statewright.store.postgres import PostgresStore
    from statewright.store.sqlite import SqliteStore

    named = {**SqliteStore.queries, **SqliteStore.token_queries, **PostgresStore.operations}
    assert name in named


#: Queries that look at one instance's work rows: each must search them by the instance's
#: key, never through an index of every instance's rows in some status.
_PER_INSTANCE_PROBES = ("update_instance_quiet", "compute_runtime_status")


@pytest.mark.parametrize("name", _PER_INSTANCE_PROBES)
def test_a_runtime_status_probe_searches_only_its_instances_rows(store_url: str, name: str) -> None:
    """An index leading with `status` (steps_due) also serves `tenant = ? AND instance_id = ?
    AND status = 'retrying'`, and SQLite without statistics, or PostgreSQL's generic plan,
    may take it: every send would then walk every retrying step of the store."""
    if store_url.startswith("sqlite"):
        from statewright.store.sqlite import SqliteStore

        sql = SqliteStore.queries[name]
        connection = sqlite3.connect(parse_sqlite_url(store_url).path)
        try:
            plan = [
                row[3]
                for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", _params(sql, "sqlite"))
            ]
        finally:
            connection.close()
        searches = [line for line in plan if re.match(r"SEARCH (steps|timers)\b", line)]
        assert searches, plan
        assert all("(tenant=? AND instance_id=?)" in line for line in searches), plan
        return
    plan = _postgres_generic_plan(store_url, name)
    probes = [line for line in plan if re.search(r" on (steps|timers)\b", line)]
    assert probes, plan
    assert all(re.search(r"using (steps|timers)_pkey on", line) for line in probes), plan


def test_a_quiet_groups_runtime_status_probe_searches_only_its_instances_rows(
    store_url: str,
) -> None:
    """commit_quiet_group (PostgreSQL's) probes each instance's work rows by its key, as
    update_instance_quiet does."""
    if store_url.startswith("sqlite"):
        pytest.skip("commit_quiet_group is PostgreSQL's; SQLite's group runs the quiet update")
    plan = _postgres_generic_plan(store_url, "commit_quiet_group")
    probes = [line for line in plan if re.search(r" on (steps|timers)\b", line)]
    assert probes, plan
    assert all(re.search(r"using (steps|timers)_pkey on", line) for line in probes), plan


#: The writes of a send on PostgreSQL: each finds its instance row by its key alone.
_SEND_WRITES = (
    "update_instance_quiet",
    "update_instance_quiet_same_value",
    "update_instance_kept",
    "commit_quiet_transition",
    "commit_quiet_same_value",
    "commit_quiet_group",
)


@pytest.mark.parametrize("empty_store_url", ["postgres"], indirect=True)  # its generic plans
@pytest.mark.parametrize("name", _SEND_WRITES)
def test_a_sends_write_finds_its_instance_by_its_key_alone(store_url: str, name: str) -> None:
    """The operators' lists have indexes leading with the definition, status and runtime
    status; a send's update checks those columns too, and with `=` the generic plan searched
    such an index by them, computing the runtime status first, for a tenth more per send."""
    plan = _postgres_generic_plan(store_url, name)
    reads = [i for i, line in enumerate(plan) if re.search(r"Scan .* on instances\b", line)]
    assert reads, plan
    for index in reads:  # by the key alone, whichever index holds it (the planner's choice)
        conditions = [d.strip() for d in _details(plan, index) if "Index Cond" in d]
        assert len(conditions) == 1, plan
        assert re.findall(r"\((\w+) = ", conditions[0]) == ["tenant", "id"], plan


def _postgres_generic_plan(url: str, name: str, sql: str | None = None) -> list[str]:
    """The generic plan of one named query (or of `sql`), as the store's connections run it."""
    from statewright.store.postgres import PostgresStore

    if sql is None:
        sql = {**PostgresStore.queries, **PostgresStore.fast_paths}[name]
    conninfo = parse_postgres_url(url).conninfo
    with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None) as connection:
        connection.execute("SET plan_cache_mode = force_generic_plan")
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)[sb]", sql)))
        numbered = re.sub(r"%\((\w+)\)[sb]", _numbered(names), sql)
        values = _params(sql, "postgres")
        arguments = ", ".join(psycopg.sql.Literal(values[n]).as_string(connection) for n in names)
        connection.execute(f"PREPARE generic AS {numbered}")  # type: ignore[arg-type]
        try:
            with connection.transaction(force_rollback=True):
                rows = connection.execute(f"EXPLAIN EXECUTE generic({arguments})").fetchall()  # type: ignore[arg-type]
        finally:
            connection.execute("DEALLOCATE generic")
    return [str(row[0]) for row in rows]


def test_an_id_prefix_is_a_range_of_the_primary_key(store_url: str) -> None:
    """A tenant's instances by id prefix (`id >= prefix AND id < end`) are one range of the
    primary key (tenant, id): never a scan of the tenant's instances, as a LIKE would be."""
    filters = ("tenant", "id_from", "id_below", "after_id")
    if store_url.startswith("sqlite"):
        from statewright.store.sqlite import SqliteStore

        connection = sqlite3.connect(parse_sqlite_url(store_url).path)
        try:
            sql = list_instances_sql(SqliteStore.queries, filters)
            rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}", _params(sql, "sqlite"))
            plan = [row[3] for row in rows]
        finally:
            connection.close()
        assert plan == ["SEARCH instances USING INDEX sqlite_autoindex_instances_1 "
                        "(tenant=? AND id>? AND id<?)"], plan  # fmt: skip
        return
    from statewright.store.postgres import PostgresStore

    sql = list_instances_sql(PostgresStore.queries, filters)
    plan = _postgres_generic_plan(store_url, "list_by_prefix", sql)
    (scan,) = [line for line in plan if " on instances" in line]
    assert "using instances_pkey" in scan, plan
    (condition,) = [line for line in plan if "Index Cond:" in line]
    assert ">= $2" in condition and "< $3" in condition, plan


def _sqlite_plan(url: str, sql: str) -> list[str]:
    connection = sqlite3.connect(parse_sqlite_url(url).path)
    try:
        return [
            row[3]
            for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", _params(sql, "sqlite"))
        ]
    finally:
        connection.close()


#: Per operators' list: the index it reads and (SQLite) the search it makes. A page is the
#: next entries of one index range after the last key seen: never every row in a status
#: sorted first, nor every row before the last key tested.
_LIST_SEARCHES = {
    "list_pending_outbox": ("outbox_by_tenant_status", "(tenant=? AND status=? AND message_id>?)"),
    "list_dead_letters": ("outbox_by_tenant_status", "(tenant=? AND status=? AND message_id>?)"),
    "list_instance_dead_letters": ("outbox_by_instance", "(tenant=? AND instance_id=?)"),
    "list_steps": ("steps_pkey", "(tenant=? AND (instance_id,invoke_id)>(?,?))"),
    "list_instance_steps": ("steps_pkey", "(tenant=? AND instance_id=? AND invoke_id>?)"),
    "list_timers": ("timers_pkey", "(tenant=? AND (instance_id,timer_id)>(?,?))"),
    "list_instance_timers": ("timers_pkey", "(tenant=? AND instance_id=? AND timer_id>?)"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_LIST_SEARCHES))
def test_a_page_of_an_operators_list_is_one_range_of_its_index(store_url: str, name: str) -> None:
    """The outbox's pending messages and dead letters, by message id, read the index of the
    tenant's messages in that status (before it, the whole status was read and sorted: 300 ms
    for the first page of 650,000 pending messages); a later page of any of these lists starts
    its index range at the last key (an "IS NULL OR" bound read every row before it)."""
    index, search = _LIST_SEARCHES[name]
    if store_url.startswith("sqlite"):
        from statewright.store.sqlite import SqliteStore

        plan = _sqlite_plan(store_url, SqliteStore.operations[name])
        searches = [line for line in plan if line.startswith("SEARCH")]
        assert len(searches) == 1 and searches[0].endswith(search), plan
        assert index.removesuffix("_pkey") in searches[0] or "autoindex" in searches[0], plan
        if name.startswith("list_instance_"):
            return  # one instance's few rows may be sorted
        assert not any("TEMP B-TREE" in line for line in plan), plan
        return
    from statewright.store.postgres import PostgresStore

    sql = PostgresStore.operations[name]
    plan = _postgres_generic_plan(store_url, name, sql)
    assert any(f"using {index} on" in line for line in plan), plan
    if name != "list_instance_dead_letters":  # (one instance's few messages are sorted)
        conditions = " ".join(line for line in plan if "Index Cond:" in line)
        assert ">" in conditions, plan
    if not name.startswith("list_instance_"):
        assert not any(line.lstrip(" ->").startswith("Sort") for line in plan), plan


@pytest.mark.parametrize("column", ["status", "runtime_status"])
def test_a_list_by_definition_and_status_is_one_range_of_an_index(
    store_url: str, column: str
) -> None:
    """Instances of one definition in one status (or runtime status) are one range of an
    index of both, in id order: a filter of the two columns read every instance of the one
    the plan took to find the few of both (520 ms at 1M instances for a combination none
    is in)."""
    filters = ("tenant", "definition_id", column, "after_id")
    index = f"instances_by_definition_{column}"
    if store_url.startswith("sqlite"):
        from statewright.store.sqlite import SqliteStore

        plan = _sqlite_plan(store_url, list_instances_sql(SqliteStore.queries, filters))
        search = f"(tenant=? AND definition_id=? AND {column}=? AND id>?)"
        assert plan == [f"SEARCH instances USING INDEX {index} {search}"], plan
        return
    from statewright.store.postgres import PostgresStore

    sql = list_instances_sql(PostgresStore.queries, filters)
    plan = _postgres_generic_plan(store_url, "list_by_definition_and_status", sql)
    assert any(f"using {index} on" in line for line in plan), plan
