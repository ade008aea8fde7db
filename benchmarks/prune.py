"""History retention's throughput: `Engine.prune` over N finished instances with several
audit rows each, on SQLite (FULL, the default) and PostgreSQL, with and without --archive.

    .venv/bin/python -m benchmarks.prune                  # 2,000 instances, 8 audit rows each
    .venv/bin/python -m benchmarks.prune --size 100000    # the large run
    .venv/bin/python -m benchmarks.prune --no-postgres --audit-rows 20
    .venv/bin/python -m benchmarks.prune --only-partitioned --size 125000  # 1M audit rows

One template instance is driven by the real engine (start, NOTEs, CLOSE: real snapshots and
audit rows, finished 40 days ago); it is copied N times with bulk `INSERT ... SELECT` (the
instance row and its audit rows; the state index and counts follow by trigger), then one
recent instance holds the newest audit row. Each variant prunes a fresh store of its own,
in one call (`finished_before=30 days`, the default batch); the rate is instances (and audit
rows) removed per second of that call. PostgreSQL is a throwaway server started for the run
(statewright.testing.postgres), on the same disk, with its default `synchronous_commit=on`.

On PostgreSQL the same data is also pruned on an audit table partitioned by month
(`Engine.partition_audit`, timed apart: rows moved per second, the seconds per million):
the finished instances' partition is dropped whole, against the row-wise prune above it in
the same run (`--no-partitioned` leaves it out).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from statewright import Engine, Machine
from statewright.testing import VirtualClock

DAY_MS = 86_400_000

TICKET = {
    "id": "ticket",
    "initial": "open",
    "context": {"notes": 0},
    "states": {
        "open": {
            "on": {
                "NOTE": {
                    "actions": [
                        {"type": "assign", "params": {"notes": {"$expr": "context.notes + 1"}}}
                    ]
                },
                "CLOSE": "closed",
            }
        },
        "closed": {"type": "final"},
    },
}


def seed(url: str, size: int, audit_rows: int) -> float:
    """`size` finished instances with `audit_rows` audit rows each; the seconds it took."""
    began = time.perf_counter()
    now = time.time_ns() // 1_000_000
    clock = VirtualClock(now - 40 * DAY_MS)
    with Engine.open(url, clock=clock) as engine:
        engine.register(Machine.from_config(TICKET))
        engine.start("ticket", instance_id="template")
        for _ in range(audit_rows - 2):
            engine.send("template", "NOTE")
        engine.send("template", "CLOSE")
    if url.startswith("sqlite"):
        _copy_sqlite(url.removeprefix("sqlite:///").split("?")[0], size, audit_rows)
    else:
        _copy_postgres(url, size)
    with Engine.open(url) as engine:
        engine.start("ticket", instance_id="recent")  # the newest audit row, not a candidate
    return time.perf_counter() - began


def _copy_sqlite(path: str, size: int, rows: int) -> None:
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    numbers = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :count)"
    new_id = "printf('p-%08d', n.x)"
    db.execute("BEGIN")
    db.execute(
        f"{numbers} INSERT INTO instances SELECT t.tenant, {new_id}, t.definition_id, "
        "t.definition_version, t.version, t.snapshot, t.value, t.status, t.runtime_status, "
        "t.created_at, t.updated_at FROM n, instances AS t WHERE t.id = 'template'",
        {"count": size - 1},
    )
    db.execute(
        f"{numbers} INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, "
        "to_value, status, runtime_status, at, idempotency_key, microsteps, effects, "
        f"stream_seq) SELECT t.tenant, {new_id}, t.seq, t.event, t.actor, t.from_value, "
        "t.to_value, t.status, t.runtime_status, t.at, t.idempotency_key, t.microsteps, "
        f"t.effects, n.x * {rows} + t.seq + 1000000 FROM n, audit AS t "
        "WHERE t.instance_id = 'template'",
        {"count": size - 1},
    )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _copy_postgres(url: str, size: int) -> None:
    import psycopg

    from statewright.store.url import parse_postgres_url

    new_id = "'p-' || lpad(n.x::text, 8, '0')"
    with psycopg.connect(parse_postgres_url(url).conninfo, autocommit=True) as db:
        with db.transaction():
            db.execute(
                f"INSERT INTO instances SELECT t.tenant, {new_id}, t.definition_id, "  # type: ignore[arg-type]
                "t.definition_version, t.version, t.snapshot, t.value, t.status, "
                "t.runtime_status, t.created_at, t.updated_at "
                "FROM generate_series(1, %(count)s) AS n(x), instances AS t "
                "WHERE t.id = 'template'",
                {"count": size - 1},
            )
            db.execute(
                "INSERT INTO audit (tenant, instance_id, seq, event, actor, from_value, "  # type: ignore[arg-type]
                "to_value, status, runtime_status, at, idempotency_key, microsteps, effects, "
                "instance_created_at) "
                f"SELECT t.tenant, {new_id}, t.seq, t.event, t.actor, t.from_value, "
                "t.to_value, t.status, t.runtime_status, t.at, t.idempotency_key, "
                "t.microsteps, t.effects, t.instance_created_at "
                "FROM generate_series(1, %(count)s) AS n(x), "
                "audit AS t WHERE t.instance_id = 'template' ORDER BY n.x, t.seq",
                {"count": size - 1},
            )
        db.execute("VACUUM ANALYZE")


def measure(
    name: str,
    url: str,
    size: int,
    audit_rows: int,
    archive: Path | None,
    *,
    partitioned: bool = False,
) -> None:
    made = seed(url, size, audit_rows)
    converted = ""
    with Engine.open(url) as engine:
        if partitioned:
            began = time.perf_counter()
            moved = engine.partition_audit("month").moved_rows
            seconds = time.perf_counter() - began
            converted = (
                f"; partitioned in {seconds:.1f} s: {moved:,} rows moved, "
                f"{moved / seconds:,.0f} rows/s, {seconds * 1e6 / moved:.1f} s per million"
            )
        report = engine.prune(timedelta(days=30), archive=archive)
        assert report.instances == size, report
        assert engine.store.count_instances() == 1
        assert bool(report.partitions_dropped) == partitioned, report
    archived = ""
    if archive is not None:
        (path,) = report.archive_files
        archived = f" {Path(path).stat().st_size / 1e6:6.1f} MB"
    print(
        f"| {name:<28} | {size:>9,} | {report.audit_rows:>11,} | {report.seconds:8.2f} | "
        f"{report.instances / report.seconds:>11,.0f} | "
        f"{report.audit_rows / report.seconds:>12,.0f} |{archived or ' -':>9} |"
        f"  (seeded in {made:.1f} s{converted})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2000, help="finished instances per run")
    parser.add_argument("--audit-rows", type=int, default=8, help="audit rows per instance")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--only-partitioned",
        action="store_true",
        help="only the partitioned PostgreSQL runs (e.g. to time a conversion of 1M rows)",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--no-partitioned", action="store_true", help="skip the partitioned PostgreSQL runs"
    )
    args = parser.parse_args()
    if args.audit_rows < 2:
        parser.error("--audit-rows must be at least 2 (the start and the CLOSE)")
    print(
        "| store                        | instances | audit rows  |  seconds | instances/s "
        "| audit rows/s | archive  |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|")
    for archived in () if args.no_sqlite or args.only_partitioned else (False, True):
        with tempfile.TemporaryDirectory() as folder:
            archive = Path(folder) / "archive" if archived else None
            label = "SQLite FULL" + (" --archive" if archived else "")
            url = f"sqlite:///{Path(folder) / 'prune.db'}"
            measure(label, url, args.size, args.audit_rows, archive)
    if args.no_postgres:
        return
    from statewright.testing.postgres import TemporaryPostgres

    variants = [] if args.only_partitioned else [(False, False), (False, True)]
    if not args.no_partitioned or args.only_partitioned:
        variants += [(True, False), (True, True)]
    with TemporaryPostgres() as server:
        for number, (partitioned, archived) in enumerate(variants):
            with tempfile.TemporaryDirectory() as folder:
                archive = Path(folder) / "archive" if archived else None
                label = "PostgreSQL" + (" partitioned" if partitioned else "")
                label += " --archive" if archived else ""
                url = server.create_database(f"prune{number}")
                measure(label, url, args.size, args.audit_rows, archive, partitioned=partitioned)


if __name__ == "__main__":
    main()
