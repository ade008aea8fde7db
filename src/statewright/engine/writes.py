"""Turning a macrostep into the rows one database transaction writes.

Effects become rows: `ScheduleTimer` a timer with an absolute due time (now + delay; an
anonymous delayed `raise` gets the id `<version>.<n>`), `CancelTimer` a deletion, `StartStep`
a step row with a stable idempotency key, `StopStep` a deletion, `Emit` an outbox message with
a stable id. `Log` goes to the `statewright.engine` logger. When the instance leaves `active`
its pending timers and steps are dropped.
"""

from __future__ import annotations

import json
import logging

import orjson

from statewright.chart import (
    CancelTimer,
    Emit,
    Log,
    Machine,
    Macrostep,
    ScheduleTimer,
    Snapshot,
    StartStep,
    StopStep,
)
from statewright.engine.heads import parsed_snapshot
from statewright.engine.payload import NOT_PLAIN, PLAIN_NO_FLOAT, dump_json, dump_plain, json_kind
from statewright.engine.stored_texts import microsteps_text, snapshot_texts
from statewright.store.records import (
    AuditRecord,
    IdempotencyRecord,
    InstanceWrite,
    OutboxWrite,
    StepWrite,
    TimerWrite,
    TransitionWrite,
)

__all__ = ["TransitionParts", "build_write", "step_run_key"]

log = logging.getLogger("statewright.engine")


class TransitionParts:
    """The decoded pieces of an audit row, kept so the engine need not parse them back, and
    the new snapshot as a reload of the stored text would give it (`heads.parsed_snapshot`;
    None if only the reload can tell)."""

    __slots__ = ("effects", "microsteps", "parsed", "to_value")

    def __init__(
        self,
        to_value: object,
        microsteps: list[object],
        effects: list[object],
        parsed: Snapshot | None = None,
    ):
        self.to_value = to_value
        self.microsteps = microsteps
        self.effects = effects
        self.parsed = parsed


def build_write(
    *,
    tenant: str,
    instance_id: str,
    definition_id: str,
    definition_version: int,
    machine: Machine,
    expected_version: int,
    step: Macrostep,
    event_text: str,
    actor: str | None,
    now: int,
    from_value: str | None,
    idempotency: tuple[str, str] | None,
    latest_definition: bool = False,
) -> tuple[TransitionWrite, TransitionParts]:
    """Everything the transition `step` commits, as one `TransitionWrite`, and the decoded
    parts of its audit row."""
    version = expected_version + 1
    snapshot = step.snapshot
    stored = snapshot_texts(snapshot)
    parsed: Snapshot | None
    if stored is not None:  # the common case, without building the data (stored_texts.py)
        snapshot_text, value_text = stored.text, stored.value_text
        to_value, parsed = stored.value, stored.parsed
    else:
        data = snapshot.to_json()
        kind = json_kind(data)
        if kind == PLAIN_NO_FLOAT:
            snapshot_text = dump_plain(data, f"the context of {instance_id}")
        else:
            snapshot_text = dump_json(data, f"the context of {instance_id}")
        value_text = dump_plain(data["value"], "the state value")  # state keys: plain strings
        to_value = data["value"]
        parsed = None if kind == NOT_PLAIN else parsed_snapshot(machine, data)
    timers_scheduled: dict[str, TimerWrite] = {}
    timers_cancelled: list[str] = []
    steps_started: list[StepWrite] = []
    steps_stopped: list[str] = []
    outbox: list[OutboxWrite] = []
    summary: list[object] = []
    for index, effect in enumerate(step.effects):
        if isinstance(effect, ScheduleTimer):
            timer_id = effect.id if effect.id is not None else f"{version}.{index}"
            timers_scheduled.pop(timer_id, None)
            timers_scheduled[timer_id] = TimerWrite(
                timer_id=timer_id,
                due_at=now + effect.delay_ms,
                event=dump_json(effect.event, "a delayed event"),
            )
            summary.append({"timer": timer_id, "due_at": now + effect.delay_ms})
        elif isinstance(effect, CancelTimer):
            timers_scheduled.pop(effect.id, None)
            timers_cancelled.append(effect.id)
            summary.append({"cancel_timer": effect.id})
        elif isinstance(effect, StartStep):
            steps_started.append(_step(machine, tenant, instance_id, version, effect))
            summary.append({"step": effect.id, "src": effect.src})
        elif isinstance(effect, StopStep):
            steps_started = [s for s in steps_started if s.invoke_id != effect.id]
            steps_stopped.append(effect.id)
            summary.append({"stop_step": effect.id})
        elif isinstance(effect, Emit):
            message_id = f"{tenant}/{instance_id}/{version}/{len(outbox)}"
            outbox.append(
                OutboxWrite(
                    message_id=message_id, event=dump_json(effect.event, "an emitted event")
                )
            )
            summary.append({"emit": message_id})
        elif isinstance(effect, Log):
            log.info("%s/%s: %s %r", tenant, instance_id, effect.message, effect.value)
    microsteps_json = microsteps_text(step._steps)  # state ids, paths, event types
    microsteps: list[object] = orjson.loads(microsteps_json)  # the entry's own copy
    audit = AuditRecord(
        tenant=tenant,
        instance_id=instance_id,
        seq=version,
        event=event_text,
        actor=actor,
        from_value=from_value,
        to_value=value_text,
        status=snapshot.status,
        runtime_status=_runtime_status(snapshot.status, steps_started, timers_scheduled),
        at=now,
        idempotency_key=idempotency[0] if idempotency else None,
        microsteps=microsteps_json.decode(),
        effects=dump_json(summary, "effects") if summary else "[]",
    )
    write = TransitionWrite(
        tenant=tenant,
        instance_id=instance_id,
        definition_id=definition_id,
        definition_version=definition_version,
        expected_version=expected_version,
        instance=InstanceWrite(snapshot=snapshot_text, value=value_text, status=snapshot.status),
        audit=audit,
        timers_cancelled=tuple(timers_cancelled),
        timers_scheduled=tuple(timers_scheduled.values()),
        steps_stopped=tuple(steps_stopped),
        steps_started=tuple(steps_started),
        outbox=tuple(outbox),
        drop_pending_work=snapshot.status != "active",
        idempotency=None
        if idempotency is None
        else IdempotencyRecord(
            tenant=tenant,
            instance_id=instance_id,
            key=idempotency[0],
            request_hash=idempotency[1],
            version=version,
        ),
        latest_definition=latest_definition,
    )
    return write, TransitionParts(to_value, microsteps, summary, parsed)


def _step(
    machine: Machine, tenant: str, instance_id: str, version: int, effect: StartStep
) -> StepWrite:
    retry = None
    for invoke in machine.get_state(effect.state).invoke:
        if invoke.id == effect.id and invoke.retry is not None:
            retry = json.dumps(dict(invoke.retry), sort_keys=True)
    return StepWrite(
        invoke_id=effect.id,
        src=effect.src,
        input=dump_json(effect.input, "a step input"),
        state=effect.state,
        idempotency_key=step_run_key(tenant, instance_id, effect.id, version),
        retry=retry,
    )


def _runtime_status(status: str, steps: list[StepWrite], timers: dict[str, TimerWrite]) -> str:
    """The audit row's view; the instance row's is computed by the store from all rows."""
    if status != "active":
        return status
    if steps:
        return "running"
    return "waiting" if timers else "active"


def step_run_key(tenant: str, instance_id: str, invoke_id: str, version: int) -> str:
    """A step run's idempotency key (`current_step().idempotency_key`), the same for every
    attempt: the run started by the transition to `version` of the instance."""
    return f"{tenant}/{instance_id}/{invoke_id}/{version}"
