"""The store operations of history retention (`pruning.py`): candidates page by page, an
instance's rows for its archive, and its removal whole in one transaction. A mixin of
`SqlStore`, over each backend's `pruning.sql`; the pruning lock is each backend's own
(`_prune_lock`: a file lock beside a SQLite file, an advisory lock on PostgreSQL).

A removal's commit does not wait for the disk (SQLite `synchronous=NORMAL`, PostgreSQL
`synchronous_commit=off`, for that transaction only): one lost to a power cut or an OS crash
leaves the instance whole, as before it (and archived), and the next run removes it again;
so every removal costs no flush, and a run is several times faster on a durable store.

On PostgreSQL the whole removal is first tried as one statement (`prune_remove_alone`: one
round trip); when it removes nothing, the transaction below runs and says why.

The removal locks the instance row first (PostgreSQL `FOR UPDATE`; SQLite's `BEGIN
IMMEDIATE` holds the only write lock), checks that it is still the finished candidate that
was read (same version: a transition would have moved it), that every outbox message of its
is delivered, then deletes its rows, the instance last: its delete trigger keeps the state
index and the counts per state right. Anything unexpected rolls the whole removal back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import ClassVar

from statewright.store.pruning import (
    PRUNED_TABLES,
    PruneCandidate,
    PruneOutcome,
    PruneTotals,
)
from statewright.store.transaction import Params, Row, Transaction

__all__ = ["FINISHED", "PruneRows"]

#: The tables a removal counts its rows in.
_COUNTED = (*PRUNED_TABLES, "instances")

#: The snapshot statuses of a finished instance.
FINISHED = ("done", "error", "stopped")


class PruneRows:
    """History retention's rows (see the module docstring). Listed last among `SqlStore`'s
    bases: the stubs below stand for what the other bases and backends define."""

    #: The backend's `pruning.sql`, set by each subclass.
    prune_queries: ClassVar[Mapping[str, str]]

    def _transaction(self, *, write: bool, what: str) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _read_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        raise NotImplementedError

    def _run_alone(self, sql: str, params: Params, *, what: str) -> int:
        raise NotImplementedError

    def _write_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        raise NotImplementedError

    def _prune_lock(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _prune_transaction(self, what: str) -> AbstractContextManager[Transaction]:
        """The write transaction of one removal (SQLite commits it without waiting for the
        disk; PostgreSQL does so with `prune_relax_commit`)."""
        return self._transaction(write=True, what=what)

    def fold_state_counts(self) -> None:
        raise NotImplementedError

    def prune_candidates(
        self, before: int, *, tenant: str | None, after: tuple[str, str], limit: int
    ) -> list[PruneCandidate]:
        """Finished instances last updated before `before`, after `after` in (tenant, id)
        order, at most `limit` (see `PruneStore`)."""
        params = {
            "before": before,
            "tenant": tenant,
            "after_tenant": after[0],
            "after_id": after[1],
            "limit": limit,
        }
        rows = self._read_all(
            self.prune_queries["prune_candidates"], params, what="finding instances to prune"
        )
        return [
            PruneCandidate(
                tenant=str(row["tenant"]),
                id=str(row["id"]),
                version=int(row["version"]),
                updated_at=int(row["updated_at"]),
            )
            for row in rows
        ]

    def prune_totals(self, before: int, *, tenant: str | None) -> PruneTotals:
        """What removing every candidate would remove (see `PruneStore`)."""
        rows = self._read_all(
            self.prune_queries["prune_totals"],
            {"before": before, "tenant": tenant},
            what="counting instances to prune",
        )
        row = rows[0]
        return PruneTotals(
            candidates=int(row["candidates"]),
            audit_rows=int(row["audit_rows"]),
            held=int(row["held"]),
            held_audit_rows=int(row["held_audit_rows"]),
            stream_head=int(row["stream_head"]),
            stream_head_audit_rows=int(row["stream_head_audit_rows"]),
        )

    def instance_rows(self, tenant: str, instance_id: str) -> dict[str, Row | list[Row]] | None:
        """The instance row and every row it owns, as stored, in one snapshot."""
        return self.instances_rows([(tenant, instance_id)]).get((tenant, instance_id))

    def instances_rows(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, Row | list[Row]]]:
        """`instance_rows` of several instances, one query per table, by key (a key with no
        instance is left out)."""
        if not keys:
            return {}
        params = {
            "keys": json.dumps([list(key) for key in keys]),
            "tenants": [tenant for tenant, _ in keys],
            "ids": [instance_id for _, instance_id in keys],
        }
        queries = self.prune_queries
        found: dict[tuple[str, str], dict[str, Row | list[Row]]] = {}
        with self._transaction(write=False, what=f"reading {len(keys)} instances to archive") as tx:
            for row in tx.all(queries["prune_read_instance"], params):
                found[(row["tenant"], row["id"])] = {
                    "instance": row,
                    **{table: [] for table in PRUNED_TABLES},
                }
            for table in PRUNED_TABLES:
                for row in tx.all(queries[f"prune_read_{table}"], params):
                    owner = found.get((row["tenant"], row["instance_id"]))
                    rows = None if owner is None else owner[table]
                    if isinstance(rows, list):
                        rows.append(row)
        return found

    def stream_head(self) -> tuple[str, str] | None:
        """The instance holding the newest audit row, where it is kept (see `PruneStore`)."""
        query = self.prune_queries.get("prune_stream_head")
        if query is None:
            return None
        rows = self._read_all(query, {}, what="reading the newest audit row")
        return (str(rows[0]["tenant"]), str(rows[0]["instance_id"])) if rows else None

    def remove_instance(
        self, tenant: str, instance_id: str, *, before: int, version: int
    ) -> PruneOutcome:
        """Remove the instance and its rows in one transaction, or nothing and why (see
        `PruneStore`)."""
        key = {"tenant": tenant, "id": instance_id}
        what = f"pruning instance {instance_id!r} of tenant {tenant!r}"
        alone = self.prune_queries.get("prune_remove_alone")
        if alone is not None:
            params = {**key, "before": before, "version": version}
            rows = self._write_all(alone, params, what=what)
            if rows and int(rows[0]["instances"]) == 1:
                return PruneOutcome(removed={t: int(rows[0][t]) for t in _COUNTED})
        try:
            with self._prune_transaction(what) as tx:
                return self._remove(tx, key, before, version)
        except _LogMismatch:
            return PruneOutcome(removed={}, held="log_mismatch")

    def _remove(self, tx: Transaction, key: Params, before: int, version: int) -> PruneOutcome:
        queries = self.prune_queries
        if "prune_relax_commit" in queries:
            tx.one(queries["prune_relax_commit"], {})
        row = tx.one(queries["prune_lock_instance"], key)
        if row is None:
            return PruneOutcome(removed={}, held="gone")
        if (
            int(row["version"]) != version
            or row["status"] not in FINISHED
            or int(row["updated_at"]) >= before
        ):
            return PruneOutcome(removed={}, held="changed")
        if row["undelivered"]:
            return PruneOutcome(removed={}, held="undelivered_outbox")
        if "prune_holds_stream_head" in queries:
            head = tx.one(queries["prune_holds_stream_head"], key)
            if head is not None and head["holds"]:
                return PruneOutcome(removed={}, held="stream_head")
        if "prune_delete_rows" in queries:
            counted = tx.one(queries["prune_delete_rows"], key) or {}
            removed = {table: int(counted[table]) for table in PRUNED_TABLES}
        else:
            removed = {
                table: tx.run(queries[f"prune_delete_{table}"], key) for table in PRUNED_TABLES
            }
        removed["instances"] = tx.run(queries["prune_delete_instance"], {**key, "version": version})
        if removed["instances"] != 1 or removed["audit"] != version:
            # An instance's log holds one row per version; `verify` reports this one. The
            # exception rolls the removal back whole.
            raise _LogMismatch
        return PruneOutcome(removed=removed)

    def prune_lock(self) -> AbstractContextManager[None]:
        """Hold the database's pruning lock for a run (see `PruneStore`)."""
        return self._prune_lock()

    def after_prune(self) -> None:
        """Drop counts per state that fell to zero (SQLite) or fold the count changes the
        removals appended (PostgreSQL)."""
        if "prune_drop_empty_counts" in self.prune_queries:
            self._run_alone(
                self.prune_queries["prune_drop_empty_counts"], {}, what="tidying the state counts"
            )
        self.fold_state_counts()


class _LogMismatch(Exception):
    """An instance's audit rows are not one per version: its removal is rolled back."""
