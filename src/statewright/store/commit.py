"""`commit_transition`, once for both backends: every row of a transition in one transaction.

The order of the writes:

1. the instance row: inserted for a start (`ON CONFLICT DO NOTHING`: no row means the id is
   taken), else updated `WHERE version = expected_version` (no row: it is gone or moved on).
   The update comes first so that, on PostgreSQL, it locks the row for the rest. It is tried
   cheapest first: `update_instance_quiet` (status, definition and runtime status unchanged,
   for a transition that writes no timers and no steps: then step 7 is not needed), then
   `update_instance_kept` (status and definition unchanged), then `update_instance`, which
   sets every column; the first two set only unindexed columns, so that the instance's index
   entries are not rewritten on every transition;
2. the timer being handled deleted (if it is gone, the whole transition fails: it was
   handled already); cancelled timers deleted, scheduled ones upserted (a new creation
   number, so a replaced timer fires after the older ones due at the same time);
3. stopped steps deleted, started ones upserted (a restart resets status and attempts); the
   failed attempt of a step given up (`step_attempt`) kept for the history;
4. outbox rows inserted (a duplicate `message_id` fails the whole commit);
5. the idempotency row inserted (`ON CONFLICT DO NOTHING`: no row means the key is taken);
6. with `drop_pending_work`, every timer and step of the instance deleted;
7. with no `runtime_status` given, the instance's computed from the rows now present:
   the status if not active, else running with a step, waiting with a timer, else active
   (the row is written only if that changes it);
8. the audit row inserted, exactly as given.

Cancels come before schedules and stops before starts, so a state re-entered within one
macrostep ends with its new timer and its new step. Every statement is a primary-key or
index-prefix lookup: the cost does not grow with instances, timers or history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from statewright.errors import (
    DefinitionMoved,
    IdempotencyConflict,
    InstanceExists,
    InternalError,
    NotFound,
    VersionConflict,
    WorkGone,
)
from statewright.store.records import TransitionWrite
from statewright.store.transaction import Transaction, params_of

__all__ = ["ReserveSeq", "check_write", "instance_params", "write_transition"]

#: Reserves `count` increasing creation numbers in a transaction.
ReserveSeq = Callable[[Transaction, int], list[int]]


def write_transition(
    tx: Transaction, queries: Mapping[str, str], write: TransitionWrite, reserve: ReserveSeq
) -> None:
    """Write every row of `write` in the open transaction `tx` (see the module docstring).

    Raises:
        InstanceExists, VersionConflict, NotFound, IdempotencyConflict: as
            `Store.commit_transition`; the caller rolls the transaction back.
    """
    _Commit(tx, queries, write, reserve).run()


class _Commit:
    def __init__(
        self,
        tx: Transaction,
        queries: Mapping[str, str],
        write: TransitionWrite,
        reserve: ReserveSeq,
    ) -> None:
        self.tx = tx
        self.queries = queries
        self.write = write
        self.reserve = reserve
        self.key = {"tenant": write.tenant, "instance_id": write.instance_id}

    def run(self) -> None:
        write, tx, queries = self.write, self.tx, self.queries
        quiet = self.instance()
        self.consume_timer()
        self.consume_step()
        if write.step_attempt is not None:
            tx.run(queries["insert_step_attempt"], params_of(write.step_attempt))
        self.timers()
        self.steps()
        self.outbox()
        self.idempotency()
        if write.drop_pending_work:
            tx.run(queries["delete_instance_timers"], self.key)
            tx.run(queries["delete_instance_steps"], self.key)
        if write.instance.runtime_status is None and not quiet:
            tx.run(queries["compute_runtime_status"], {**self.key, "id": write.instance_id})
        tx.run(queries["insert_audit"], params_of(write.audit))

    def instance(self) -> bool:
        """Insert or update the instance row; True if its runtime status is known to be
        right already (`update_instance_quiet` matched)."""
        write, tx, queries = self.write, self.tx, self.queries
        params = instance_params(write)
        if write.expected_version == 0:
            if write.latest_definition and tx.one(queries["newer_definition"], params):
                raise DefinitionMoved(
                    f"definition {write.definition_id!r} has a version newer than "
                    f"{write.definition_version}; start {write.instance_id!r} on it"
                )
            if tx.run(queries["insert_instance"], params) == 0:
                raise InstanceExists(
                    f"instance {write.instance_id!r} exists already (tenant {write.tenant!r}); "
                    "pick another id or send it events"
                )
            return False
        if write.instance.runtime_status is None:
            if not writes_work(write) and tx.run(queries["update_instance_quiet"], params) == 1:
                return True
            if tx.run(queries["update_instance_kept"], params) == 1:
                return False
        if tx.run(queries["update_instance"], params) == 1:
            return False
        row = tx.one(queries["instance_version"], params)
        if row is None:
            raise NotFound(
                f"no instance {write.instance_id!r} in tenant {write.tenant!r}; "
                "check the id and the tenant"
            )
        found = int(row["version"])
        raise VersionConflict(
            f"{write.instance_id} changed under you (expected version "
            f"{write.expected_version}, found {found}); reload and resend",
            instance_id=write.instance_id,
            expected=write.expected_version,
            found=found,
        )

    def consume_timer(self) -> None:
        """Delete the timer being handled; if it is gone (fired by another worker, cancelled,
        replaced by a newer one), the whole transition is void."""
        consumed = self.write.consumed_timer
        if consumed is None:
            return
        params = {**self.key, "timer_id": consumed[0], "created_seq": consumed[1]}
        if self.tx.run(self.queries["consume_timer"], params) == 0:
            raise WorkGone(
                f"timer {consumed[0]!r} of {self.write.instance_id!r} was already fired, "
                "cancelled or replaced; nothing to do"
            )

    def consume_step(self) -> None:
        """Delete the step run whose result this is; if it is gone (stopped with its state,
        replaced, finished by another worker), the whole transition is void."""
        consumed = self.write.consumed_step
        if consumed is None:
            return
        invoke_id, started_version, attempts = consumed
        params = {
            **self.key,
            "invoke_id": invoke_id,
            "started_version": started_version,
            "attempts": attempts,
        }
        if self.tx.run(self.queries["consume_step"], params) == 0:
            raise WorkGone(
                f"step {invoke_id!r} of {self.write.instance_id!r} was stopped, replaced or "
                "finished elsewhere; its result is discarded"
            )

    def timers(self) -> None:
        write = self.write
        if write.timers_cancelled:
            cancelled = [{**self.key, "timer_id": timer_id} for timer_id in write.timers_cancelled]
            self.tx.run_many(self.queries["delete_timer"], cancelled)
        if write.timers_scheduled:
            seqs = self.reserve(self.tx, len(write.timers_scheduled))
            rows = [
                {**self.key, **params_of(timer), "created_seq": seq}
                for timer, seq in zip(write.timers_scheduled, seqs, strict=True)
            ]
            self.tx.run_many(self.queries["upsert_timer"], rows)

    def steps(self) -> None:
        write = self.write
        if write.steps_stopped:
            stopped = [{**self.key, "invoke_id": invoke_id} for invoke_id in write.steps_stopped]
            self.tx.run_many(self.queries["delete_step"], stopped)
        if write.steps_started:
            seqs = self.reserve(self.tx, len(write.steps_started))
            common = {**self.key, "started_version": write.audit.seq, "created_at": write.audit.at}
            rows = [
                {**common, **params_of(step), "created_seq": seq}
                for step, seq in zip(write.steps_started, seqs, strict=True)
            ]
            self.tx.run_many(self.queries["upsert_step"], rows)

    def outbox(self) -> None:
        write = self.write
        if not write.outbox:
            return
        seqs = self.reserve(self.tx, len(write.outbox))
        common = {**self.key, "version": write.audit.seq, "created_at": write.audit.at}
        rows = [
            {**common, **params_of(message), "created_seq": seq}
            for message, seq in zip(write.outbox, seqs, strict=True)
        ]
        self.tx.run_many(self.queries["insert_outbox"], rows)

    def idempotency(self) -> None:
        record = self.write.idempotency
        if record is None:
            return
        if self.tx.run(self.queries["insert_idempotency"], params_of(record)) == 0:
            raise IdempotencyConflict(
                f"idempotency key {record.key!r} was already used for "
                f"{self.write.instance_id!r}; look the earlier send up with find_idempotency, "
                "or use a new key"
            )


def instance_params(write: TransitionWrite) -> dict[str, object]:
    """The parameters of the instance queries (`insert_instance`, `update_instance*`)."""
    return {
        "tenant": write.tenant,
        "id": write.instance_id,
        "definition_id": write.definition_id,
        "definition_version": write.definition_version,
        "version": write.audit.seq,
        "expected_version": write.expected_version,
        "snapshot": write.instance.snapshot,
        "value": write.instance.value,
        "status": write.instance.status,
        # Replaced in step 7 when None; the column is NOT NULL until then.
        "runtime_status": write.instance.runtime_status or write.instance.status,
        "at": write.audit.at,
    }


def check_write(write: TransitionWrite) -> None:
    """Refuse a write whose parts disagree: a bug in the caller, not a user error.

    Raises:
        InternalError: the audit row names another instance, its seq is not
            `expected_version + 1`, or the idempotency row records another version.
    """
    audit = write.audit
    if (audit.tenant, audit.instance_id) != (write.tenant, write.instance_id):
        raise InternalError(
            f"the audit row of {write.instance_id!r} names {audit.tenant}/{audit.instance_id}; "
            "please report this bug"
        )
    if audit.seq != write.expected_version + 1:
        raise InternalError(
            f"the audit row of {write.instance_id!r} has seq {audit.seq} after version "
            f"{write.expected_version}; please report this bug"
        )
    if write.idempotency is not None and write.idempotency.version != audit.seq:
        raise InternalError(
            f"the idempotency row of {write.instance_id!r} records version "
            f"{write.idempotency.version}, not {audit.seq}; please report this bug"
        )


def writes_work(write: TransitionWrite) -> bool:
    """Whether the write changes the instance's timers or steps (then its runtime status may
    change, and the quiet update, which keeps it, is not tried)."""
    return bool(
        write.consumed_timer
        or write.consumed_step
        or write.timers_cancelled
        or write.timers_scheduled
        or write.steps_stopped
        or write.steps_started
        or write.drop_pending_work
    )
