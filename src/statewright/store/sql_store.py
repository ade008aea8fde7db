"""What the SQLite and PostgreSQL stores share: every operation, written once over named queries.

A backend supplies its queries (same names in both `queries.sql` files), its migrations and
two hooks: open a transaction (`Transaction` runs queries and migration scripts in it) and
reserve creation sequence numbers. PostgreSQL's queries also include advisory locks
(`lock_migrations`, `lock_definition`) that SQLite's single writer makes unnecessary.
Everything else lives here once (the writes of `commit_transition` in `commit.py`),
so that the two backends cannot drift (httpx's BaseClient under Client and AsyncClient).

Two optional hooks save round trips: `_read_one` and `_run_alone` run a lone statement
outside an explicit transaction, and `fast_paths` holds statements that do alone what a
transaction of several queries would (PostgreSQL writes a quiet transition, the instance
update and its audit row, in one). A fast path that changes no row has written nothing;
the general path then runs and finds out why.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from types import MappingProxyType
from typing import ClassVar

from statewright.errors import InternalError, StatewrightError, StoreUnavailable
from statewright.store.commit import check_write, write_transition
from statewright.store.commit_batch import batchable, write_batch
from statewright.store.fast_params import (
    quiet_group_params,
    quiet_params,
    start_params,
    work_params,
)
from statewright.store.records import (
    AuditRecord,
    DefinitionRecord,
    IdempotencyRecord,
    InstanceRecord,
    OutboxDelivered,
    OutboxFailed,
    OutboxRecord,
    ScheduleTickRecord,
    StepAttemptRecord,
    StepRecord,
    TimerRecord,
    TransitionWrite,
)
from statewright.store.schema import SchemaOps
from statewright.store.sql_files import Migration
from statewright.store.sql_pruning import PruneRows
from statewright.store.sql_queries import OperatorQueries
from statewright.store.sql_stream import StreamRows
from statewright.store.sql_tokens import TokenRows
from statewright.store.sql_workers import WorkerRows
from statewright.store.transaction import Params, Row, Transaction, params_of
from statewright.store.url import redact_url

__all__ = ["LIST_FILTERS", "SqlStore", "committing", "list_instances_sql"]

#: The filters of list_instances, each a `filter_<name>` fragment in queries.sql.
LIST_FILTERS = ("tenant", "definition_id", "status", "runtime_status", "after_id")


class SqlStore(SchemaOps, WorkerRows, OperatorQueries, TokenRows, StreamRows, PruneRows, ABC):
    """The `Store` operations over a backend's named queries; see the module docstring."""

    #: The backend's named queries and migrations, set by each subclass.
    queries: ClassVar[Mapping[str, str]]
    migrations: ClassVar[tuple[Migration, ...]]
    #: Statements that do alone what a transaction of several queries would, where the
    #: backend can (PostgreSQL's `fast_paths.sql`); each is optional.
    fast_paths: ClassVar[Mapping[str, str]] = MappingProxyType({})

    url: str

    # -- hooks --------------------------------------------------------------------------------

    @abstractmethod
    def _transaction(self, *, write: bool, what: str) -> AbstractContextManager[Transaction]:
        """One transaction: committed on success, rolled back on any error.

        Database errors come out as `StoreError`s whose message starts with `what`.
        """

    def _read_one(self, sql: str, params: Params, *, what: str) -> Row | None:
        """The first row of one query, read on its own (one statement reads one snapshot,
        so a backend may run it outside an explicit transaction, in fewer round trips)."""
        with self._transaction(write=False, what=what) as tx:
            return tx.one(sql, params)

    def _read_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        """Every row of one query, read on its own (see `_read_one`)."""
        with self._transaction(write=False, what=what) as tx:
            return tx.all(sql, params)

    def _write_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        """Run one writing statement (a claim: UPDATE ... RETURNING) as a transaction of its
        own; the rows it returns."""
        with self._transaction(write=True, what=what) as tx:
            return tx.all(sql, params)

    def _claim_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        """Run one claim (UPDATE of the due rows, LIMIT n, RETURNING) as a transaction of its
        own; the rows it returns. A backend may plan it for its values each time."""
        return self._write_all(sql, params, what=what)

    def _run_alone(self, sql: str, params: Params, *, what: str) -> int:
        """Run one statement as a transaction of its own; the number of rows it changed."""
        with self._transaction(write=True, what=what) as tx:
            return tx.run(sql, params)

    @abstractmethod
    def _work_committed(self) -> None:
        """A committed transaction created work: wake the workers waiting for some (SQLite:
        a datagram to each, PostgreSQL: a NOTIFY), after the commit so that they see it."""

    def _audit_committed(self) -> None:
        """Transitions were committed (audit rows): wake the live streams of other processes
        where the backend can (PostgreSQL: a NOTIFY after the commit; SQLite streams poll)."""

    @abstractmethod
    def _reserve_work_seq(self, tx: Transaction, count: int) -> list[int]:
        """`count` new increasing creation numbers (timers, steps, outbox)."""

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return redact_url(self.url)

    # -- definitions --------------------------------------------------------------------------

    def save_definition(
        self, definition_id: str, hash: str, config: str, now: int
    ) -> DefinitionRecord:
        """Store a definition, or return the stored one with the same id and hash.

        A new hash for a known id gets the next version number.
        """
        params = {"id": definition_id, "hash": hash, "config": config, "created_at": now}
        with self._transaction(write=True, what=f"saving definition {definition_id!r}") as tx:
            self._lock(tx, "lock_definition", params)
            row = tx.one(self.queries["find_definition_by_hash"], params)
            if row is None:
                tx.run(self.queries["insert_definition"], params)
                row = tx.one(self.queries["find_definition_by_hash"], params)
        if row is None:  # pragma: no cover - the insert above would have raised
            raise InternalError(f"definition {definition_id!r} vanished right after its insert")
        return DefinitionRecord(**row)

    def get_definition(
        self, definition_id: str, version: int | None = None
    ) -> DefinitionRecord | None:
        """A definition by id and version (the latest when `version` is None)."""
        query = "get_latest_definition" if version is None else "get_definition"
        row = self._read_one(
            self.queries[query],
            {"id": definition_id, "version": version},
            what=f"reading definition {definition_id!r}",
        )
        return None if row is None else DefinitionRecord(**row)

    def _after_heartbeat(self) -> None:
        """On PostgreSQL, fold the count changes appended meanwhile (`fold_state_counts`)."""
        self.fold_state_counts()

    def list_definitions(self) -> list[DefinitionRecord]:
        """The latest version of every definition, by id."""
        rows = self._read_all(self.queries["list_definitions"], {}, what="listing definitions")
        return [DefinitionRecord(**row) for row in rows]

    # -- instances ----------------------------------------------------------------------------

    def commit_transition(self, write: TransitionWrite) -> None:
        """Commit a transition whole: instance row, audit row, effect rows, idempotency row.

        Args:
            write: everything the transition writes; `write.audit.seq` must be
                `expected_version + 1` and becomes the instance's version.

        Raises:
            InstanceExists: `expected_version` is 0 and the instance id is taken.
            DefinitionMoved: `latest_definition` is set and the definition has a newer
                version than `definition_version`.
            VersionConflict: the instance's version is no longer `expected_version`.
            NotFound: the instance does not exist (for `expected_version` > 0).
            IdempotencyConflict: the idempotency key is already recorded for the instance.
            StoreError: the database refused the write (a duplicate outbox `message_id`,
                a definition that was never saved, ...); nothing was written.
            InternalError: the write is inconsistent (audit row of another instance, or a
                sequence number other than `expected_version + 1`).
        """
        check_write(write)
        if self._commit_alone((write,)):
            return
        what = committing((write,))
        with self._transaction(write=True, what=what) as tx:
            write_transition(tx, self.queries, write, self._reserve_work_seq)
        self._audit_committed()
        if _creates_work(write):
            self._work_committed()

    def commit_transitions(
        self,
        writes: Sequence[TransitionWrite],
        *,
        before_commit: Callable[[], None] | None = None,
    ) -> list[StatewrightError | None]:
        """Commit several transitions in ONE database transaction (group commit: one flush
        to disk for all of them), each as `commit_transition` would.

        A write that `commit_transition` would refuse (VersionConflict, WorkGone,
        IdempotencyConflict, a row the database refuses, ...) is left out and the others are
        committed without it: the result holds, at each write's index, None for committed
        or the error that write got. Writes of the same instance must come in version order.

        `before_commit`, if given, is called once: on the short paths (`_commit_alone`) just
        before the statement that commits, on the others before they start.

        Raises:
            StoreUnavailable: the database cannot be reached; nothing was committed.
            InternalError: a write is inconsistent (see `commit_transition`).
        """
        for write in writes:
            check_write(write)
        what = committing(writes)
        if before_commit is not None:
            before_commit = _once(before_commit)
        if self._commit_alone(writes, before_commit):
            return [None] * len(writes)
        if before_commit is not None:
            before_commit()
        if batchable(writes) and self._commit_batch(writes, what):
            return [None] * len(writes)
        outcomes: list[StatewrightError | None] = [None] * len(writes)
        pending = list(range(len(writes)))
        while pending:
            failed: int | None = None
            try:
                with self._transaction(write=True, what=what) as tx:
                    for failed in pending:
                        write_transition(tx, self.queries, writes[failed], self._reserve_work_seq)
                    failed = None
            except StoreUnavailable:
                raise
            except StatewrightError as error:
                if failed is None:
                    raise  # the commit itself failed: no write is to blame
                # The transaction was rolled back whole: try again without the failed write.
                outcomes[failed] = error
                pending.remove(failed)
                continue
            self._audit_committed()
            if any(_creates_work(writes[i]) for i in pending):
                self._work_committed()
            return outcomes
        return outcomes

    def _commit_alone(
        self,
        writes: Sequence[TransitionWrite],
        before_commit: Callable[[], None] | None = None,
    ) -> bool:
        """Commit `writes` with one statement of the backend's `fast_paths`, if it has one
        that can write them (`fast_params.py`): a start, a quiet transition, or transitions
        of existing instances. True: written. False: nothing was written (no such statement,
        or the case was not the simple one: the id is taken, a newer definition, the version
        moved, the work consumed, a row the database refuses, ...); the general path runs
        and finds out why. `before_commit` is called just before the statement runs."""
        if not self.fast_paths or not writes:
            return False
        name, params = _fast_path(writes)
        sql = self.fast_paths.get(name)
        if sql is None or params is None:
            return False
        if before_commit is not None:
            before_commit()
        try:
            written = self._run_alone(sql, params, what=committing(writes)) == 1
        except StoreUnavailable:
            raise
        except StatewrightError:
            return False
        if written:
            self._audit_committed()
        if written and any(_creates_work(write) for write in writes):
            self._work_committed()
        return written

    def _commit_batch(self, writes: Sequence[TransitionWrite], what: str) -> bool:
        """Try to commit a whole batch query by query (`commit_batch.py`); False, having
        written nothing, if some write would be refused."""
        try:
            with self._transaction(write=True, what=what) as tx:
                if not write_batch(tx, self.queries, writes, self._reserve_work_seq):
                    raise _Refused
        except _Refused:
            return False
        except StoreUnavailable:
            raise
        except StatewrightError:
            return False  # e.g. a row the database refuses: the one-by-one path names it
        self._audit_committed()
        if any(_creates_work(write) for write in writes):
            self._work_committed()
        return True

    def load_instance(self, tenant: str, instance_id: str) -> InstanceRecord | None:
        """The instance, or None if this tenant has no instance with this id."""
        row = self._read_one(
            self.queries["load_instance"],
            {"tenant": tenant, "id": instance_id},
            what=f"loading {instance_id!r}",
        )
        return None if row is None else InstanceRecord(**row)

    def load_instances(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], InstanceRecord]:
        """The instances with these (tenant, id) keys, in one query, by key; a key with no
        instance is left out."""
        if not keys:
            return {}
        params = {
            "keys": json.dumps([list(key) for key in keys]),
            "tenants": [tenant for tenant, _ in keys],
            "ids": [instance_id for _, instance_id in keys],
        }
        rows = self._read_all(
            self.queries["load_instances"], params, what=f"loading {len(keys)} instances"
        )
        records = (InstanceRecord(**row) for row in rows)
        return {(record.tenant, record.id): record for record in records}

    def list_instances(
        self,
        tenant: str | None,
        *,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[InstanceRecord]:
        """Instances of a tenant (of every tenant for None: admin tools only), filtered,
        ordered by (tenant, id), paged with `after_id` (an id of the same tenant).

        Raises:
            ValueError: `after_id` without a tenant (ids repeat across tenants), or a
                `limit` below 1.
        """
        if after_id is not None and tenant is None:
            raise ValueError("after_id pages within one tenant; pass the tenant too")
        _check_limit(limit)
        params: dict[str, object] = {
            "tenant": tenant,
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
            "after_id": after_id,
            "limit": limit,
        }
        sql = list_instances_sql(
            self.queries, [name for name in LIST_FILTERS if params[name] is not None]
        )
        rows = self._read_all(sql, params, what="listing instances")
        return [InstanceRecord(**row) for row in rows]

    def history(
        self, tenant: str, instance_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditRecord]:
        """Audit rows of an instance in sequence order, after `after_seq`, at most `limit`.

        Raises:
            ValueError: a `limit` below 1.
        """
        _check_limit(limit)
        params = {
            "tenant": tenant,
            "instance_id": instance_id,
            "after_seq": after_seq,
            "limit": limit,
        }
        rows = self._read_all(
            self.queries["history"], params, what=f"reading the history of {instance_id!r}"
        )
        return [AuditRecord(**row) for row in rows]

    def find_idempotency(self, tenant: str, instance_id: str, key: str) -> IdempotencyRecord | None:
        """The remembered send under this idempotency key, if any."""
        params = {"tenant": tenant, "instance_id": instance_id, "key": key}
        with self._transaction(
            write=False, what=f"reading an idempotency key of {instance_id!r}"
        ) as tx:
            row = tx.one(self.queries["find_idempotency"], params)
        return None if row is None else IdempotencyRecord(**row)

    def pending_timers(self, tenant: str, instance_id: str) -> list[TimerRecord]:
        """The instance's pending timers in firing order (due time, then creation)."""
        return [
            TimerRecord(**row) for row in self._instance_rows("pending_timers", tenant, instance_id)
        ]

    def claim_timers(self, now: int, lease_ms: int, limit: int = 100) -> list[TimerRecord]:
        """Claim timers of every tenant due at `now` for `lease_ms` (no other worker gets them
        until then), in firing order (due time, then creation)."""
        _check_limit(limit)
        params = {"now": now, "lease_until": now + lease_ms, "limit": limit}
        rows = self._claim_all(self.queries["claim_timers"], params, what="claiming due timers")
        timers = [TimerRecord(**row) for row in rows]
        return sorted(timers, key=lambda timer: (timer.due_at, timer.created_seq))

    def due_timers(self, now: int, limit: int = 100) -> list[TimerRecord]:
        """Timers of every tenant due at `now`, in firing order (due time, then creation)."""
        rows = self._read_all(
            self.queries["due_timers"], {"now": now, "limit": limit}, what="reading due timers"
        )
        return [TimerRecord(**row) for row in rows]

    def due_outbox(
        self,
        now: int,
        limit: int = 100,
        lease_ms: int = 60_000,
        *,
        types: Sequence[str] | None = None,
        skip: Sequence[str] = (),
        started: int | None = None,
    ) -> list[OutboxRecord]:
        """Claim pending outbox messages due at `now` for `lease_ms`, of the event types
        `types` matches, but those in `skip`, starting the first `started` (see the
        protocol)."""
        if types is not None and not types:
            return []
        params = {
            "now": now,
            "limit": limit,
            "lease_until": now + lease_ms,
            "tried": json.dumps(list(skip)) if skip else None,
            "started": limit if started is None else started,
            **_types(types),
        }
        rows = self._claim_all(
            self.queries["due_outbox"], params, what="claiming due outbox messages"
        )
        rows.sort(key=lambda row: (not row.pop("started"), row.pop("created_seq")))
        return [OutboxRecord(**row) for row in rows]

    def start_outbox(
        self,
        message: OutboxRecord,
        now: int,
        lease_until: int,
        *,
        after: OutboxDelivered | OutboxFailed | None = None,
    ) -> tuple[bool, OutboxRecord | None]:
        """Start the delivery of a message held uncharged, in one write with the outcome of
        the delivery before it (see the protocol)."""
        params = {
            "next_id": message.message_id,
            "next_attempts": message.attempts,
            "held_until": message.next_attempt_at,
            "lease_until": lease_until,
            "now": now,
        }
        what = f"starting the delivery of {message.message_id!r}"
        if after is None:
            rows = self._write_all(self.queries["start_outbox"], params, what=what)
            return True, (OutboxRecord(**rows[0]) if rows else None)
        if isinstance(after, OutboxDelivered):
            params |= {"message_id": after.message.message_id, "attempts": after.message.attempts}
            rows = self._write_all(self.queries["outbox_delivered_start"], params, what=what)
            by_id = {row["message_id"]: row for row in rows}
            started = by_id.get(message.message_id)
            recorded = after.message.message_id in by_id
            return recorded, (None if started is None else OutboxRecord(**started))
        with self._transaction(write=True, what=what) as tx:
            recorded = self._record_failure(tx, after)
            row = tx.one(self.queries["start_outbox"], params)
        return recorded, (None if row is None else OutboxRecord(**row))

    def renew_outbox_lease(self, message: OutboxRecord, held_until: int, lease_until: int) -> bool:
        """Heartbeat: extend a claimed message's lease, held until `held_until`, to
        `lease_until`; False if the claim is no longer ours (the message was delivered or
        failed, or claimed again after the lease ran out)."""
        params = {
            "message_id": message.message_id,
            "attempts": message.attempts,
            "held_until": held_until,
            "lease_until": lease_until,
        }
        return (
            self._run_alone(
                self.queries["renew_outbox_lease"],
                params,
                what=f"renewing the claim on {message.message_id!r}",
            )
            == 1
        )

    def outbox_delivered(self, message: OutboxRecord, now: int) -> bool:
        """Mark a claimed message delivered; False if the claim is no longer ours."""
        params = {"message_id": message.message_id, "attempts": message.attempts, "now": now}
        return (
            self._run_alone(
                self.queries["outbox_delivered"],
                params,
                what=f"marking {message.message_id!r} delivered",
            )
            == 1
        )

    def outbox_failed(
        self,
        message: OutboxRecord,
        *,
        error: str,
        next_attempt_at: int,
        dead: bool,
        attempts: int | None = None,
    ) -> bool:
        """Record a failed attempt: try again at `next_attempt_at`, or dead-letter it (see the
        protocol)."""
        failure = OutboxFailed(
            message=message,
            error=error,
            next_attempt_at=next_attempt_at,
            dead=dead,
            attempts=attempts,
        )
        what = f"recording a failed delivery of {message.message_id!r}"
        with self._transaction(write=True, what=what) as tx:
            return self._record_failure(tx, failure)

    def _record_failure(self, tx: Transaction, failure: OutboxFailed) -> bool:
        """Record `failure` in `tx`; False if the claim on its message is no longer ours."""
        message = failure.message
        params = {
            "message_id": message.message_id,
            "attempts": message.attempts,
            "recorded_attempts": message.attempts if failure.attempts is None else failure.attempts,
            "status": "dead" if failure.dead else "pending",
            "next_attempt_at": failure.next_attempt_at,
            "error": failure.error,
        }
        if tx.run(self.queries["outbox_failed"], params) != 1:
            return False
        if failure.dead:
            # Drawn after the UPDATE above locked the outbox table, so that a redrive's dry
            # run can tell when every number up to its marker is settled (`dead_letter_marker`).
            (seq,) = self._reserve_work_seq(tx, 1)
            tx.run(
                self.queries["outbox_dead_seq"],
                {"message_id": message.message_id, "dead_seq": seq},
            )
        return True

    def dead_letters(self, limit: int = 100) -> list[OutboxRecord]:
        """Dead-lettered messages of every tenant, oldest first (admin tools)."""
        rows = self._read_all(
            self.queries["dead_letters"], {"limit": limit}, what="reading dead letters"
        )
        return [OutboxRecord(**row) for row in rows]

    def redrive(self, message_id: str, now: int) -> bool:
        """Put a dead-lettered message back to pending with its attempts reset."""
        return (
            self._run_alone(
                self.queries["redrive_outbox"],
                {"message_id": message_id, "now": now},
                what=f"redriving {message_id!r}",
            )
            == 1
        )

    def claim_steps(
        self, now: int, lease_ms: int, limit: int = 10, *, srcs: Sequence[str] | None = None
    ) -> list[StepRecord]:
        """Claim step runs due at `now` for `lease_ms`; each claim counts as an attempt.

        With `srcs`, only runs of those step sources (what the claiming worker provides):
        the others stay pending, uncharged. An empty `srcs` claims nothing.
        """
        _check_limit(limit)
        if srcs is not None and not srcs:
            return []
        params = {"now": now, "lease_until": now + lease_ms, "limit": limit, **_srcs(srcs)}
        rows = self._claim_all(self.queries["claim_steps"], params, what="claiming steps")
        return [StepRecord(**row) for row in rows]

    def renew_step_leases(self, steps: Sequence[StepRecord], lease_until: int) -> list[bool]:
        """Heartbeat: extend the leases of claimed step runs to `lease_until`; for each, False
        if the claim is no longer ours (the run was stopped, finished, or claimed again)."""
        if not steps:
            return []
        params = [{**_claim_key(step), "lease_until": lease_until} for step in steps]
        with self._transaction(write=True, what=f"renewing {len(steps)} step leases") as tx:
            return [count == 1 for count in tx.run_each(self.queries["renew_step_lease"], params)]

    def retry_step(
        self,
        step: StepRecord,
        *,
        next_attempt_at: int,
        error: str,
        attempt: StepAttemptRecord | None = None,
    ) -> bool:
        """Schedule a claimed step run's next attempt, keeping the failed `attempt` for the
        history in the same transaction; False (nothing written) if it was stopped or
        reclaimed."""
        params = {**_claim_key(step), "next_attempt_at": next_attempt_at, "error": error}
        instance = {"tenant": step.tenant, "id": step.instance_id}
        with self._transaction(write=True, what=f"retrying step {step.invoke_id!r}") as tx:
            # The instance first, then its step: the order of a transition that stops it.
            tx.one(self.queries["lock_instance"], instance)
            if tx.run(self.queries["retry_step"], params) != 1:
                return False
            if attempt is not None:
                tx.run(self.queries["insert_step_attempt"], params_of(attempt))
            tx.run(self.queries["compute_runtime_status"], instance)
        return True

    @property
    def listening(self) -> bool:
        """Every waiting worker is woken for new work and due times (see Store)."""
        return True

    def wait_for_work(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for another process to create work; here, just wait."""
        time.sleep(max(0.0, timeout_s))
        return False

    def next_work_at(
        self,
        *,
        outbox: bool,
        outbox_types: Sequence[str] | None = None,
        srcs: Sequence[str] | None = None,
        timers: bool = True,
        steps: bool = True,
    ) -> int | None:
        """The earliest time a timer (with `timers`), step run (with `steps`, of the sources
        `srcs`, all for None) or, with `outbox`, an outbox message of the event types
        `outbox_types` matches is due."""
        times = []
        if outbox and outbox_types is not None and not outbox_types:
            outbox = False
        queries = (
            ["next_work_at" if timers and steps else "next_timer_at" if timers else "next_step_at"]
            if timers or steps
            else []
        )
        if outbox:
            queries.append("next_outbox_at")
        for query in queries:
            params = _types(outbox_types) if query == "next_outbox_at" else _srcs(srcs)
            row = self._read_one(self.queries[query], params, what="finding the next due work")
            if row is not None and row["at"] is not None:
                times.append(int(str(row["at"])))
        return min(times, default=None)

    def last_tick(self, name: str) -> int | None:
        """The latest tick of a schedule any worker claimed, or None."""
        row = self._read_one(
            self.queries["last_tick"], {"name": name}, what=f"reading schedule {name!r}"
        )
        return None if row is None or row["at"] is None else int(str(row["at"]))

    def claim_tick(self, name: str, tick_at: int, now: int, lease_ms: int) -> int | None:
        """Claim a schedule's tick: its claim number for exactly one worker (1, or one more
        for each take-over), None for the others."""
        params = {"name": name, "tick_at": tick_at, "now": now, "lease_until": now + lease_ms}
        with self._transaction(write=True, what=f"claiming a tick of {name!r}") as tx:
            if tx.run(self.queries["insert_tick"], params) == 1:
                return 1
            if tx.run(self.queries["take_over_tick"], params) != 1:
                return None
            row = tx.one(self.queries["tick_claims"], params)
            assert row is not None  # just updated, in this transaction
            return int(row["claims"])

    def renew_tick(self, name: str, tick_at: int, claims: int, now: int, lease_ms: int) -> bool:
        """Extend the lease of a tick this worker holds as claim number `claims`: False if
        another worker has taken it over (or it is done)."""
        params = {"name": name, "tick_at": tick_at, "claims": claims, "lease_until": now + lease_ms}
        with self._transaction(write=True, what=f"renewing a tick of {name!r}") as tx:
            return tx.run(self.queries["renew_tick"], params) == 1

    def finish_tick(self, name: str, tick_at: int) -> None:
        """Mark a claimed tick done."""
        self._run_alone(
            self.queries["finish_tick"],
            {"name": name, "tick_at": tick_at},
            what=f"finishing a tick of {name!r}",
        )

    def last_ticks(self, names: Sequence[str]) -> list[ScheduleTickRecord]:
        """The latest claimed tick of each named schedule (none for one never claimed)."""
        if not names:
            return []
        rows = self._read_all(
            self.queries["last_ticks"],
            {"names": sorted(set(names)), "names_json": json.dumps(sorted(set(names)))},
            what=f"reading the last ticks of {len(names)} schedules",
        )
        return [ScheduleTickRecord(**row) for row in rows]

    def ticked_schedules(self, since: int) -> list[ScheduleTickRecord]:
        """The latest claimed tick of every schedule whose latest tick is at `since` or
        later, by name."""
        rows = self._read_all(
            self.queries["ticked_schedules"],
            {"since": since},
            what="reading the schedules known from their ticks",
        )
        return [ScheduleTickRecord(**row) for row in rows]

    def steps(self, tenant: str, instance_id: str) -> list[StepRecord]:
        """The instance's step runs not yet finished, in creation order."""
        return [StepRecord(**row) for row in self._instance_rows("steps", tenant, instance_id)]

    def outbox(self, tenant: str, instance_id: str) -> list[OutboxRecord]:
        """The instance's outbox messages, in creation order."""
        return [OutboxRecord(**row) for row in self._instance_rows("outbox", tenant, instance_id)]

    def _instance_rows(self, query: str, tenant: str, instance_id: str) -> list[Row]:
        return self._read_all(
            self.queries[query],
            {"tenant": tenant, "instance_id": instance_id},
            what=f"reading the {query} of {instance_id!r}",
        )

    def tenants(self) -> list[str]:
        """Every tenant that has instances, sorted (admin tools only)."""
        rows = self._read_all(self.queries["tenants"], {}, what="listing tenants")
        return [str(row["tenant"]) for row in rows]

    def count_instances(self, tenant: str | None = None) -> int:
        """How many instances there are (for one tenant, or all)."""
        query = "count_instances" if tenant is None else "count_tenant_instances"
        row = self._read_one(self.queries[query], {"tenant": tenant}, what="counting instances")
        return int(row["count"]) if row else 0


def list_instances_sql(queries: Mapping[str, str], filters: Sequence[str]) -> str:
    """The list_instances query for a set of filters (names from `LIST_FILTERS`).

    Only fixed fragments from the query file are joined, never input, so that each
    combination of filters gets a plain `AND` of equalities its index serves.
    """
    where = " AND ".join(queries[f"filter_{name}"] for name in filters)
    return queries["list_instances"].format(where=where or "1 = 1")


def _claim_key(step: StepRecord) -> dict[str, object]:
    """The parameters naming one claim of a step run: the run and its attempt."""
    return {
        "tenant": step.tenant,
        "instance_id": step.instance_id,
        "invoke_id": step.invoke_id,
        "started_version": step.started_version,
        "attempts": step.attempts,
    }


class _Refused(Exception):
    """A batch write would be refused: roll the batch back."""


def committing(writes: Sequence[TransitionWrite]) -> str:
    """What committing `writes` is, as the start of a database error's message."""
    if len(writes) == 1:
        return f"committing a transition of {writes[0].instance_id!r}"
    return f"committing {len(writes)} transitions"


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")


def _fast_path(writes: Sequence[TransitionWrite]) -> tuple[str, Params | None]:
    """The one-statement write for `writes` and its parameters (None: it cannot write them)."""
    if len(writes) == 1 and writes[0].expected_version == 0:
        return "commit_start", start_params(writes[0])
    if len(writes) == 1 and (params := quiet_params(writes[0])) is not None:
        if writes[0].instance.value == writes[0].audit.from_value:
            return "commit_quiet_same_value", params
        return "commit_quiet_transition", params
    if len(writes) > 1 and (params := quiet_group_params(writes)) is not None:
        return "commit_quiet_group", params
    return "commit_work", work_params(writes)


def _once(call: Callable[[], None]) -> Callable[[], None]:
    """`call`, run by the first call only."""
    pending = [call]

    def once() -> None:
        if pending:
            pending.pop()()

    return once


def _creates_work(write: TransitionWrite) -> bool:
    return bool(write.timers_scheduled or write.steps_started or write.outbox)


def _types(descriptors: Sequence[str] | None) -> dict[str, str | None]:
    """The `types` and `prefixes` parameters of the outbox claim: event-type descriptors as
    listeners use them (`"order.shipped"`, `"order.*"` for `order` and `order.<...>`, `"*"`)
    as JSON arrays of exact types and of type prefixes; both None for every type."""
    if descriptors is None or "*" in descriptors:
        return {"types": None, "prefixes": None}
    exact: list[str] = []
    prefixes: list[str] = []
    for descriptor in descriptors:
        tokens = descriptor.split(".")
        if len(tokens) > 1 and tokens[-1] == "*" and "*" not in tokens[:-1]:
            exact.append(descriptor[:-2])
            prefixes.append(descriptor[:-1])
        else:  # no wildcard ("*" elsewhere than last matches only itself)
            exact.append(descriptor)
    return {"types": json.dumps(exact), "prefixes": json.dumps(prefixes)}


def _srcs(srcs: Sequence[str] | None) -> dict[str, object]:
    """The step-source filter's parameters (both backends' spellings): None for every
    source, else the names (an empty list matches none)."""
    if srcs is None:
        return {"srcs": None, "srcs_json": None}
    names = sorted(set(srcs))
    return {"srcs": names, "srcs_json": json.dumps(names)}
