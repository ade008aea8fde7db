"""A time-partitioned audit table on PostgreSQL (`store/partitions.py` says what and why),
over `partitioning.sql`. A mixin of `PostgresStore`.

Locks, for the operator:

- converting (`partition_audit`) holds EXCLUSIVE on `audit` for the whole move, one
  transaction: sends and starts wait for it (reads go on until the old table is dropped at
  the end, then wait for the commit). The benchmark in `benchmarks/prune.py` reports its
  seconds per million rows;
- adding a range (`add_audit_partitions`) takes ACCESS EXCLUSIVE on `audit` for the
  moment it takes to check the DEFAULT partition (empty, normally); at most 1 s of waiting
  (`lock_timeout`), else the range is left for the next call. While it waits, new writers
  of `audit` queue behind it: a send may wait up to that second if a long transaction holds
  the table;
- dropping a partition (`drop_audit_partition`) first takes SHARE UPDATE EXCLUSIVE on the
  partition alone (no writer of the engine's needs more than a read of an old partition;
  it waits up to 10 s, so that PostgreSQL cancels an autovacuum of the partition, which it
  does after `deadlock_timeout`), then deletes its instances and their other rows under row
  locks (sends to other instances go on), then detaches and drops it under ACCESS EXCLUSIVE
  on `audit`, held to the commit, milliseconds later; at most 1 s of waiting for that one
  (new writers queue behind it meanwhile), else nothing is changed and the partition is
  kept for a later run.

Besides `prune`, a worker's heartbeat adds the ranges missing ahead, once an hour per
process (`maintain_audit_partitions`), so that a store pruned rarely still has them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import ClassVar

import psycopg
from psycopg.rows import dict_row

from statewright.errors import ConfigError, StatewrightError
from statewright.store.partitions import (
    DEFAULT_AHEAD,
    MAX_PARTITIONS,
    AuditPartition,
    Interval,
    PartitionDrop,
    Partitioned,
    PartitionTotals,
    check_interval,
    partition_name,
    range_containing,
    ranges_between,
)
from statewright.store.postgres.outage_pool import OutagePool
from statewright.store.transaction import Row

__all__ = ["MAINTAIN_EVERY_S", "AuditPartitions"]

log = logging.getLogger("statewright.store")

#: How often a process's heartbeat adds the audit ranges missing ahead, at most.
MAINTAIN_EVERY_S = 3600.0

_NOTE = re.compile(r"^statewright: partitioned by (?P<interval>[a-z]+)$")
_BOUND = re.compile(r"^FOR VALUES FROM \('?(?P<low>-?\d+)'?\) TO \('?(?P<high>-?\d+)'?\)$")
_NAME = re.compile(r"^audit_p\d{8}$")
#: The rows of a dropped partition's instances, as a row-wise removal counts them.
_REMOVED = ("instances", "audit", "timers", "steps", "outbox", "step_attempts", "idempotency")


class AuditPartitions:
    """The partitioned audit table's operations (see the module docstring)."""

    partition_queries: ClassVar[Mapping[str, str]]
    display_url: str
    #: When this process last added the ranges ahead (`time.monotonic()`).
    _partitions_maintained: float = -MAINTAIN_EVERY_S
    _pool: OutagePool

    def _errors(self, what: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def audit_partitioning(self) -> tuple[Interval, list[AuditPartition]] | None:
        """The interval and the range partitions, oldest first; None if not partitioned."""
        with self._cursor("reading the audit table's partitions") as cursor:
            return _partitioning(cursor, self.partition_queries)

    def partition_audit(self, interval: Interval, *, now: int, ahead: int) -> Partitioned:
        """Partition the audit table by `interval` (see `AuditPartitionStore`)."""
        interval = check_interval(interval)
        queries = self.partition_queries
        with self._cursor("partitioning the audit table") as cursor:
            found = _partitioning(cursor, queries)
        if found is not None:
            if found[0] != interval:
                raise ConfigError(
                    f"the audit table of {self.display_url} is partitioned by {found[0]} "
                    f"already; run again with --interval {found[0]} (an interval cannot be "
                    "changed in place)"
                )
            added = self.add_audit_partitions(now=now, ahead=ahead)
            return Partitioned(interval=interval, created=tuple(added), moved_rows=0, already=True)
        with self._cursor("partitioning the audit table", transaction=True) as cursor:
            cursor.execute(queries["partition_lock"])
            if _partitioning(cursor, queries) is not None:  # another process did it meanwhile
                return Partitioned(interval=interval, created=(), moved_rows=0, already=True)
            cursor.execute(queries["partition_index_instances"])
            oldest = cursor.execute(queries["partition_oldest"]).fetchone()
            first = now if oldest is None or oldest["oldest"] is None else oldest["oldest"]
            ranges = _ranges(interval, min(first, now), now, ahead, self.display_url)
            cursor.execute(queries["partition_create_table"])
            cursor.execute(queries["partition_create_default"])
            names = []
            for low, high in ranges:
                names.append(partition_name(low))
                cursor.execute(_ddl(queries["partition_create_new_range"], names[-1], low, high))
            before = cursor.execute(queries["partition_count_rows"]).fetchone()
            cursor.execute(queries["partition_move_rows"])
            moved = cursor.rowcount
            if before is None or int(before["count"]) != moved:  # pragma: no cover - FK
                raise ConfigError(
                    f"the audit table of {self.display_url} holds rows of no instance; "
                    "run statewright verify, then again"
                )
            cursor.execute(queries["partition_carry_sequence"])
            cursor.execute(queries["partition_swap"], prepare=False)
            cursor.execute(queries["partition_note"].replace("{interval}", interval))
        with self._cursor("analyzing the partitioned audit table") as cursor:
            cursor.execute(queries["partition_analyze"])
        return Partitioned(interval=interval, created=tuple(names), moved_rows=moved, already=False)

    def add_audit_partitions(self, *, now: int, ahead: int) -> list[str]:
        """Add the missing ranges up to `ahead` past `now`'s (see `AuditPartitionStore`)."""
        found = self.audit_partitioning()
        if found is None:
            return []
        interval, partitions = found
        have = {partition.low for partition in partitions}
        start = partitions[-1].high if partitions else now
        added = []
        for low, high in _ranges(interval, min(start, now), now, ahead, self.display_url):
            if low in have or (partitions and low < partitions[-1].high):
                continue
            template = self.partition_queries["partition_create_range"]
            sql = _ddl(template, partition_name(low), low, high)
            try:
                with self._cursor("adding an audit partition", transaction=True) as cursor:
                    cursor.execute(self.partition_queries["partition_lock_timeout"])
                    cursor.execute(sql)
            except _Skipped:
                continue  # the DEFAULT partition has rows of it, or a long lock: next time
            added.append(partition_name(low))
        return added

    def maintain_audit_partitions(self) -> None:
        """Add the ranges missing ahead of the wall clock, at most once per
        `MAINTAIN_EVERY_S` in this process (a worker's heartbeat calls it); a failure is
        logged, never raised: the next prune run or heartbeat tries again."""
        now = time.monotonic()
        if now - self._partitions_maintained < MAINTAIN_EVERY_S:
            return
        self._partitions_maintained = now
        try:
            added = self.add_audit_partitions(now=time.time_ns() // 1_000_000, ahead=DEFAULT_AHEAD)
        except StatewrightError as error:  # unreachable, or too many ranges to add
            log.warning("audit partitions not added ahead: %s", error)
            return
        if added:  # routine housekeeping: a worker's log shows it at DEBUG only
            log.debug("added audit partitions ahead: %s", ", ".join(added))

    def audit_partition_totals(self, partition: AuditPartition, before: int) -> PartitionTotals:
        """The instances created in the partition's range (see `AuditPartitionStore`)."""
        params = {"low": partition.low, "high": partition.high, "before": before}
        with self._cursor(f"reading the instances of {partition.name}") as cursor:
            row = cursor.execute(self.partition_queries["partition_totals"], params).fetchone()
        assert row is not None  # an aggregate has one row
        return PartitionTotals(
            instances=int(row["instances"]),
            blocking=int(row["blocking"]),
            audit_rows=int(row["audit_rows"]),
        )

    def audit_partition_keys(
        self, partition: AuditPartition, *, after: tuple[str, str], limit: int
    ) -> list[tuple[str, str]]:
        """Keys of the range's instances after `after` (see `AuditPartitionStore`)."""
        params = {
            "low": partition.low,
            "high": partition.high,
            "after_tenant": after[0],
            "after_id": after[1],
            "limit": limit,
        }
        with self._cursor(f"reading the instances of {partition.name}") as cursor:
            rows = cursor.execute(self.partition_queries["partition_keys"], params).fetchall()
        return [(str(row["tenant"]), str(row["id"])) for row in rows]

    def drop_audit_partition(self, partition: AuditPartition, *, before: int) -> PartitionDrop:
        """Remove the range's instances and drop the partition, in one transaction, or
        nothing (see `AuditPartitionStore`)."""
        if not _NAME.match(partition.name):
            raise ConfigError(f"{partition.name!r} is not an audit range partition")
        queries = self.partition_queries
        params = {"low": partition.low, "high": partition.high, "before": before}
        try:
            with self._cursor(f"dropping {partition.name}", transaction=True) as cursor:
                cursor.execute(queries["partition_hold_timeout"])
                cursor.execute(_ddl(queries["partition_hold"], partition.name))
                counted = cursor.execute(queries["partition_remove_instances"], params).fetchone()
                _check_empty(cursor, queries, params, "not finished before the cutoff")
                cursor.execute(queries["partition_lock_timeout"])  # sends queue behind it
                cursor.execute(_ddl(queries["partition_detach"], partition.name))
                # Under the table's lock now: no writer of audit is in flight. A start that
                # committed since the delete would be left without its history: check again.
                _check_empty(cursor, queries, params, "started meanwhile")
                cursor.execute(_ddl(queries["partition_drop"], partition.name))
        except _Kept as kept:
            return PartitionDrop(removed={}, kept=str(kept))
        except _Skipped:
            return PartitionDrop(
                removed={},
                kept="a lock on the audit table or the partition not had in time",
                locked=True,
            )
        assert counted is not None  # an aggregate has one row
        return PartitionDrop(removed={table: int(counted[table]) for table in _REMOVED})

    @contextmanager
    def _cursor(self, what: str, *, transaction: bool = False) -> Iterator[psycopg.Cursor[Row]]:
        """A cursor on a pooled connection, in a transaction block if asked; a lock not had
        in time (`lock_timeout`) or a range the DEFAULT partition has rows of is `_Skipped`."""
        with self._errors(what), self._pool.connection() as connection:
            try:
                if transaction:
                    with connection.transaction(), connection.cursor(row_factory=dict_row) as cur:
                        yield cur
                else:
                    with connection.cursor(row_factory=dict_row) as cur:
                        yield cur
            except (psycopg.errors.LockNotAvailable, psycopg.errors.CheckViolation) as error:
                raise _Skipped from error


class _Kept(Exception):
    """Instances of the range are left: the partition is kept (the message says why)."""


class _Skipped(Exception):
    """A lock not had in time, or a range the DEFAULT partition holds rows of."""


def _check_empty(
    cursor: psycopg.Cursor[Row], queries: Mapping[str, str], params: dict[str, int], why: str
) -> None:
    row = cursor.execute(queries["partition_left"], params).fetchone()
    left = 0 if row is None else int(row["remaining"])
    if left:
        raise _Kept(f"{left} instance{'s' if left > 1 else ''} created in its range {why}")


def _partitioning(
    cursor: psycopg.Cursor[Row], queries: Mapping[str, str]
) -> tuple[Interval, list[AuditPartition]] | None:
    row = cursor.execute(queries["audit_partitioning"]).fetchone()
    if row is None or not row["partitioned"]:
        return None
    note = _NOTE.match(str(row["note"] or ""))
    interval = check_interval(note["interval"] if note else "month")
    partitions = []
    for found in cursor.execute(queries["audit_partitions"]).fetchall():
        bound = _BOUND.match(str(found["bound"]))
        if bound is not None:
            low, high = int(bound["low"]), int(bound["high"])
            partitions.append(AuditPartition(name=str(found["name"]), low=low, high=high))
    return interval, sorted(partitions, key=lambda partition: partition.low)


def _ranges(
    interval: Interval, first: int, now: int, ahead: int, url: str
) -> list[tuple[int, int]]:
    """The ranges from `first`'s to `ahead` past `now`'s, at most `MAX_PARTITIONS`."""
    last = range_containing(interval, now)[0]
    for _ in range(max(0, ahead)):
        last = range_containing(interval, range_containing(interval, last)[1])[0]
    ranges = list(ranges_between(interval, first, last))
    if len(ranges) > MAX_PARTITIONS:
        raise ConfigError(
            f"partitioning the audit table of {url} by {interval} would need {len(ranges)} "
            f"partitions (at most {MAX_PARTITIONS}) from its oldest instance on; pick a "
            "longer interval, or prune old history first (statewright prune)"
        )
    return ranges


def _ddl(template: str, partition: str, low: int = 0, high: int = 0) -> str:
    """A DDL statement of `partitioning.sql` for a partition this store names itself."""
    if not _NAME.match(partition):  # pragma: no cover - names come from partition_name
        raise ConfigError(f"{partition!r} is not an audit range partition")
    return (
        template.replace("{partition}", partition)
        .replace("{low}", str(int(low)))
        .replace("{high}", str(int(high)))
    )
