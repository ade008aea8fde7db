"""A time-partitioned audit table (PostgreSQL): `partition_audit` turns the audit table into
one partitioned by the creation time of each row's instance (`store/partitions.py`), and
`prune` then drops whole partitions before it prunes the rest row by row.

A partition goes when its range ended before the cutoff and every instance created in it is
finished, last updated before the cutoff, with every outbox message delivered: its
instances and their other rows are deleted in bulk and the partition detached and dropped,
all in ONE transaction (a crash leaves it whole, as before). With `archive`, each of its
instances is written to the run's archive first, flushed to disk, as a row-wise prune
writes it. A partition still holding an instance that may not go is kept and reported;
its finished instances are pruned row by row like any others. Each run also adds the
ranges missing ahead (`DEFAULT_AHEAD` past the current one), so that new rows find theirs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from statewright.engine.deciding import Deciding
from statewright.engine.prune_archive import ArchiveWriter, archive_line
from statewright.errors import PayloadError
from statewright.store.partitions import (
    DEFAULT_AHEAD,
    AuditPartition,
    Interval,
    Partitioned,
    check_interval,
)

__all__ = [
    "DEFAULT_AHEAD",
    "AuditPartition",
    "AuditPartitioning",
    "PartitionPass",
    "Partitioned",
    "check_interval",
]

log = logging.getLogger("statewright.engine")

#: Tries at dropping a partition whose drop missed a lock (each waits at most a few seconds
#: for it); after the last, its instances are pruned row by row.
DROP_ATTEMPTS = 3

#: Removed rows by table, as the name a `PruneReport` counts them under.
COUNTED_AS = {
    "instances": "instances",
    "audit": "audit_rows",
    "timers": "timers",
    "steps": "steps",
    "outbox": "outbox_rows",
    "step_attempts": "step_attempts",
    "idempotency": "idempotency_rows",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionPass:
    """What the partition pass of a prune run did: the partitions dropped (a dry run: that
    would be), those kept with why, those added ahead, and the rows removed by
    `PruneReport` field."""

    dropped: tuple[str, ...] = ()
    kept: tuple[tuple[str, str], ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[tuple[str, int], ...] = ()


class AuditPartitioning(Deciding):
    """`partition_audit`, `audit_partitions`, and the partition pass of `prune`."""

    def partition_audit(
        self, interval: str = "month", *, ahead: int = DEFAULT_AHEAD
    ) -> Partitioned:
        """Partition the audit table by `interval` (PostgreSQL only), moving its rows in one
        transaction; on a partitioned table, only add the ranges missing ahead.

        Sends and starts wait while the rows move (EXCLUSIVE lock on `audit` to the
        commit); reads wait only at the end. Runs under the pruning lock: never beside a
        prune run.

        Args:
            interval: each partition's range: `day`, `week` or `month` (UTC).
            ahead: ranges made past the current one (0..24).

        Returns:
            What it did; `already` if the table was partitioned before.

        Raises:
            ConfigError: a SQLite store; an interval not one of the three, or not the one
                the table is partitioned by; more than `MAX_PARTITIONS` ranges needed.
            PayloadError: `ahead` outside 0..24.
            PruneRunning: a prune run (or another conversion) holds the pruning lock.
        """
        checked: Interval = check_interval(interval)
        if not 0 <= ahead <= 24:
            raise PayloadError(f"ahead {ahead} is outside 0..24; pick one inside (default 3)")
        with self.store.prune_lock():
            started = time.monotonic()
            done = self.store.partition_audit(checked, now=self.clock.now(), ahead=ahead)
        log.info(
            "audit table partitioned by %s%s: %d rows moved, %d partitions added in %.1f s",
            done.interval,
            " (already)" if done.already else "",
            done.moved_rows,
            len(done.created),
            time.monotonic() - started,
        )
        return done

    def audit_partitions(self) -> tuple[str, list[AuditPartition]] | None:
        """The audit table's interval and range partitions, oldest first; None if it is not
        partitioned (always on SQLite)."""
        return self.store.audit_partitioning()

    def _partition_pass(
        self, cutoff: int, *, dry_run: bool, writer: ArchiveWriter | None, batch: int
    ) -> PartitionPass:
        """Drop every partition that may go (see the module docstring), or, dry, name
        them; then add the ranges missing ahead. Runs under the pruning lock (not dry)."""
        found = self.store.audit_partitioning()
        if found is None:
            return PartitionPass()
        dropped: list[str] = []
        kept: list[tuple[str, str]] = []
        removed = dict.fromkeys(COUNTED_AS.values(), 0)
        for partition in found[1]:
            if partition.high > cutoff:
                continue  # its range is not over before the cutoff
            totals = self.store.audit_partition_totals(partition, cutoff)
            if totals.blocking:
                count = totals.blocking
                kept.append(
                    (
                        partition.name,
                        f"{count} instance{'s' if count > 1 else ''} not finished before the "
                        "cutoff or with an outbox message not delivered",
                    )
                )
                continue
            if dry_run:
                dropped.append(partition.name)
                continue
            started = time.monotonic()
            if writer is not None:
                self._archive_partition(partition, writer, batch)
            outcome = self.store.drop_audit_partition(partition, before=cutoff)
            for _ in range(DROP_ATTEMPTS - 1):
                if not outcome.locked:
                    break
                outcome = self.store.drop_audit_partition(partition, before=cutoff)
            self._heads.clear()  # its instances are gone, and their ids may come back
            if outcome.kept is not None:
                kept.append((partition.name, outcome.kept))
                continue
            dropped.append(partition.name)
            for table, count in outcome.removed.items():
                removed[COUNTED_AS[table]] += count
            log.info(
                "dropped audit partition %s: %d instances, %d audit rows in %.1f s",
                partition.name,
                outcome.removed.get("instances", 0),
                outcome.removed.get("audit", 0),
                time.monotonic() - started,
            )
        for name, why in kept:
            log.info("kept audit partition %s: %s (pruned row by row)", name, why)
        added = (
            []
            if dry_run
            else self.store.add_audit_partitions(now=self.clock.now(), ahead=DEFAULT_AHEAD)
        )
        return PartitionPass(
            dropped=tuple(dropped),
            kept=tuple(kept),
            added=tuple(added),
            removed=tuple(removed.items()),
        )

    def _archive_partition(
        self, partition: AuditPartition, writer: ArchiveWriter, batch: int
    ) -> None:
        """Write every instance of the partition to the archive, page by page, each page
        flushed to disk before the next is read (all before the partition is dropped)."""
        after = ("", "")
        now = self.clock.now()
        while True:
            keys = self.store.audit_partition_keys(partition, after=after, limit=batch)
            if not keys:
                return
            after = keys[-1]
            found = self.store.instances_rows(keys)
            writer.write(
                [archive_line(tenant, id_, rows, now) for (tenant, id_), rows in found.items()]
            )
