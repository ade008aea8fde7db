"""What the live stream reads from a store: audit rows by their `stream_seq`, one increasing
number over every tenant's rows, and how far those numbers are settled (every row up to a
settled number is committed, or never will be)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["StreamMarker", "StreamRecord", "StreamStore"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamRecord:
    """One audit row as the live stream sends it (no microsteps or effects)."""

    stream_seq: int
    tenant: str
    instance_id: str
    seq: int
    definition_id: str
    event: str
    actor: str | None
    from_value: str | None
    to_value: str
    status: str
    runtime_status: str
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamMarker:
    """The last `stream_seq` drawn, and (PostgreSQL) the transactions that were in flight
    then: every number up to `seq` is settled once none of them is (`stream_settled`).
    `pending` is None when nothing was in flight: settled at once."""

    seq: int
    pending: str | None


class StreamStore(Protocol):
    """The store operations of the live stream."""

    def stream_rows(
        self,
        tenant: str,
        *,
        after: int,
        through: int,
        instance_id: str | None = None,
        definition_id: str | None = None,
        limit: int = 1000,
    ) -> list[StreamRecord]:
        """A tenant's audit rows with `after < stream_seq <= through`, in that order, at most
        `limit`; only one instance's, or one definition's instances', when given."""
        ...

    def stream_marker(self) -> StreamMarker:
        """The last `stream_seq` drawn and what must settle before rows up to it are read."""
        ...

    def stream_settled(self, pending: str) -> bool:
        """Whether none of the transactions a marker saw in flight is in flight still."""
        ...

    def wait_for_commits(self, timeout_s: float) -> bool:
        """Return True when another process may have committed transitions (PostgreSQL: a
        NOTIFY), else False after `timeout_s`. Only a wake-up: read the rows after it."""
        ...
