"""The store operations of the live stream: audit rows by their `stream_seq` (one increasing
number over every tenant's rows), and how far those numbers are settled. A mixin of
`SqlStore`, over each backend's `stream.sql` (which explains what "settled" means there).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import ClassVar

from statewright.store.stream import StreamMarker, StreamRecord
from statewright.store.transaction import Params, Row, Transaction

__all__ = ["StreamRows"]


class StreamRows:
    """Audit rows for the live stream (see the module docstring)."""

    stream_queries: ClassVar[Mapping[str, str]]

    def _transaction(self, *, write: bool, what: str) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _read_one(self, sql: str, params: Params, *, what: str) -> Row | None:
        raise NotImplementedError

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
        `limit`; only one instance's, or else one definition's instances', when given."""
        params: dict[str, object] = {
            "tenant": tenant,
            "after": after,
            "through": through,
            "limit": limit,
        }
        if instance_id is not None:
            query = "stream_instance_rows"  # by its key; its definition is the instance's
            params["instance_id"] = instance_id
        else:
            query = "stream_rows"
            params["definition_id"] = definition_id
        with self._transaction(write=False, what="reading the audit stream") as tx:
            rows = tx.all(self.stream_queries[query], params)
        return [StreamRecord(**row) for row in rows]

    def stream_marker(self) -> StreamMarker:
        """The last `stream_seq` drawn and what must settle before rows up to it are read."""
        queries = self.stream_queries
        if "stream_marker" in queries:  # SQLite: one writer at a time, nothing in flight
            row = self._read_one(queries["stream_marker"], {}, what="reading the audit stream")
            assert row is not None
            return StreamMarker(seq=int(row["seq"]), pending=None)
        # Two statements, in this order: a transaction that drew a number up to `seq` took
        # the audit table's lock before it drew, so the second one sees it holding the lock,
        # or it has finished (stream.sql).
        last = self._read_one(queries["stream_last_drawn"], {}, what="reading the audit stream")
        flight = self._read_one(queries["stream_in_flight"], {}, what="reading the audit stream")
        assert last is not None and flight is not None
        return StreamMarker(seq=int(last["seq"]), pending=flight["pending"])

    def stream_settled(self, pending: str) -> bool:
        """Whether none of the transactions a marker saw in flight is in flight still."""
        row = self._read_one(
            self.stream_queries["stream_settled"],
            {"pending": pending},
            what="reading the audit stream",
        )
        return bool(row is not None and row["settled"])
