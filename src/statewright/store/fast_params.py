"""The parameters of the one-statement writes (PostgreSQL's `fast_paths.sql`).

A backend that has such a statement tries it before the general path (`commit.py`); each
function here returns None for a write the statement cannot express, and then only the
general path runs. Lists of rows travel as one JSON parameter each, except a quiet group's,
which travels as one typed array per column (`TextColumn`, ...; dumped by PostgreSQL's
`array_columns.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from statewright.store.commit import instance_params
from statewright.store.records import TransitionWrite

__all__ = ["is_quiet", "quiet_group_params", "quiet_params", "start_params", "work_params"]


def is_quiet(write: TransitionWrite) -> bool:
    """True for a transition that only updates the instance (status, definition and runtime
    status kept) and adds its audit row: no work written, consumed or dropped."""
    return not (
        write.expected_version == 0
        or write.instance.runtime_status is not None
        or write.timers_cancelled
        or write.timers_scheduled
        or write.steps_stopped
        or write.steps_started
        or write.outbox
        or write.idempotency is not None
        or write.drop_pending_work
        or write.consumed_timer is not None
        or write.consumed_step is not None
        or write.step_attempt is not None
    )


def quiet_params(write: TransitionWrite) -> dict[str, object] | None:
    """The parameters of `commit_quiet_transition`: a quiet transition (`is_quiet`). None if
    `write` does more than that."""
    if not is_quiet(write):
        return None
    return _with_audit(instance_params(write), write)


class TextColumn(list[str | None]):
    """A column of `commit_quiet_group`'s values, typed for the store's dumper (PostgreSQL's
    `array_columns.py`); otherwise a plain list. So are the other `...Column`s."""


class IntegerColumn(list[int]):
    """A column of `integer` values (see `TextColumn`)."""


class BigintColumn(list[int]):
    """A column of `bigint` values (see `TextColumn`)."""


class BooleanColumn(list[bool]):
    """A column of `boolean` values (see `TextColumn`)."""


#: `commit_quiet_group`'s array parameters: where each write's value of each column is, and
#: the column's type (as the statement casts it).
_GROUP_COLUMN_PATHS: dict[str, tuple[str, type[list[Any]]]] = {
    "tenants": ("tenant", TextColumn),
    "ids": ("instance_id", TextColumn),
    "expected_versions": ("expected_version", IntegerColumn),
    "versions": ("audit.seq", IntegerColumn),
    "snapshots": ("instance.snapshot", TextColumn),
    "values": ("instance.value", TextColumn),
    "statuses": ("instance.status", TextColumn),
    "definition_ids": ("definition_id", TextColumn),
    "definition_versions": ("definition_version", IntegerColumn),
    "ats": ("audit.at", BigintColumn),
    "events": ("audit.event", TextColumn),
    "actors": ("audit.actor", TextColumn),
    "from_values": ("audit.from_value", TextColumn),
    "to_values": ("audit.to_value", TextColumn),
    "audit_statuses": ("audit.status", TextColumn),
    "audit_runtime_statuses": ("audit.runtime_status", TextColumn),
    "microsteps": ("audit.microsteps", TextColumn),
    "effects": ("audit.effects", TextColumn),
}
_GROUP_COLUMNS: dict[str, tuple[Callable[[TransitionWrite], Any], type[list[Any]]]] = {
    name: (attrgetter(path), column) for name, (path, column) in _GROUP_COLUMN_PATHS.items()
}


def quiet_group_params(writes: Sequence[TransitionWrite]) -> dict[str, object] | None:
    """The parameters of `commit_quiet_group`: quiet transitions (`is_quiet`) of distinct
    instances, one array per column. None if some write does more, or two are of one
    instance."""
    if not all(map(is_quiet, writes)):
        return None
    if len({(write.tenant, write.instance_id) for write in writes}) != len(writes):
        return None
    params: dict[str, object] = {
        name: column(map(value, writes)) for name, (value, column) in _GROUP_COLUMNS.items()
    }
    params["same_values"] = BooleanColumn(
        write.instance.value == write.audit.from_value for write in writes
    )
    params["write_count"] = len(writes)
    return params


def start_params(write: TransitionWrite) -> dict[str, object] | None:
    """The parameters of `commit_start`: a start that inserts the instance, its new timers,
    steps and messages and its audit row, and nothing else (no cancels or stops within the
    first macrostep, no dropped work, no idempotency row). None if `write` is not such a
    start."""
    if (
        write.expected_version != 0
        or write.instance.runtime_status is not None
        or write.timers_cancelled
        or write.steps_stopped
        or write.drop_pending_work
        or write.idempotency is not None
        or write.consumed_timer is not None
        or write.consumed_step is not None
        or len({step.invoke_id for step in write.steps_started}) != len(write.steps_started)
        or len({timer.timer_id for timer in write.timers_scheduled}) != len(write.timers_scheduled)
    ):
        return None
    params = _with_audit(instance_params(write), write)
    steps, timers, messages = write.steps_started, write.timers_scheduled, write.outbox
    # Step 7 for a new instance: its only work is what this write creates.
    if write.instance.status != "active":
        runtime_status = write.instance.status
    else:
        runtime_status = "running" if steps else "waiting" if timers else "active"
    params.update(
        runtime_status=runtime_status,
        latest_definition=write.latest_definition,
        work_count=len(steps) + len(timers) + len(messages),
        step_count=len(steps),
        timer_count=len(timers),
        timers=_json([(t.timer_id, t.due_at, t.event) for t in timers]),
        steps=_json(
            [(s.invoke_id, s.src, s.input, s.state, s.idempotency_key, s.retry) for s in steps]
        ),
        messages=_json([(m.message_id, m.event) for m in messages]),
    )
    return params


def work_params(writes: Sequence[TransitionWrite]) -> dict[str, object] | None:
    """The parameters of `commit_work`: transitions of existing, distinct instances, each
    with everything but an idempotency row (consumed timer or step, cancels, schedules,
    stops, starts, messages, dropped work, runtime status), in one statement. None if some
    write cannot be written that way: a start, an idempotency row, two writes of one
    instance, or a write that deletes and creates the same timer or step (re-entering a
    state, a timer replaced by itself): one statement cannot order those."""
    if not writes or len({(w.tenant, w.instance_id) for w in writes}) != len(writes):
        return None
    if any(write.step_attempt is not None for write in writes):
        return None  # a given-up step's attempt row: the general path writes it
    rows: list[dict[str, object]] = []
    consumed_steps: list[dict[str, object]] = []
    consumed_timers: list[dict[str, object]] = []
    timers: list[dict[str, object]] = []
    steps: list[dict[str, object]] = []
    messages: list[dict[str, object]] = []
    for write in writes:
        row = _work_row(write)
        if row is None:
            return None
        rows.append(row)
        key = {"tenant": write.tenant, "instance_id": write.instance_id}
        if write.consumed_step is not None:
            invoke_id, started_version, attempts = write.consumed_step
            consumed_steps.append(
                {**key, "invoke_id": invoke_id, "started_version": started_version,
                 "attempts": attempts}
            )  # fmt: skip
        if write.consumed_timer is not None:
            timer_id, created_seq = write.consumed_timer
            consumed_timers.append({**key, "timer_id": timer_id, "created_seq": created_seq})
        timers.extend(
            {**key, "timer_id": t.timer_id, "due_at": t.due_at, "event": t.event}
            for t in write.timers_scheduled
        )
        at, version = write.audit.at, write.audit.seq
        steps.extend(
            {**key, "invoke_id": s.invoke_id, "src": s.src, "input": s.input, "state": s.state,
             "idempotency_key": s.idempotency_key, "retry": s.retry,
             "started_version": version, "created_at": at}
            for s in write.steps_started
        )  # fmt: skip
        messages.extend(
            {**key, "message_id": m.message_id, "event": m.event, "version": version,
             "created_at": at}
            for m in write.outbox
        )  # fmt: skip
    # Creation numbers are drawn in this order: every timer, then every step, then every
    # message (as commit_batch.py draws them).
    for n, new_row in enumerate([*timers, *steps, *messages], start=1):
        new_row["n"] = n
    return {
        "writes": _json(rows),
        "write_count": len(rows),
        "consumed_steps": _json(consumed_steps),
        "consumed_step_count": len(consumed_steps),
        "consumed_timers": _json(consumed_timers),
        "consumed_timer_count": len(consumed_timers),
        "timers": _json(timers),
        "steps": _json(steps),
        "messages": _json(messages),
        "work_count": len(timers) + len(steps) + len(messages),
    }


def _work_row(write: TransitionWrite) -> dict[str, object] | None:
    """One write's row of `commit_work`'s `writes`, or None if it cannot be written there."""
    if write.expected_version == 0 or write.idempotency is not None:
        return None
    deleted_steps = set(write.steps_stopped)
    if write.consumed_step is not None:
        deleted_steps.add(write.consumed_step[0])
    deleted_timers = set(write.timers_cancelled)
    if write.consumed_timer is not None:
        deleted_timers.add(write.consumed_timer[0])
    started = {step.invoke_id for step in write.steps_started}
    scheduled = {timer.timer_id for timer in write.timers_scheduled}
    if (
        len(started) != len(write.steps_started)
        or len(scheduled) != len(write.timers_scheduled)
        or started & deleted_steps
        or scheduled & deleted_timers
        or (write.drop_pending_work and (started or scheduled))
    ):
        return None
    return _with_audit(
        {
            **instance_params(write),
            "runtime_status": write.instance.runtime_status,  # None: computed
            "drop_work": write.drop_pending_work,
            "starts_steps": bool(started),
            "schedules_timers": bool(scheduled),
            "deleted_steps": sorted(deleted_steps),
            "deleted_timers": sorted(deleted_timers),
        },
        write,
    )


def _json(rows: Sequence[object]) -> str:
    """Rows as one JSON array: one query parameter for a list of rows."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def _with_audit(params: dict[str, object], write: TransitionWrite) -> dict[str, object]:
    """`params` with the audit row's fields that a one-statement commit inserts."""
    audit = write.audit
    params.update(
        event=audit.event,
        actor=audit.actor,
        from_value=audit.from_value,
        to_value=audit.to_value,
        audit_status=audit.status,
        audit_runtime_status=audit.runtime_status,
        idempotency_key=audit.idempotency_key,
        microsteps=audit.microsteps,
        effects=audit.effects,
    )
    return params
