"""Engine objects as API bodies, with payloads withheld from tokens that may not read them,
and the events an instance accepts now."""

from __future__ import annotations

from typing import Any

from statewright.api.models import InstanceOut, TransitionOut
from statewright.engine.views import AuditEntry, Instance

__all__ = ["accepted_events", "instance_out", "transition_out"]


def accepted_events(instance: Instance) -> list[str]:
    """The event types the instance's active states handle now (none unless it is active)."""
    return list(instance.snapshot.accepted_events)


def instance_out(instance: Instance, *, payloads: bool) -> InstanceOut:
    """An instance's body; without `payloads`, its context and output are withheld."""
    return InstanceOut(
        id=instance.id,
        tenant=instance.tenant,
        definition=instance.definition_id,
        definition_version=instance.definition_version,
        version=instance.version,
        value=instance.value,
        status=instance.status,
        runtime_status=instance.runtime_status,
        context=instance.context if payloads else None,
        output=instance.snapshot.output if payloads else None,
        accepted_events=accepted_events(instance),
        waiting_for=instance.waiting_for,
        payloads_withheld=not payloads,
        created_at=instance.created_at,
        updated_at=instance.updated_at,
    )


def transition_out(entry: AuditEntry, *, payloads: bool) -> TransitionOut:
    """A transition's body; without `payloads`, its event is only its type."""
    event: dict[str, Any] = entry.event if payloads else {"type": entry.event.get("type")}
    return TransitionOut(
        instance_id=entry.instance_id,
        version=entry.seq,
        event=event,
        actor=entry.actor,
        from_value=entry.from_value,
        to_value=entry.to_value,
        status=entry.status,
        runtime_status=entry.runtime_status,
        at=entry.at,
        idempotency_key=entry.idempotency_key,
    )
