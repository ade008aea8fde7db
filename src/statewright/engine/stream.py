"""What the live stream asks the engine: committed transitions after a cursor, and how far
the cursor may go.

The cursor is an audit row's `stream_seq`: one increasing number over every tenant's rows.
`stream_horizon()` is the largest number up to which every row is committed or never will be
(on PostgreSQL, numbers are drawn before their transactions commit, in any order; see
`store/postgres/stream.sql`), and `audit_since` reads a tenant's rows after a cursor up to a
horizon. A reader that only ever reads up to the horizon misses no row and reads none twice.
"""

from __future__ import annotations

import builtins
import json
import threading
from dataclasses import dataclass

from statewright.engine.deciding import Deciding
from statewright.engine.payload import check_id
from statewright.errors import PayloadError
from statewright.store.stream import StreamRecord

__all__ = ["StreamEntry", "Streams"]

#: Markers waiting to settle (PostgreSQL); when full, no new one is taken until one settles.
_PENDING_MARKERS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamEntry:
    """One committed transition, as the live stream sends it."""

    #: The stream cursor: the audit row's `stream_seq`.
    cursor: int
    tenant: str
    instance_id: str
    definition_id: str
    #: The instance version this transition produced (1 for the start).
    version: int
    event: dict[str, object]
    actor: str | None
    from_value: object
    to_value: object
    status: str
    runtime_status: str
    at: int

    @classmethod
    def from_record(cls, record: StreamRecord) -> StreamEntry:
        """Decode a stream row."""
        return cls(
            cursor=record.stream_seq,
            tenant=record.tenant,
            instance_id=record.instance_id,
            definition_id=record.definition_id,
            version=record.seq,
            event=json.loads(record.event),
            actor=record.actor,
            from_value=None if record.from_value is None else json.loads(record.from_value),
            to_value=json.loads(record.to_value),
            status=record.status,
            runtime_status=record.runtime_status,
            at=record.at,
        )


class Streams(Deciding):
    """`audit_since`, `stream_horizon` and `wait_for_commits` (see the module docstring)."""

    _stream_lock: threading.Lock | None = None
    _stream_settled = 0
    _stream_pending: builtins.list[tuple[int, str]] | None = None

    def audit_since(
        self,
        cursor: int,
        *,
        tenant: str,
        through: int | None = None,
        instance_id: str | None = None,
        definition_id: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[StreamEntry]:
        """A tenant's committed transitions after `cursor`, oldest first, at most `limit`:
        only one instance's, or one definition's instances', when given.

        `through` (by default `stream_horizon()`) is the last cursor read: read only up to a
        horizon, so that a later read from the last cursor misses nothing.

        Raises:
            PayloadError: an id that is not an id, a negative cursor or a limit below 1.
        """
        check_id(tenant, "tenant")
        if instance_id is not None:
            check_id(instance_id, "instance id")
        if definition_id is not None:
            check_id(definition_id, "definition id")
        if cursor < 0 or limit < 1:
            raise PayloadError(
                f"cursor {cursor} and limit {limit}: the cursor is a stream position (0 or "
                "more) and the limit at least 1"
            )
        end = self.stream_horizon() if through is None else through
        if end <= cursor:
            return []
        records = self.store.stream_rows(
            tenant,
            after=cursor,
            through=end,
            instance_id=instance_id,
            definition_id=definition_id,
            limit=limit,
        )
        return [StreamEntry.from_record(record) for record in records]

    def wait_for_commits(self, timeout_s: float) -> bool:
        """Wait until another process may have committed transitions (True: PostgreSQL's
        NOTIFY, sent after their commits), or `timeout_s` (False; SQLite always waits it
        out). Only a wake-up, possibly lost: read `audit_since` after it either way."""
        return self.store.wait_for_commits(timeout_s)

    def stream_horizon(self) -> int:
        """The largest cursor up to which every transition is committed or never will be.

        It never goes back. On PostgreSQL a transaction writing audit rows when a number was
        drawn holds the horizon below that number until it ends, so a long one delays the
        stream, never loses from it.
        """
        if self._stream_lock is None:
            self._stream_lock = threading.Lock()
        with self._stream_lock:
            pending = self._stream_pending if self._stream_pending is not None else []
            self._stream_pending = pending
            if len(pending) < _PENDING_MARKERS:
                marker = self.store.stream_marker()
                if marker.pending is None:
                    pending.clear()
                    self._stream_settled = max(self._stream_settled, marker.seq)
                    return self._stream_settled
                if not pending or pending[-1][0] != marker.seq or pending[-1][1] != marker.pending:
                    pending.append((marker.seq, marker.pending))
            # A newer marker that settled means every older one did (a transaction in flight
            # at the older one and still in flight at the newer one is in the newer's list).
            for index in range(len(pending) - 1, -1, -1):
                seq, snapshot = pending[index]
                if self.store.stream_settled(snapshot):
                    self._stream_settled = max(self._stream_settled, seq)
                    del pending[: index + 1]
                    break
            return self._stream_settled
