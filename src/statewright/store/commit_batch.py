"""`write_batch`: many transitions written query by query instead of transition by transition.

`commit.py` writes one transition with up to a dozen statements. A batch of worker results
(`Store.commit_transitions`) runs each of those statements once for the whole batch
(`Transaction.run_each` / `run_many`; PostgreSQL pipelines them), so a batch costs a dozen
round trips, not a dozen per transition. The rows written are exactly those `commit.py`
writes, in the same order per instance: instance row, consumed work, cancels before
schedules, stops before starts, outbox, dropped work, runtime status, audit row.

It is all or nothing and optimistic: if any write would be refused (a moved version, a taken
id, work already consumed), `write_batch` returns False having written part of the batch, the
caller rolls the transaction back and commits the writes one by one, which finds out which
write is refused and why. Only batches it can write this way qualify (`batchable`): writes of
distinct instances, with no idempotency row. Starts pinned to the latest definition
(`latest_definition`) are checked once per definition version of the batch: if any has a
newer version, nothing is written here either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from statewright.store.commit import ReserveSeq, instance_params, writes_work
from statewright.store.records import TransitionWrite
from statewright.store.transaction import Params, Transaction, params_of

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["batchable", "write_batch"]


def batchable(writes: Sequence[TransitionWrite]) -> bool:
    """Whether `write_batch` can write these: more than one, of distinct instances, none
    with an idempotency row."""
    keys = {(write.tenant, write.instance_id) for write in writes}
    return (
        len(writes) > 1
        and len(keys) == len(writes)
        and all(write.idempotency is None for write in writes)
    )


def write_batch(
    tx: Transaction,
    queries: Mapping[str, str],
    writes: Sequence[TransitionWrite],
    reserve: ReserveSeq,
) -> bool:
    """Write every row of `writes` (see `batchable`) in the open transaction `tx`; False if
    some write would be refused: the caller must roll `tx` back."""
    pinned = {
        (write.definition_id, write.definition_version)
        for write in writes
        if write.expected_version == 0 and write.latest_definition
    }
    for definition_id, version in sorted(pinned):  # a start on a version since replaced
        newer = {"definition_id": definition_id, "definition_version": version}
        if tx.one(queries["newer_definition"], newer) is not None:
            return False
    starts = [instance_params(write) for write in writes if write.expected_version == 0]
    if not _all_one(tx, queries["insert_instance"], starts):
        return False
    quiet = _update_instances(tx, queries, writes)
    if quiet is None:
        return False
    if not _all_one(tx, queries["consume_timer"], _consumed_timers(writes)):
        return False
    if not _all_one(tx, queries["consume_step"], _consumed_steps(writes)):
        return False
    attempts = [params_of(write.step_attempt) for write in writes if write.step_attempt]
    _run(tx, queries["insert_step_attempt"], attempts)
    _run(tx, queries["delete_timer"], _cancelled_timers(writes))
    _run(tx, queries["upsert_timer"], _scheduled_timers(tx, writes, reserve))
    _run(tx, queries["delete_step"], _stopped_steps(writes))
    _run(tx, queries["upsert_step"], _started_steps(tx, writes, reserve))
    _run(tx, queries["insert_outbox"], _outbox(tx, writes, reserve))
    dropped = [_key(write) for write in writes if write.drop_pending_work]
    _run(tx, queries["delete_instance_timers"], dropped)
    _run(tx, queries["delete_instance_steps"], dropped)
    computed = [
        {**_key(write), "id": write.instance_id}
        for index, write in enumerate(writes)
        if write.instance.runtime_status is None and index not in quiet
    ]
    _run(tx, queries["compute_runtime_status"], computed)
    _run(tx, queries["insert_audit"], [params_of(write.audit) for write in writes])
    return True


def _update_instances(
    tx: Transaction, queries: Mapping[str, str], writes: Sequence[TransitionWrite]
) -> set[int] | None:
    """Update the instance rows, cheapest first as `commit.py` does: `update_instance_quiet`
    (runtime status kept too) for the writes that change no timer or step, then
    `update_instance_kept` (no indexed column set) where the runtime status is computed
    afterwards, then `update_instance` for the rest (a status or definition that changed).
    The indexes of the writes the quiet update took (their runtime status is right
    already), or None if some row was not updated."""
    updates = [
        (index, write, instance_params(write))
        for index, write in enumerate(writes)
        if write.expected_version > 0
    ]
    tried = [
        (index, params)
        for index, write, params in updates
        if write.instance.runtime_status is None and not writes_work(write)
    ]
    counts = tx.run_each(queries["update_instance_quiet"], [params for _, params in tried])
    quiet = {index for (index, _), count in zip(tried, counts, strict=True) if count == 1}
    kept = [
        params
        for index, write, params in updates
        if write.instance.runtime_status is None and index not in quiet
    ]
    full = [params for _, write, params in updates if write.instance.runtime_status is not None]
    counts = tx.run_each(queries["update_instance_kept"], kept)
    full.extend(params for params, count in zip(kept, counts, strict=True) if count != 1)
    return quiet if _all_one(tx, queries["update_instance"], full) else None


def _all_one(tx: Transaction, sql: str, params: Sequence[Params]) -> bool:
    return all(count == 1 for count in tx.run_each(sql, params))


def _run(tx: Transaction, sql: str, params: Sequence[Params]) -> None:
    if params:
        tx.run_many(sql, params)


def _key(write: TransitionWrite) -> dict[str, object]:
    return {"tenant": write.tenant, "instance_id": write.instance_id}


def _consumed_timers(writes: Sequence[TransitionWrite]) -> list[Params]:
    return [
        {**_key(write), "timer_id": write.consumed_timer[0], "created_seq": write.consumed_timer[1]}
        for write in writes
        if write.consumed_timer is not None
    ]


def _consumed_steps(writes: Sequence[TransitionWrite]) -> list[Params]:
    params: list[Params] = []
    for write in writes:
        if write.consumed_step is not None:
            invoke_id, started_version, attempts = write.consumed_step
            params.append(
                {
                    **_key(write),
                    "invoke_id": invoke_id,
                    "started_version": started_version,
                    "attempts": attempts,
                }
            )
    return params


def _cancelled_timers(writes: Sequence[TransitionWrite]) -> list[Params]:
    return [
        {**_key(write), "timer_id": timer_id}
        for write in writes
        for timer_id in write.timers_cancelled
    ]


def _scheduled_timers(
    tx: Transaction, writes: Sequence[TransitionWrite], reserve: ReserveSeq
) -> list[Params]:
    return _new_rows(tx, writes, reserve, lambda write: write.timers_scheduled, _no_stamp)


def _stopped_steps(writes: Sequence[TransitionWrite]) -> list[Params]:
    return [
        {**_key(write), "invoke_id": invoke_id}
        for write in writes
        for invoke_id in write.steps_stopped
    ]


def _started_steps(
    tx: Transaction, writes: Sequence[TransitionWrite], reserve: ReserveSeq
) -> list[Params]:
    def stamp(write: TransitionWrite) -> dict[str, object]:
        return {"started_version": write.audit.seq, "created_at": write.audit.at}

    return _new_rows(tx, writes, reserve, lambda write: write.steps_started, stamp)


def _outbox(
    tx: Transaction, writes: Sequence[TransitionWrite], reserve: ReserveSeq
) -> list[Params]:
    def stamp(write: TransitionWrite) -> dict[str, object]:
        return {"version": write.audit.seq, "created_at": write.audit.at}

    return _new_rows(tx, writes, reserve, lambda write: write.outbox, stamp)


def _no_stamp(write: TransitionWrite) -> dict[str, object]:
    return {}


def _new_rows(
    tx: Transaction,
    writes: Sequence[TransitionWrite],
    reserve: ReserveSeq,
    rows_of: Callable[[TransitionWrite], Sequence[DataclassInstance]],
    stamp: Callable[[TransitionWrite], dict[str, object]],
) -> list[Params]:
    """The parameters of the rows `rows_of` each write creates, with the write's key, its
    `stamp` and a new creation number each, in order."""
    count = sum(len(rows_of(write)) for write in writes)
    seqs = iter(reserve(tx, count) if count else [])
    return [
        {**_key(write), **stamp(write), **params_of(row), "created_seq": next(seqs)}
        for write in writes
        for row in rows_of(write)
    ]
