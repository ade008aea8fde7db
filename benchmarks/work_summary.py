"""What one read of the metrics' work gauges (`Engine.work_summary`) costs on a large store.

    .venv/bin/python -m benchmarks.work_summary                 # SQLite and PostgreSQL
    .venv/bin/python -m benchmarks.work_summary --no-postgres   # SQLite only
    .venv/bin/python -m benchmarks.work_summary --dead 500000   # a count at its cap

The store gets its rows straight in SQL (the reads never look at instances, so none are
made): a million timers, 1,000 of them overdue; a million outbox messages, 1,000 due,
`--dead` dead letters and the rest delivered; 2,000 step runs, 1,000 due and 1,000 waiting
for a retry; 1,000 rows of counts per state. Reported: the median and the largest of 20
reads, after one untimed read.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time

import psycopg

from statewright.engine import Engine
from statewright.store.url import parse_postgres_url
from statewright.testing.postgres import TemporaryPostgres

NOW = 2_000_000_000_000
ROWS = 1_000_000
DUE = 1_000


class _Fixed:
    def now(self) -> int:
        return NOW


def _rows_sql(dead: int, param: str) -> list[tuple[str, dict[str, int]]]:
    """The inserts, one statement each over a generated series (`param`: the placeholder
    style: ':' for SQLite, '%' for PostgreSQL)."""
    p = (lambda name: f":{name}") if param == ":" else (lambda name: f"%({name})s")
    numbers = "WITH RECURSIVE n(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM n WHERE n < {top}) "
    return [
        (
            numbers.format(top=ROWS - 1)
            + "INSERT INTO timers (tenant, instance_id, timer_id, due_at, event, created_seq) "
            + f"SELECT 't', 'i' || n, 'x', CASE WHEN n >= {p('due')} "
            + f"THEN {p('now')} + 3600000 + n ELSE {p('now')} - 1000 - n END, '{{}}', n FROM n",
            {"due": DUE, "now": NOW},
        ),
        (
            numbers.format(top=ROWS - 1)
            + "INSERT INTO outbox (message_id, tenant, instance_id, version, event, status, "
            + "attempts, created_at, created_seq, next_attempt_at) "
            + f"SELECT 'm' || n, 't', 'i' || n, 1, '{{}}', CASE WHEN n >= {p('due')} + "
            + f"{p('dead')} THEN 'delivered' WHEN n >= {p('due')} THEN 'dead' ELSE 'pending' "
            + f"END, 1, 0, n, {p('now')} - 5000 + n - n / 100 * 100 FROM n",
            {"due": DUE, "dead": dead, "now": NOW},
        ),
        (
            numbers.format(top=2 * DUE - 1)
            + "INSERT INTO steps (tenant, instance_id, invoke_id, src, input, state, "
            + "idempotency_key, started_version, status, created_at, created_seq, "
            + "next_attempt_at) "
            + "SELECT 't', 'i' || n, 'c', 's', '{}', 's', 'k' || n, 1, CASE WHEN n < "
            + f"{p('due')} THEN 'pending' ELSE 'retrying' END, 0, n, CASE WHEN n < {p('due')} "
            + f"THEN {p('now')} - 100 ELSE {p('now')} + 60000 END FROM n",
            {"due": DUE, "now": NOW},
        ),
        (
            numbers.format(top=999)
            + "INSERT INTO state_counts (tenant, definition_id, definition_version, value, "
            + "status, runtime_status, count) "
            + "SELECT 't', 'd', 1, '\"s' || n || '\"', 'active', 'waiting', 1000 FROM n",
            {},
        ),
    ]


def _time(url: str) -> str:
    with Engine.open(url, clock=_Fixed()) as engine:
        engine.work_summary()
        times = []
        for _ in range(20):
            started = time.perf_counter()
            summary = engine.work_summary()
            times.append(time.perf_counter() - started)
    return (
        f"median {statistics.median(times) * 1000:.2f} ms, largest {max(times) * 1000:.2f} ms "
        f"(overdue timers {summary.timers_overdue}, due steps {summary.steps_due}, "
        f"due messages {summary.outbox_due}, dead letters {summary.outbox_dead})"
    )


def sqlite(dead: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/work.db"
        Engine.open(f"sqlite:///{path}").close()
        connection = sqlite3.connect(path)
        with connection:
            for sql, params in _rows_sql(dead, ":"):
                connection.execute(sql, params)
        connection.close()
        return _time(f"sqlite:///{path}")


def postgres(dead: int) -> str:
    with TemporaryPostgres() as server:
        url = server.create_database("work_summary")
        Engine.open(url).close()
        conninfo = parse_postgres_url(url).conninfo
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute("SET session_replication_role = replica")  # no instances
            for sql, params in _rows_sql(dead, "%"):
                connection.execute(sql, params)  # type: ignore[arg-type]
            connection.execute("VACUUM ANALYZE")
        return _time(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dead", type=int, default=DUE, help="dead letters (default 1,000)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    options = parser.parse_args()
    print(f"SQLite:     {sqlite(options.dead)}")
    if not options.no_postgres:
        print(f"PostgreSQL: {postgres(options.dead)}")


if __name__ == "__main__":
    main()
