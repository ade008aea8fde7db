"""A time-partitioned audit table (PostgreSQL only): what the store offers, and the ranges.

The audit table may be turned into one partitioned by `instance_created_at`, the creation
time of the instance each row belongs to (`statewright db partition-audit`). Every row of
one instance then lives in the one partition whose range holds its instance's creation, so
that history retention can drop a partition whole, with its instances, once every instance
created in its range is finished before the cutoff (`engine/partition_pruning.py`), instead
of deleting its rows one by one. A DEFAULT partition takes the rows no range holds (an
instance created before the first range or after the last one made), so that an insert
never fails for want of a partition; it is never dropped.

Ranges are whole days, ISO weeks (from Monday) or calendar months, in UTC, in epoch
milliseconds; a range partition is named after its first day: `audit_p20260101`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, get_args

__all__ = [
    "DEFAULT_AHEAD",
    "MAX_PARTITIONS",
    "AuditPartition",
    "AuditPartitionStore",
    "Interval",
    "PartitionDrop",
    "PartitionTotals",
    "Partitioned",
    "UnpartitionedAudit",
    "check_interval",
    "partition_name",
    "range_containing",
    "ranges_between",
]

#: How long each partition's range is.
Interval = Literal["day", "week", "month"]
#: The ranges made ahead of the current one, so that rows never need one that is missing.
DEFAULT_AHEAD = 3
#: The most range partitions a table may be given (each costs the planner a little on every
#: statement that cannot prune them): pick a longer interval, or prune, beyond it.
MAX_PARTITIONS = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditPartition:
    """One range partition: its table, and the creation times it holds, `low` included,
    `high` excluded (epoch milliseconds)."""

    name: str
    low: int
    high: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Partitioned:
    """What partitioning the audit table did: its interval, the partitions made now, the
    rows moved into them (a table partitioned already moves none) and whether it was
    partitioned already."""

    interval: Interval
    created: tuple[str, ...]
    moved_rows: int
    already: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionTotals:
    """The instances created in a partition's range: how many, and how many of them keep
    it from being dropped (not finished before the cutoff, or with an outbox message not
    delivered), with their audit rows (one per version)."""

    instances: int
    blocking: int
    audit_rows: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionDrop:
    """What dropping a partition did: rows removed per table (`instances`, `audit` and the
    rest, as a row-wise removal counts them), or why nothing was (`kept`; `locked` if only
    for a lock not had in time: worth another try)."""

    removed: dict[str, int]
    kept: str | None = None
    locked: bool = False


class AuditPartitionStore(Protocol):
    """The store operations of a partitioned audit table (the SQLite store refuses them)."""

    def audit_partitioning(self) -> tuple[Interval, list[AuditPartition]] | None:
        """The interval and the range partitions, oldest first; None if not partitioned."""
        ...

    def partition_audit(self, interval: Interval, *, now: int, ahead: int) -> Partitioned:
        """Turn the audit table into one partitioned by `interval`, moving its rows in the
        same transaction, with ranges from the oldest instance's to `ahead` past `now`'s;
        on a partitioned table, only add the ranges missing up to there.

        Raises:
            ConfigError: the store cannot partition (SQLite), or it is partitioned by
                another interval, or it would need more than `MAX_PARTITIONS` ranges.
        """
        ...

    def add_audit_partitions(self, *, now: int, ahead: int) -> list[str]:
        """Add the range partitions missing from the newest one to `ahead` past `now`'s;
        the names of those added (a range the DEFAULT partition already has rows of, or a
        lock not had within a few seconds, is left for a later call)."""
        ...

    def audit_partition_totals(self, partition: AuditPartition, before: int) -> PartitionTotals:
        """The instances created in the partition's range (read without locks)."""
        ...

    def audit_partition_keys(
        self, partition: AuditPartition, *, after: tuple[str, str], limit: int
    ) -> list[tuple[str, str]]:
        """The keys of the instances created in the range, in (tenant, id) order after
        `after`, at most `limit` (for the archive)."""
        ...

    def drop_audit_partition(self, partition: AuditPartition, *, before: int) -> PartitionDrop:
        """In ONE transaction: remove every instance created in the range (all finished,
        last updated before `before`, every outbox message delivered) with its rows but
        the audit ones, then detach and drop the partition; if any instance of the range is
        left, nothing at all (`kept` says why)."""
        ...


def check_interval(interval: str) -> Interval:
    """`interval` if it is one of day, week and month.

    Raises:
        ConfigError: another word (the message lists the accepted ones).
    """
    from statewright.errors import ConfigError

    accepted: tuple[str, ...] = get_args(Interval)
    if interval not in accepted:
        raise ConfigError(
            f"interval {interval!r} is not one of {', '.join(accepted)}; pick one (month "
            "suits most stores: the audit rows of a month of new instances per partition)"
        )
    return interval  # type: ignore[return-value]


def range_containing(interval: Interval, ms: int) -> tuple[int, int]:
    """The range (low included, high excluded, epoch ms) of `interval` that holds `ms`."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if interval == "day":
        low, high = day, day + timedelta(days=1)
    elif interval == "week":
        low = day - timedelta(days=day.weekday())
        high = low + timedelta(days=7)
    else:
        low = day.replace(day=1)
        high = (low + timedelta(days=32)).replace(day=1)
    return _ms(low), _ms(high)


def ranges_between(interval: Interval, first_ms: int, last_ms: int) -> Iterator[tuple[int, int]]:
    """The consecutive ranges from the one holding `first_ms` to the one holding `last_ms`."""
    low, high = range_containing(interval, first_ms)
    while low <= last_ms:
        yield low, high
        low, high = range_containing(interval, high)


def partition_name(low: int) -> str:
    """The table name of the range partition starting at `low`: `audit_pYYYYMMDD`."""
    return "audit_p" + datetime.fromtimestamp(low / 1000, UTC).strftime("%Y%m%d")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000


class UnpartitionedAudit:
    """The operations of a store that cannot partition its audit table (SQLite): it is
    never partitioned, and asking for it says why and what to do instead."""

    display_url: str

    def audit_partitioning(self) -> tuple[Interval, list[AuditPartition]] | None:
        """None: never partitioned."""
        return None

    def partition_audit(self, interval: Interval, *, now: int, ahead: int) -> Partitioned:
        """Refuse (see `AuditPartitionStore`).

        Raises:
            ConfigError: always.
        """
        from statewright.errors import ConfigError

        raise ConfigError(
            f"{self.display_url}: only a PostgreSQL store's audit table can be partitioned "
            '(SQLite has no partitions); prune its history row by row with "statewright '
            'prune --finished-before 30d", or move the store to PostgreSQL'
        )

    def add_audit_partitions(self, *, now: int, ahead: int) -> list[str]:
        """Nothing to add."""
        return []

    def audit_partition_totals(self, partition: AuditPartition, before: int) -> PartitionTotals:
        """Never called: there are no partitions."""
        raise NotImplementedError

    def audit_partition_keys(
        self, partition: AuditPartition, *, after: tuple[str, str], limit: int
    ) -> list[tuple[str, str]]:
        """Never called: there are no partitions."""
        raise NotImplementedError

    def drop_audit_partition(self, partition: AuditPartition, *, before: int) -> PartitionDrop:
        """Never called: there are no partitions."""
        raise NotImplementedError
