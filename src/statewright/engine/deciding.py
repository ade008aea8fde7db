"""Deciding an event: run it through the chart on the instance's head, and build the write
to commit and the audit entry it makes, or refuse it (`EventNotAccepted`, `TransitionFailed`,
`WorkGone`, `VersionConflict`). Nothing here commits: `sending.py` and `work.py` do.

`Deciding` is the base of the `Engine` mixins: it names the state they share.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from statewright.chart import Machine, Macrostep, Snapshot
from statewright.engine.clock import Clock
from statewright.engine.grouping import CommitGroups
from statewright.engine.heads import Head, HeadCache
from statewright.engine.payload import check_id, event_json
from statewright.engine.permissions import check_roles
from statewright.engine.quiet_write import quiet_write
from statewright.engine.registry import Registry
from statewright.engine.unapplied import DONE_PREFIX, unapplied_event
from statewright.engine.views import AuditEntry
from statewright.engine.writes import build_write
from statewright.errors import (
    EventNotAccepted,
    NotFound,
    PayloadError,
    TransitionFailed,
    VersionConflict,
    WorkGone,
)
from statewright.store.records import InstanceRecord, TransitionWrite

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["DEFAULT_TENANT", "Deciding", "no_instance", "transition_failed"]

DEFAULT_TENANT = "default"


class Deciding:
    """The engine's state, its reads of one instance, and deciding events on its head."""

    store: Store
    clock: Clock
    max_event_bytes: int
    registry: Registry
    _heads: HeadCache
    _commits: CommitGroups | None

    def _load(self, tenant: str, instance_id: str) -> InstanceRecord:
        check_id(tenant, "tenant")
        check_id(instance_id, "instance id")
        return self._fetch(tenant, instance_id)

    def _fetch(self, tenant: str, instance_id: str) -> InstanceRecord:
        """`_load` for ids already checked."""
        record = self.store.load_instance(tenant, instance_id)
        if record is None:
            raise no_instance(tenant, instance_id)
        return record

    def _prepare(
        self,
        record: Head,
        resolved: Mapping[str, object],
        text: str,
        actor: str | None,
        idempotency: tuple[str, str] | None,
        expected_version: int | None,
        consumed_timer: tuple[str, int] | None,
        consumed_step: tuple[str, int, int] | None,
        roles: Collection[str] | None = None,
        taken: bool = False,
        lent: tuple[int, Snapshot] | None = None,
    ) -> tuple[TransitionWrite, AuditEntry, Snapshot | None]:
        """Run the event through the chart: the write to commit, the entry it makes, and the
        new snapshot for the head cache (`TransitionParts.parsed`).

        A step's output whose transition raises becomes the step's error event (the output,
        the error and the JSON path that failed), so that the run ends on its `onError` path
        in this same commit instead of running again for a result that can never be applied.

        With `roles`, the transitions the event selects must allow one of them
        (`permissions.py`).

        The head's parsed snapshot is taken from the head cache here, unless the caller
        `taken` it already (`HeadCache.take`): then `lent` is what it took.

        Raises:
            VersionConflict, EventNotAccepted, TransitionFailed, WorkGone, NotPermitted,
                PayloadInvalid: as `send`.
        """
        instance_id = record.id
        if expected_version is not None and expected_version != record.version:
            raise VersionConflict(
                f"{instance_id} changed under you (expected version {expected_version}, found "
                f"{record.version}); reload and resend",
                instance_id=instance_id,
                expected=expected_version,
                found=record.version,
            )
        machine = self.registry.machine(record.definition_id, record.definition_version)
        # Before anything is decided or written: fields that fail the schema the definition
        # declares for the event's type refuse it (PayloadInvalid, naming each field).
        if machine.event_schemas.checks:  # else no event can fail: skip the call
            machine.check_event(resolved, instance_id=instance_id)
        consume = consumed_timer is not None or consumed_step is not None
        # The head's snapshot as parsed at its commit, lent to this transition alone; the
        # second decision below restores its own (an action may have changed this one).
        if taken:
            parsed = None
            if lent is not None and lent[0] == record.version and lent[1]._machine is machine:
                parsed = lent[1]  # the head's own, in this machine
        else:
            parsed = self._heads.take_parsed(record, machine)

        try:
            snapshot, step = _decide(machine, record, parsed, resolved, consume)
        except TransitionFailed as failed:
            if consumed_step is None or not str(resolved["type"]).startswith(DONE_PREFIX):
                raise
            error_event = unapplied_event(resolved, failed)
            try:
                text = event_json(error_event, self.max_event_bytes, "the step's error")
            except PayloadError:  # the output and the error together are too large
                del error_event["error"]["output"]  # type: ignore[attr-defined]
                text = event_json(error_event, self.max_event_bytes, "the step's error")
            resolved = error_event
            # On the snapshot restored anew: the failed transition may have changed its own.
            snapshot, step = _decide(machine, record, None, resolved, consume)
        if roles is not None:
            check_roles(instance_id, step, resolved, roles)
        now = self.clock.now()
        if idempotency is None and not consume:
            quiet = quiet_write(record, snapshot, step, resolved, text, actor, now)
            if quiet is not None:
                return quiet
        write, parts = build_write(
            tenant=record.tenant,
            instance_id=instance_id,
            definition_id=record.definition_id,
            definition_version=record.definition_version,
            machine=machine,
            expected_version=record.version,
            step=step,
            event_text=text,
            actor=actor,
            now=now,
            from_value=record.value,
            idempotency=idempotency,
        )
        if consume:
            write = dataclasses.replace(
                write, consumed_timer=consumed_timer, consumed_step=consumed_step
            )
        audit = write.audit
        entry = AuditEntry(
            tenant=record.tenant,
            instance_id=instance_id,
            seq=audit.seq,
            event=dict(resolved),
            actor=actor,
            from_value=snapshot.value,
            to_value=parts.to_value,
            status=audit.status,
            runtime_status=audit.runtime_status,
            at=audit.at,
            idempotency_key=idempotency[0] if idempotency else None,
            microsteps=parts.microsteps,
            effects=parts.effects,
        )
        return write, entry, parts.parsed


def no_instance(tenant: str, instance_id: str) -> NotFound:
    """The error for an instance that is not stored in the tenant."""
    return NotFound(
        f"no instance {instance_id!r} in tenant {tenant!r}; check the id and the tenant"
    )


def _decide(
    machine: Machine,
    head: Head,
    parsed: Snapshot | None,
    event: Mapping[str, object],
    consume: bool,
) -> tuple[Snapshot, Macrostep]:
    """Run `event` on the head's snapshot (`parsed`, or restored from its text if None):
    the snapshot it ran on and the macrostep, if the instance accepts it (`_check_accepted`)."""
    if parsed is None:
        parsed = Snapshot.from_json(machine, json.loads(head.snapshot))
    step = machine.transition_normalized(parsed, event)  # `event` is normalized already
    _check_accepted(head.id, parsed, step, event, consume=consume)
    return parsed, step


def _check_accepted(
    instance_id: str,
    before: Snapshot,
    step: Macrostep,
    event: Mapping[str, object],
    *,
    consume: bool = False,
) -> None:
    # The slots behind `step.snapshot`, `.status`, `step.selected` and `.microsteps`: this
    # runs on every send.
    after = step._snapshot
    status = before._status
    if after._status == "error" and status == "active":
        if _is_unhandled_step_error(after, event):
            return  # XState's outcome, committed: the instance is in error with the step's error
        raise transition_failed(instance_id, after, f"handling {event['type']!r}")
    if consume and status != "active":
        raise WorkGone(
            f"{instance_id} is {status}: its timers and steps ended with it; "
            f"{event['type']!r} is discarded"
        )
    steps = step._steps
    moved = (steps and steps[0][1]) or any(transitions for _, transitions in steps[1:])
    if status != "active" or not (moved or consume):
        accepted = ", ".join(before.accepted_events) or _accepts_nothing(before)
        raise EventNotAccepted(
            f"{instance_id} (in {_state_text(before.value)}) does not accept "
            f"{event['type']!r}; it accepts {accepted}",
            instance_id=instance_id,
            state=before.value,
            event=str(event["type"]),
            accepted=before.accepted_events,
        )


def _accepts_nothing(snapshot: Snapshot) -> str:
    """What an instance that accepts no event is doing instead: finished, or waiting."""
    if snapshot._status != "active":
        return f"nothing (it is {snapshot._status})"
    steps = [f"{key} ({child.src})" for key, child in snapshot._children.items()]
    if steps:
        return f"nothing now: it waits for its step {', '.join(steps)} to finish"
    if any(node.after_delays for node in snapshot._config.nodes):
        return "nothing now: it waits for a timer"
    return "nothing: none of its states takes an event you send"


def _is_unhandled_step_error(after: Snapshot, event: Mapping[str, object]) -> bool:
    """A step failed and nothing handles its error event: as in XState, the instance goes to
    `error` with the step's error. That is an outcome to commit, not a refused send."""
    return str(event["type"]).startswith("xstate.error.actor.") and after.error is event.get(
        "error"
    )


def transition_failed(instance_id: str, snapshot: Snapshot, doing: str) -> TransitionFailed:
    """The refusal for a transition that left `snapshot` in error while `doing` something."""
    error = snapshot.error
    failed = TransitionFailed(
        f"{instance_id} (in {_state_text(snapshot.value)}) refused the event: {error} "
        f"while {doing}; nothing was committed",
        instance_id=instance_id,
        state=snapshot.value,
        error=error,
    )
    if isinstance(error, BaseException):
        failed.__cause__ = error
    return failed


def _state_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        parts = [f"{key}.{_state_text(inner)}" if inner else key for key, inner in value.items()]
        return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"
    return str(value)
