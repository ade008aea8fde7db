"""What history retention needs from a store: the finished instances older than a cutoff,
each one's rows as stored (for an archive), its removal whole in one transaction, and a lock
that lets one pruning run at a time on a database.

A finished instance is one whose snapshot status is `done`, `error` or `stopped`; an active
one is never a candidate. One whose outbox still holds a message not delivered (pending or
dead-lettered) is held back: removing it would drop that message silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from statewright.store.transaction import Row

__all__ = [
    "HeldReason",
    "PRUNED_TABLES",
    "PruneCandidate",
    "PruneOutcome",
    "PruneStore",
    "PruneTotals",
]

#: The tables holding an instance's rows, in the order an archive line lists them.
PRUNED_TABLES = ("audit", "timers", "steps", "outbox", "step_attempts", "idempotency")

#: Why an instance was not removed: an outbox message not delivered, it holds the newest
#: audit row (SQLite's live-stream cursor), it changed since it was read or is no longer a
#: candidate, it is gone, or its audit rows are not one per version (`verify` tells more).
HeldReason = Literal["undelivered_outbox", "stream_head", "changed", "gone", "log_mismatch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneCandidate:
    """A finished instance older than the cutoff: its key, version and last update."""

    tenant: str
    id: str
    version: int
    updated_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneTotals:
    """What a run would remove now: the candidates and their audit rows, and of those the
    ones held back for an undelivered outbox message (`held`) or for holding SQLite's
    newest audit row (`stream_head`)."""

    candidates: int
    audit_rows: int
    held: int
    held_audit_rows: int
    stream_head: int = 0
    stream_head_audit_rows: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneOutcome:
    """What removing one instance did: rows removed per table (`instances` is 1), or why
    nothing was (`held`)."""

    removed: dict[str, int]
    held: HeldReason | None = None


class PruneStore(Protocol):
    """The store operations of history retention."""

    def prune_candidates(
        self, before: int, *, tenant: str | None, after: tuple[str, str], limit: int
    ) -> list[PruneCandidate]:
        """Finished instances last updated before `before` (of one tenant, or of all for
        None), in (tenant, id) order after `after`, at most `limit`."""
        ...

    def prune_totals(self, before: int, *, tenant: str | None) -> PruneTotals:
        """What removing every candidate would remove, counted in one read."""
        ...

    def instance_rows(self, tenant: str, instance_id: str) -> dict[str, Row | list[Row]] | None:
        """The instance row (`instance`) and every row it owns (one list per table of
        `PRUNED_TABLES`), as stored, read in one snapshot; None if it does not exist."""
        ...

    def instances_rows(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, Row | list[Row]]]:
        """`instance_rows` of several instances in one snapshot, by key (a key with no
        instance is left out)."""
        ...

    def stream_head(self) -> tuple[str, str] | None:
        """The instance (tenant, id) whose audit row is the newest, if this store keeps that
        instance from being removed (`remove_instance`'s `stream_head`); else None."""
        ...

    def remove_instance(
        self, tenant: str, instance_id: str, *, before: int, version: int
    ) -> PruneOutcome:
        """Remove the instance and every row it owns in ONE transaction, if it is still a
        finished candidate at `version`, updated before `before`, with every outbox message
        delivered; else remove nothing and say why."""
        ...

    def prune_lock(self) -> AbstractContextManager[None]:
        """Hold the database's pruning lock for a run (released when the process ends, even
        killed).

        Raises:
            PruneRunning: another run holds it.
        """
        ...

    def after_prune(self) -> None:
        """Tidy up after a run: counts per state that fell to zero, folded changes."""
        ...
