"""Engine objects as API bodies, with payloads withheld from tokens that may not read them,
and the events an instance accepts now, marked with whether the caller may send each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statewright.api.auth import Caller
from statewright.api.models import AcceptedEventOut, InstanceOut, TransitionOut
from statewright.api.operation_models import (
    DeadLetterOut,
    StepOut,
    TimerOut,
)
from statewright.engine import Accepted, DeadLetter, PendingTimer, StepRun
from statewright.engine.operating import accepted_of
from statewright.engine.permissions import ADMIN_ROLE
from statewright.engine.views import AuditEntry, Instance

__all__ = [
    "accepted",
    "accepted_events_out",
    "dead_letter_out",
    "instance_body",
    "instance_out",
    "step_out",
    "transition_body",
    "timer_out",
    "transition_out",
    "withheld",
]

#: The roles that may send events at all.
_SENDERS = ("operator", ADMIN_ROLE)


def accepted(instance: Instance) -> Accepted:
    """The events the instance accepts now (`Engine.accepted`, on the instance as read)."""
    return accepted_of(
        instance.snapshot, tenant=instance.tenant, instance_id=instance.id, version=instance.version
    )


def accepted_events_out(found: Accepted, caller: Caller) -> list[AcceptedEventOut]:
    """Each accepted event, `allowed` when the caller's token may send it: a role that sends
    (operator, admin) and, where its transitions name roles, one of them (admin: any)."""
    token = caller.token
    sends = token.role in _SENDERS
    return [
        AcceptedEventOut(
            type=event.type,
            wildcard=event.wildcard,
            guarded=event.guarded,
            roles=None if event.roles is None else list(event.roles),
            targets=list(event.targets),
            schema=dict(event.schema) if isinstance(event.schema, Mapping) else event.schema,
            allowed=sends
            and (
                event.roles is None
                or token.role == ADMIN_ROLE
                or any(role in token.roles for role in event.roles)
            ),
        )
        for event in found.events
    ]


def instance_out(instance: Instance, *, payloads: bool) -> InstanceOut:
    """An instance's body; without `payloads`, its context and output are withheld."""
    return InstanceOut(**instance_body(instance, payloads=payloads))


def instance_body(instance: Instance, *, payloads: bool) -> dict[str, Any]:
    """An instance's body as a dict, keys in `InstanceOut`'s order (the same as
    `instance_out(...).model_dump(mode="json")`, made without the model: the start lane's
    answer); without `payloads`, its context and output are withheld."""
    return {
        "id": instance.id,
        "tenant": instance.tenant,
        "definition": instance.definition_id,
        "definition_version": instance.definition_version,
        "version": instance.version,
        "value": instance.value,
        "status": instance.status,
        "runtime_status": instance.runtime_status,
        "context": instance.context if payloads else None,
        "output": instance.snapshot.output if payloads else None,
        "accepted_events": list(accepted(instance).types),
        "waiting_for": instance.waiting_for,
        "payloads_withheld": not payloads,
        "created_at": instance.created_at,
        "updated_at": instance.updated_at,
    }


def transition_out(entry: AuditEntry, *, payloads: bool) -> TransitionOut:
    """A transition's body; without `payloads`, its event is only its type."""
    return TransitionOut(**transition_body(entry, payloads=payloads))


def transition_body(entry: AuditEntry, *, payloads: bool) -> dict[str, Any]:
    """A transition's body as a dict, keys in `TransitionOut`'s order (the same as
    `transition_out(...).model_dump(mode="json")`, made without the model: the send lane's
    answer); without `payloads`, its event is only its type."""
    return {
        "instance_id": entry.instance_id,
        "version": entry.seq,
        "event": _event(entry.event, payloads),
        "actor": entry.actor,
        "from_value": entry.from_value,
        "to_value": entry.to_value,
        "status": entry.status,
        "runtime_status": entry.runtime_status,
        "at": entry.at,
        "idempotency_key": entry.idempotency_key,
    }


def step_out(run: StepRun, *, payloads: bool) -> StepOut:
    """A step run's body; without `payloads`, its input is withheld."""
    return StepOut(
        instance_id=run.instance_id,
        invoke_id=run.invoke_id,
        src=run.src,
        state=run.state,
        status=run.status,
        attempts=run.attempts,
        max_attempts=run.max_attempts,
        last_error=run.last_error,
        next_attempt_at=run.next_attempt_at,
        lease_until=run.lease_until,
        started_version=run.started_version,
        created_at=run.created_at,
        input=run.input if payloads else None,
    )


def timer_out(timer: PendingTimer, *, payloads: bool) -> TimerOut:
    """A timer's body; without `payloads`, its event is only its type."""
    return TimerOut(
        instance_id=timer.instance_id,
        timer_id=timer.timer_id,
        due_at=timer.due_at,
        event=_event(timer.event, payloads),
    )


def dead_letter_out(letter: DeadLetter, *, payloads: bool) -> DeadLetterOut:
    """A dead letter's body; without `payloads`, its event is only its type."""
    return DeadLetterOut(
        message_id=letter.message_id,
        instance_id=letter.instance_id,
        version=letter.version,
        event=_event(letter.event, payloads),
        attempts=letter.attempts,
        last_error=letter.last_error,
        created_at=letter.created_at,
        failed_at=letter.failed_at,
    )


def withheld(body: Any) -> Any:
    """A kept response body (an idempotent replay's) as a token that may not read payloads
    is shown it: an instance's context and output withheld, a transition's event only its
    type, a step run's input withheld (each item of a list too), as `instance_out`,
    `transition_body` and `step_out` make them for such a token."""
    if not isinstance(body, dict):
        return body
    shown = dict(body)
    if "payloads_withheld" in shown:
        shown.update(context=None, output=None, payloads_withheld=True)
    if "invoke_id" in shown and "input" in shown:
        shown["input"] = None
    event = shown.get("event")
    if isinstance(event, dict):
        shown["event"] = {"type": event.get("type")}
    items = shown.get("items")
    if isinstance(items, list):
        shown["items"] = [withheld(item) for item in items]
    return shown


def _event(event: dict[str, Any] | dict[str, object], payloads: bool) -> dict[str, Any]:
    return dict(event) if payloads else {"type": event.get("type")}
