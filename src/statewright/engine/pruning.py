"""History retention: `prune` removes finished instances older than a cutoff, each with every
row it owns (audit rows, timers, steps, outbox rows, failed step attempts, idempotency
records; the state index and the counts per state follow by trigger), one instance per
transaction, optionally archiving each first.

Promises:

- only a finished instance (snapshot status `done`, `error` or `stopped`) whose last update
  is older than the cutoff is removed; an active one never is, whatever it waits for;
- an instance goes whole or not at all (one transaction), so a crash or SIGKILL mid-run
  leaves every remaining instance as it was: `verify` passes on what remains;
- an outbox message not delivered yet (pending or dead-lettered) is never dropped: its
  instance is held back and reported (`held["undelivered_outbox"]`) until the message is
  delivered, or the dead letter redriven and delivered;
- with `archive`, every instance removed is in the archive first: its line is written and
  flushed to disk before the transaction that removes it commits (`prune_archive.py`);
- one run at a time per database, from any host (`PruneRunning` for a second one: it exits
  at once, it does not wait).

On PostgreSQL with a partitioned audit table (`partition_pruning.py`), a run first drops
the partitions whose instances may all go, whole, then prunes the rest row by row.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from statewright.engine.clock import iso_utc
from statewright.engine.partition_pruning import COUNTED_AS, AuditPartitioning, PartitionPass
from statewright.engine.payload import check_id
from statewright.engine.prune_archive import ArchiveWriter, archive_line
from statewright.errors import PayloadError
from statewright.store.pruning import HeldReason, PruneCandidate, PruneOutcome

__all__ = ["DEFAULT_PRUNE_BATCH", "PruneReport", "Pruning"]

log = logging.getLogger("statewright.engine")

#: Instances read (and archived) per batch by default; each is still its own transaction.
DEFAULT_PRUNE_BATCH = 500
#: The largest batch accepted.
MAX_PRUNE_BATCH = 10_000
#: How many held instances a report names (all are counted).
HELD_SAMPLE = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneReport:
    """What a `prune` run removed (a dry run: what it would remove; it counts instances and
    audit rows only), which instances it held back and why, its archive files, and how
    long it took."""

    cutoff: int
    dry_run: bool = False
    instances: int = 0
    audit_rows: int = 0
    timers: int = 0
    steps: int = 0
    outbox_rows: int = 0
    step_attempts: int = 0
    idempotency_rows: int = 0
    #: Instances not removed, by reason (see `statewright.store.pruning.HeldReason`).
    held: dict[str, int] = field(default_factory=dict)
    #: The first `HELD_SAMPLE` of them: (tenant, id, reason).
    held_sample: tuple[tuple[str, str, str], ...] = ()
    archive_files: tuple[str, ...] = ()
    seconds: float = 0.0
    #: Audit partitions dropped whole (a dry run: that would be), oldest first; their
    #: instances and rows are counted above.
    partitions_dropped: tuple[str, ...] = ()
    #: Audit partitions whose range ended before the cutoff but were kept, with why; their
    #: finished instances were pruned row by row.
    partitions_kept: tuple[tuple[str, str], ...] = ()
    #: Audit partitions this run added ahead.
    partitions_added: tuple[str, ...] = ()


class Pruning(AuditPartitioning):
    """`prune`."""

    def prune(
        self,
        finished_before: timedelta | datetime,
        *,
        tenant: str | None = None,
        archive: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
        batch: int = DEFAULT_PRUNE_BATCH,
        progress: Callable[[PruneReport], None] | None = None,
    ) -> PruneReport:
        """Remove the finished instances last updated before the cutoff, with their rows.

        Args:
            finished_before: the cutoff: an age (`timedelta(days=30)`: finished more than 30
                days ago by the engine's clock) or a time (an aware `datetime`).
            tenant: only this tenant's instances (None: every tenant's).
            archive: a folder: each instance is first written to this run's JSON Lines file
                there (`prune_archive.py`), flushed to disk before it is removed.
            dry_run: only count what would be removed (no lock taken, nothing changed).
            batch: instances read and archived together (each removed in its own
                transaction).
            progress: called after each batch with the totals so far.

        Returns:
            The report; instances held back are counted by reason in `held`.

        Raises:
            PayloadError: a negative age, a naive `datetime`, a batch outside 1..10000, a
                malformed tenant, or an archive folder that cannot be written.
            PruneRunning: another run holds the database's pruning lock.
            StoreError: the database or the archive's disk failed; what was removed before
                stays removed (and archived), the rest is untouched.
        """
        started = time.monotonic()
        cutoff = self._prune_cutoff(finished_before)
        if tenant is not None:
            check_id(tenant, "tenant")
        if not 1 <= batch <= MAX_PRUNE_BATCH:
            raise PayloadError(f"batch {batch} is outside 1..{MAX_PRUNE_BATCH}; pick one inside")
        if dry_run:
            parts = (
                PartitionPass()
                if tenant
                else self._partition_pass(cutoff, dry_run=True, writer=None, batch=batch)
            )
            totals = self.store.prune_totals(cutoff, tenant=tenant)
            held = {"undelivered_outbox": totals.held, "stream_head": totals.stream_head}
            return PruneReport(
                cutoff=cutoff,
                dry_run=True,
                instances=totals.candidates - totals.held - totals.stream_head,
                audit_rows=totals.audit_rows
                - totals.held_audit_rows
                - totals.stream_head_audit_rows,
                held={reason: count for reason, count in held.items() if count},
                seconds=time.monotonic() - started,
                partitions_dropped=parts.dropped,
                partitions_kept=parts.kept,
            )
        writer = None if archive is None else ArchiveWriter(archive)
        report = PruneReport(cutoff=cutoff)
        try:
            with self.store.prune_lock():
                if tenant is None:  # a partition holds every tenant's instances
                    parts = self._partition_pass(cutoff, dry_run=False, writer=writer, batch=batch)
                    counted: dict[str, Any] = dict(parts.removed)
                    report = replace(
                        report,
                        **counted,
                        partitions_dropped=parts.dropped,
                        partitions_kept=parts.kept,
                        partitions_added=parts.added,
                        archive_files=_files(writer),
                    )
                report = self._prune_all(cutoff, tenant, batch, writer, report, started, progress)
                self.store.after_prune()
        finally:
            if writer is not None:
                writer.close()
        report = replace(report, seconds=time.monotonic() - started)
        log.info(
            "pruned %d instances (%d audit rows) finished before %s in %.1f s; held back %s",
            report.instances,
            report.audit_rows,
            iso_utc(cutoff),
            report.seconds,
            report.held or "none",
        )
        return report

    def _prune_all(
        self,
        cutoff: int,
        tenant: str | None,
        batch: int,
        writer: ArchiveWriter | None,
        report: PruneReport,
        started: float,
        progress: Callable[[PruneReport], None] | None,
    ) -> PruneReport:
        counts = {name: int(getattr(report, name)) for name in COUNTED_AS.values()}
        held: dict[str, int] = dict(report.held)
        sample: list[tuple[str, str, str]] = list(report.held_sample)
        after = ("", "")
        while True:
            page = self.store.prune_candidates(cutoff, tenant=tenant, after=after, limit=batch)
            if not page:
                return report
            after = (page[-1].tenant, page[-1].id)
            archived = None if writer is None else self._archive(page, writer)
            for candidate in page:
                key = (candidate.tenant, candidate.id)
                if archived is None:
                    version: int | str = candidate.version
                else:  # only what the archive holds, at the version it holds
                    version = archived.get(key, "gone")
                if isinstance(version, str):
                    outcome = PruneOutcome(removed={}, held=cast("HeldReason", version))
                else:
                    outcome = self.store.remove_instance(
                        candidate.tenant, candidate.id, before=cutoff, version=version
                    )
                self._heads.drop(*key)
                if outcome.held is not None:
                    held[outcome.held] = held.get(outcome.held, 0) + 1
                    if len(sample) < HELD_SAMPLE:
                        sample.append((*key, outcome.held))
                    continue
                for table, removed in outcome.removed.items():
                    counts[COUNTED_AS[table]] += removed
            files = _files(writer)
            report = replace(
                report,
                instances=counts["instances"],
                audit_rows=counts["audit_rows"],
                timers=counts["timers"],
                steps=counts["steps"],
                outbox_rows=counts["outbox_rows"],
                step_attempts=counts["step_attempts"],
                idempotency_rows=counts["idempotency_rows"],
                held=dict(held),
                held_sample=tuple(sample),
                archive_files=files,
                seconds=time.monotonic() - started,
            )
            if progress is not None:
                progress(report)

    def _archive(
        self, page: list[PruneCandidate], writer: ArchiveWriter
    ) -> dict[tuple[str, str], int | str]:
        """Write the page's instances to the archive, flushed to disk; by key, the version
        each was archived at (its removal checks that it is still that one), or why it was
        not archived (an outbox message not delivered, the newest audit row held; a key left
        out is gone). Only the instances archived may be removed."""
        lines: list[bytes] = []
        versions: dict[tuple[str, str], int | str] = {}
        now = self.clock.now()
        found = self.store.instances_rows([(c.tenant, c.id) for c in page])
        head = self.store.stream_head() if found else None  # a finished one stays the head
        for (tenant, instance_id), rows in found.items():
            if (tenant, instance_id) == head:
                versions[head] = "stream_head"
                continue
            outbox = rows["outbox"]
            if isinstance(outbox, list) and any(m["status"] != "delivered" for m in outbox):
                versions[(tenant, instance_id)] = "undelivered_outbox"
                continue
            instance = rows["instance"]
            if not isinstance(instance, dict):  # pragma: no cover - instances_rows' shape
                continue
            versions[(tenant, instance_id)] = int(instance["version"])
            lines.append(archive_line(tenant, instance_id, rows, now))
        writer.write(lines)
        return versions

    def _prune_cutoff(self, finished_before: timedelta | datetime) -> int:
        """The cutoff in epoch milliseconds."""
        if isinstance(finished_before, datetime):
            if finished_before.tzinfo is None:
                raise PayloadError(
                    f"finished_before {finished_before.isoformat()} has no time zone; give an "
                    "aware datetime (e.g. datetime(2026, 1, 1, tzinfo=timezone.utc))"
                )
            return int(finished_before.timestamp() * 1000)
        if isinstance(finished_before, timedelta):
            if finished_before < timedelta(0):
                raise PayloadError(
                    f"finished_before {finished_before} is negative; give an age such as "
                    "timedelta(days=30)"
                )
            return self.clock.now() - int(finished_before / timedelta(milliseconds=1))
        raise PayloadError(
            f"finished_before {finished_before!r} is neither a timedelta nor a datetime"
        )


def _files(writer: ArchiveWriter | None) -> tuple[str, ...]:
    return () if writer is None or writer.path is None else (str(writer.path),)
