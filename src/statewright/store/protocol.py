"""The `Store` protocol: domain operations, each one short database transaction.

Two implementations: `statewright.store.sqlite.SqliteStore` (stdlib `sqlite3`, WAL, every
write `BEGIN IMMEDIATE`) and `statewright.store.postgres.PostgresStore` (psycopg 3 with a
connection pool). `statewright.store.open_store(url)` picks one from the URL. Both pass the
same contract suite (`statewright.testing.store_contract`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from statewright.errors import StatewrightError
from statewright.store.partitions import AuditPartitionStore
from statewright.store.pruning import PruneStore
from statewright.store.records import (
    AuditRecord,
    DefinitionRecord,
    IdempotencyRecord,
    InstanceRecord,
    OutboxDelivered,
    OutboxFailed,
    OutboxRecord,
    ScheduleTickRecord,
    StateCountRecord,
    StateMatch,
    StepAttemptRecord,
    StepRecord,
    TimerRecord,
    TransitionWrite,
    WorkCountRecord,
    WorkerRecord,
)
from statewright.store.stream import StreamMarker, StreamStore
from statewright.store.tokens import TokenStore

__all__ = ["SCHEMA_VERSION", "Store"]

#: The schema version this release needs; each backend ships migrations up to it.
SCHEMA_VERSION = 15


class Store(TokenStore, StreamStore, PruneStore, AuditPartitionStore, Protocol):
    """Persistence for definitions, instances, audit rows and the work transitions create."""

    url: str

    # -- schema -------------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The applied schema version; 0 for an empty database."""
        ...

    def migrate(self, *, lock_timeout_s: float | None = None) -> list[int]:
        """Apply every pending migration, in order, each in its own transaction.

        `lock_timeout_s` (PostgreSQL; None: no limit): the longest a migration waits for a
        lock on a table before it is rolled back.

        Returns:
            The versions applied (empty if up to date).

        Raises:
            MigrationBlocked: a migration waited `lock_timeout_s` for a lock and was
                rolled back (those before it stay applied); it names who holds the lock.
        """
        ...

    def create_schema(self) -> int:
        """Give an empty database the whole schema, in one transaction under the migration
        lock (a second process waits for it, then finds the schema made); a database that
        has a schema is left alone. Returns the schema version found or made."""
        ...

    def foreign_tables(self) -> list[str]:
        """A few of the tables of a database without a statewright schema (another
        application's); empty for an empty database or one of statewright's."""
        ...

    def watch_schema(self) -> None:
        """From now on, refuse every write (`SchemaOutOfDate`) once the schema is no longer
        this version's, as when a newer statewright migrates the database while this
        process runs (looked at before a write, at most every second)."""
        ...

    def check_writes(self) -> None:
        """Check that the store can take writes now (the API's readiness). SQLite: the file
        at the path is still the one the store opened (not deleted or replaced), and no
        write failed for a lasting reason (disk full, read-only) since the last that
        succeeded (a small write tries again while one had).

        Raises:
            StoreError: writes are refused or fail, naming the cause and the fix.
            StoreUnavailable: writes fail for now (the disk is full).
        """
        ...

    def server_clock_ms(self) -> int | None:
        """The database server's clock (ms since the Unix epoch), for a store on another
        host (PostgreSQL); None for one on this host's clock (SQLite)."""
        ...

    def check(self) -> None:
        """Check that a worker can use the database now, before it claims anything: the
        schema is this version's (SQLite: and the file is intact and writable).

        Raises:
            SchemaOutOfDate: the schema is not this version's.
            StoreError: the database is not statewright's, damaged or read-only.
            StoreUnavailable: the database cannot be reached for now.
        """
        ...

    # -- definitions --------------------------------------------------------------------------

    def save_definition(
        self, definition_id: str, hash: str, config: str, now: int
    ) -> DefinitionRecord:
        """Store a definition, or return the stored one with the same id and hash.

        A new hash for a known id gets the next version number.
        """
        ...

    def get_definition(
        self, definition_id: str, version: int | None = None
    ) -> DefinitionRecord | None:
        """A definition by id and version (the latest when `version` is None)."""
        ...

    def list_definitions(self) -> list[DefinitionRecord]:
        """The latest version of every definition, by id."""
        ...

    # -- instances ----------------------------------------------------------------------------

    def commit_transition(self, write: TransitionWrite) -> None:
        """Commit a transition whole: instance row, audit row, effect rows, idempotency row.

        Raises:
            InstanceExists: `expected_version` is 0 and the instance id is taken.
            DefinitionMoved: `latest_definition` is set and the definition has a newer
                version than `definition_version`.
            VersionConflict: the instance's version is no longer `expected_version`.
            NotFound: the instance does not exist (for `expected_version` > 0).
        """
        ...

    def commit_transitions(
        self,
        writes: Sequence[TransitionWrite],
        *,
        before_commit: Callable[[], None] | None = None,
    ) -> list[StatewrightError | None]:
        """Commit several transitions in ONE database transaction; a write that would be
        refused is left out and the others committed: per write, None or its error.

        `before_commit`, if given, is called at most once, before the writes can be seen by
        anyone else (just before the statement that commits them, or earlier), so that a
        caller can let other threads run while the database commits and flushes."""
        ...

    def load_instances(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], InstanceRecord]:
        """The instances with these (tenant, id) keys, by key, in one query."""
        ...

    def load_instance(self, tenant: str, instance_id: str) -> InstanceRecord | None:
        """The instance, or None if this tenant has no instance with this id."""
        ...

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
        ordered by (tenant, id), paged with `after_id` (an id of the same tenant)."""
        ...

    def history(
        self, tenant: str, instance_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditRecord]:
        """Audit rows of an instance in sequence order."""
        ...

    def find_idempotency(self, tenant: str, instance_id: str, key: str) -> IdempotencyRecord | None:
        """The remembered send under this idempotency key, if any."""
        ...

    def pending_timers(self, tenant: str, instance_id: str) -> list[TimerRecord]:
        """The instance's pending timers in firing order (due time, then creation)."""
        ...

    def due_timers(self, now: int, limit: int = 100) -> list[TimerRecord]:
        """Timers of every tenant due at `now`, in firing order (due time, then creation)."""
        ...

    def claim_timers(self, now: int, lease_ms: int, limit: int = 100) -> list[TimerRecord]:
        """Claim timers of every tenant due at `now` for `lease_ms` (no other worker gets them
        until then), in firing order (due time, then creation)."""
        ...

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
        """Claim pending outbox messages of every tenant due at `now` for `lease_ms`: no other
        worker gets them until then (if this one dies, they are due again after it). They
        come in delivery order: those started first, then by creation.

        A started message is charged an attempt (its `attempts` as returned counts it), so
        that a delivery lost with its worker has spent one. `started` says how many of the
        claimed messages are started now (the first due; None: all of them); the others are
        held for the lease uncharged, and `start_outbox` starts each when its turn comes, so
        that a worker lost during one delivery has charged no message it had not started.
        The claim is the message's `attempts` and `next_attempt_at` as returned, which
        `start_outbox`, `renew_outbox_lease`, `outbox_delivered` and `outbox_failed` check.

        With `types` (event-type descriptors as listeners use them: `"order.shipped"`,
        `"order.*"`, `"*"`), only messages whose event type one of them matches are claimed;
        the others stay pending, untouched, for a worker that has listeners for them. The
        messages whose ids are in `skip` are not claimed either."""
        ...

    def start_outbox(
        self,
        message: OutboxRecord,
        now: int,
        lease_until: int,
        *,
        after: OutboxDelivered | OutboxFailed | None = None,
    ) -> tuple[bool, OutboxRecord | None]:
        """Start the delivery of `message`, claimed and held uncharged (`due_outbox(...,
        started=...)`): charge its attempt and hold it until `lease_until`. In the same write,
        record `after`, the outcome of the delivery before it (a delivery recorded at `now`),
        so that a worker delivering a batch writes once per message.

        A held message whose lease ran out is started all the same unless another claim took
        it meanwhile (which moves its `next_attempt_at`): starting it takes a new lease.

        Returns whether `after` was recorded (False: its claim was no longer ours, as
        `outbox_delivered` and `outbox_failed` say; True without one), and `message` as
        started (its claim from now on), or None if the claim on it is no longer ours (another
        claim took it, or it was handled): then it was not started."""
        ...

    def renew_outbox_lease(self, message: OutboxRecord, held_until: int, lease_until: int) -> bool:
        """Heartbeat: extend a claimed message's lease, held until `held_until`, to
        `lease_until`; False if the claim is no longer ours (the message was delivered or
        failed, or claimed again after the lease ran out)."""
        ...

    def outbox_delivered(self, message: OutboxRecord, now: int) -> bool:
        """Mark a claimed message delivered (its attempts as the claim charged them); False if
        the claim is no longer ours (claimed again after its lease ran out, or handled)."""
        ...

    def outbox_failed(
        self,
        message: OutboxRecord,
        *,
        error: str,
        next_attempt_at: int,
        dead: bool,
        attempts: int | None = None,
    ) -> bool:
        """Record a failed attempt of a claimed message: try again at `next_attempt_at`, or
        dead-letter it; False if the claim is no longer ours.

        `attempts` records a count other than the claim's: one fewer when the claim gives a
        message up without delivering it (its last allowed attempt was lost with its worker),
        so that the attempt this claim charged but never made is not counted."""
        ...

    def dead_letters(self, limit: int = 100) -> list[OutboxRecord]:
        """Dead-lettered messages of every tenant, oldest first (admin tools)."""
        ...

    def redrive(self, message_id: str, now: int) -> bool:
        """Put a dead-lettered message back to pending with its attempts reset."""
        ...

    def claim_steps(
        self, now: int, lease_ms: int, limit: int = 10, *, srcs: Sequence[str] | None = None
    ) -> list[StepRecord]:
        """Claim step runs due at `now` (pending, retrying, or running with an expired lease:
        its worker died) for `lease_ms`; each claim counts as an attempt. With `srcs`, only
        runs of those step sources (the ones the claiming worker provides)."""
        ...

    def renew_step_leases(self, steps: Sequence[StepRecord], lease_until: int) -> list[bool]:
        """Heartbeat: extend claimed step runs' leases; False where the claim is not ours."""
        ...

    def retry_step(
        self,
        step: StepRecord,
        *,
        next_attempt_at: int,
        error: str,
        attempt: StepAttemptRecord | None = None,
    ) -> bool:
        """Schedule a claimed step run's next attempt, keeping the failed `attempt` for the
        history in the same transaction; False if it was stopped or reclaimed."""
        ...

    def record_step_attempts(self, attempts: Sequence[StepAttemptRecord]) -> None:
        """Keep failed step attempts for the history (e.g. one whose worker was lost)."""
        ...

    def step_attempts(self, tenant: str, instance_id: str) -> list[StepAttemptRecord]:
        """The instance's failed step attempts, in the order they ended."""
        ...

    def register_worker(self, worker: WorkerRecord, *, forget_before: int | None = None) -> None:
        """Record that a worker runs and what it provides (its heartbeat); with
        `forget_before`, forget the workers not heard of since then."""
        ...

    def remove_worker(self, worker_id: str) -> None:
        """Forget a worker that stopped cleanly."""
        ...

    def live_workers(self, alive_after: int) -> list[WorkerRecord]:
        """The workers heard of at or after `alive_after`, oldest first."""
        ...

    def wait_for_work(self, timeout_s: float) -> bool:
        """Return True when another process may have created work (PostgreSQL: a NOTIFY from
        its commit; one idle worker listens at a time), or False after `timeout_s` at the
        latest. NOTIFY is best-effort, hence the timeout; `timeout_s=0` checks for a wake-up
        that came already.

        Raises:
            StoreError: the store was closed, also by another thread during the wait
                (which ends it; the waiter releases the socket or connection it waited on).
        """
        ...

    @property
    def listening(self) -> bool:
        """Whether this process is the idle worker that wakes for new work and due times
        (PostgreSQL: one at a time, the holder of the listening turn; the others wait for
        the turn or their poll). True where every waiting worker is woken."""
        ...

    def next_work_at(
        self,
        *,
        outbox: bool,
        outbox_types: Sequence[str] | None = None,
        srcs: Sequence[str] | None = None,
        timers: bool = True,
        steps: bool = True,
    ) -> int | None:
        """The earliest time a timer (with `timers`), step run (with `steps`; of the step
        sources `srcs`, as in `claim_steps`; every source for None) or, with `outbox`, an
        outbox message of the event types `outbox_types` matches as in `due_outbox`, is due,
        over every tenant; None when nothing waits (for virtual-time harnesses, and for a
        worker's waits: its step loop waits for the steps, its other loop for the rest)."""
        ...

    def last_tick(self, name: str) -> int | None:
        """The latest tick of a schedule any worker claimed, or None."""
        ...

    def claim_tick(self, name: str, tick_at: int, now: int, lease_ms: int) -> int | None:
        """Claim a schedule's tick: for exactly one worker (or for the one taking over a
        claim whose lease expired unfinished) its claim number, 1 plus the take-overs before
        it; None for the others."""
        ...

    def renew_tick(self, name: str, tick_at: int, claims: int, now: int, lease_ms: int) -> bool:
        """Extend to `now + lease_ms` the lease of a tick held as claim number `claims`:
        False if another worker has taken it over since, or it is done."""
        ...

    def finish_tick(self, name: str, tick_at: int) -> None:
        """Mark a claimed tick done."""
        ...

    def last_ticks(self, names: Sequence[str]) -> list[ScheduleTickRecord]:
        """The latest claimed tick of each named schedule (none for one never claimed)."""
        ...

    def ticked_schedules(self, since: int) -> list[ScheduleTickRecord]:
        """The latest claimed tick of every schedule whose latest tick is at `since` (epoch
        ms) or later, by name: the schedules known from their ticks, whatever runs them."""
        ...

    def steps(self, tenant: str, instance_id: str) -> list[StepRecord]:
        """The instance's step runs not yet finished, in creation order."""
        ...

    def outbox(self, tenant: str, instance_id: str) -> list[OutboxRecord]:
        """The instance's outbox messages, in creation order."""
        ...

    def tenants(self) -> list[str]:
        """Every tenant that has instances, sorted (admin tools only)."""
        ...

    def count_instances(self, tenant: str | None = None) -> int:
        """How many instances there are (for one tenant, or all)."""
        ...

    # -- operators ----------------------------------------------------------------------------

    def find_instances(
        self,
        tenant: str,
        *,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        states: Sequence[StateMatch] | None = None,
        id_prefix: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[InstanceRecord]:
        """A tenant's instances by id, filtered as `list_instances` and, with `states`, to
        those in one of these business states (an empty `states` matches none), with
        `id_prefix` to those whose id starts with it (case-sensitive; a range of ids)."""
        ...

    def count_by_state(
        self,
        tenant: str,
        *,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        states: Sequence[StateMatch] | None = None,
    ) -> list[StateCountRecord]:
        """How many of a tenant's instances have each state value, per definition."""
        ...

    def work_summary(
        self, now: int, cap: int
    ) -> tuple[list[tuple[str, str, int]], list[WorkCountRecord]]:
        """Every tenant's work: instances per (status, runtime status), and the waiting work
        per kind, each count at most `cap` (an index range read up to it)."""
        ...

    def list_steps(
        self,
        tenant: str,
        *,
        instance_id: str | None = None,
        status: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> list[StepRecord]:
        """A tenant's unfinished step runs by (instance id, invoke id), after `after`."""
        ...

    def list_timers(
        self,
        tenant: str,
        *,
        instance_id: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> list[TimerRecord]:
        """A tenant's pending timers by (instance id, timer id), after `after`."""
        ...

    def retry_step_now(self, step: StepRecord, now: int) -> bool:
        """Make a step run waiting for its next attempt due at `now`; False if it is no
        longer that run, waiting."""
        ...

    def list_dead_letters(
        self,
        tenant: str,
        *,
        instance_id: str | None = None,
        event_type: str | None = None,
        message_id: str | None = None,
        after_id: str | None = None,
        through: int | None = None,
        limit: int = 100,
    ) -> list[OutboxRecord]:
        """A tenant's dead-lettered outbox messages by id, after `after_id` (with `through`,
        only those dead-lettered at or before that position of `dead_letter_marker`)."""
        ...

    def change_position(self, tenant: str, instance_id: str, version: int) -> int | None:
        """The live stream's position (`stream_seq`) of the audit row of an instance's
        `version`: 0 if older than the stream, None if there is none."""
        ...

    def dead_letter_marker(self) -> StreamMarker:
        """The last position drawn for a dead letter, and (PostgreSQL) the transactions then
        in flight: every letter dead-lettered up to it is committed once none of them is
        (`stream_settled`)."""
        ...

    def list_pending_outbox(
        self, tenant: str, *, after_id: str | None = None, limit: int = 100
    ) -> list[OutboxRecord]:
        """A tenant's outbox messages not delivered yet, by message id, after `after_id`."""
        ...

    def redrive_dead_letters(
        self,
        tenant: str,
        now: int,
        *,
        instance_id: str | None = None,
        event_type: str | None = None,
        message_id: str | None = None,
        through: int | None = None,
    ) -> int:
        """Put a tenant's matching dead letters (with `through`, only those dead-lettered at
        or before that position) back to pending now; how many."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
