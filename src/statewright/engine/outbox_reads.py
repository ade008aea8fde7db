"""The outbox messages a tenant's transitions emitted that are not delivered yet: what the
worker's listeners still have to take (their dead letters are `Operating.dead_letters`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from statewright.engine.cursor import decode_cursor, encode_cursor
from statewright.engine.deciding import DEFAULT_TENANT, Deciding
from statewright.engine.payload import check_id
from statewright.engine.work_views import Page
from statewright.store.records import OutboxRecord

__all__ = ["OutboxReads", "PendingMessage"]

_MAX_PAGE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingMessage:
    """An outbox message waiting for delivery: its attempts so far and when the next is due."""

    tenant: str
    instance_id: str
    message_id: str
    version: int
    event: dict[str, object]
    attempts: int
    last_error: str | None
    created_at: int
    next_attempt_at: int

    @classmethod
    def from_record(cls, record: OutboxRecord) -> PendingMessage:
        """Decode an outbox row."""
        return cls(
            tenant=record.tenant,
            instance_id=record.instance_id,
            message_id=record.message_id,
            version=record.version,
            event=json.loads(record.event),
            attempts=record.attempts,
            last_error=record.last_error,
            created_at=record.created_at,
            next_attempt_at=record.next_attempt_at,
        )


class OutboxReads(Deciding):
    """`pending_outbox`."""

    def pending_outbox(
        self, *, tenant: str = DEFAULT_TENANT, cursor: str | None = None, limit: int = 100
    ) -> Page[PendingMessage]:
        """The tenant's outbox messages not delivered yet, by message id.

        Raises:
            PayloadError: a malformed tenant, or a cursor another list gave.
        """
        check_id(tenant, "tenant")
        filters = {"tenant": tenant}
        size = max(1, min(int(limit), _MAX_PAGE))
        after = None if cursor is None else decode_cursor(cursor, "outbox", filters, 1)[0]
        rows = self.store.list_pending_outbox(tenant, after_id=after, limit=size + 1)
        items = [PendingMessage.from_record(row) for row in rows]
        if len(items) <= size:
            return Page(items)
        kept = items[:size]
        return Page(kept, encode_cursor("outbox", filters, [kept[-1].message_id]))
