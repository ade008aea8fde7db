"""The outbox messages a tenant's transitions emitted that are not delivered yet: what the
worker's listeners still have to take (their dead letters are `Operating.dead_letters`)."""

from __future__ import annotations

from dataclasses import dataclass

from statewright.engine.cursor import decode_cursor, encode_cursor
from statewright.engine.deciding import DEFAULT_TENANT, Deciding
from statewright.engine.payload import check_id
from statewright.engine.work_views import OutboxMessage, Page
from statewright.store.records import OutboxRecord

__all__ = ["OutboxReads", "PendingMessage"]

_MAX_PAGE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingMessage(OutboxMessage):
    """An outbox message waiting for delivery: its attempts so far and when the next is due."""

    next_attempt_at: int

    @classmethod
    def from_record(cls, record: OutboxRecord) -> PendingMessage:
        """Decode an outbox row."""
        return cls(**OutboxMessage.fields_of(record), next_attempt_at=record.next_attempt_at)


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
