"""What the engine's operator calls return: the events an instance accepts now, its step runs,
pending timers and dead letters, counts per business state, and pages of any of these.

Times are milliseconds since the Unix epoch (UTC); JSON columns come back decoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from statewright.store.records import OutboxRecord, StateCountRecord, StepRecord, TimerRecord

__all__ = [
    "Accepted",
    "AcceptedEvent",
    "DeadLetter",
    "Page",
    "PendingTimer",
    "StateCount",
    "StepRun",
    "state_text",
]

T = TypeVar("T")


class Page(list[T]):
    """One page of a list: the items, and `next_cursor` to pass for the next page (None on
    the last page). Cursors are opaque; each works only for the list and filters that gave it.
    """

    def __init__(self, items: Iterable[T] = (), next_cursor: str | None = None) -> None:
        super().__init__(items)
        self.next_cursor = next_cursor

    def __repr__(self) -> str:
        return f"Page({list.__repr__(self)}, next_cursor={self.next_cursor!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptedEvent:
    """An event type the instance accepts now, or a wildcard descriptor (`*`, `order.*`)
    that accepts every type it matches.

    `guarded`: every transition that takes it has a guard, which may still refuse a given
    payload. `roles`: the roles that may send it (a transition's `"statewright": {"roles":
    [...]}`), None when a transition that takes it names none (anyone may). `targets`: the
    states its transitions lead to (state ids), empty for transitions that stay. `schema`:
    the JSON Schema (draft 2020-12) of its fields besides `type` that the definition declares
    (`"statewright": {"events": {TYPE: schema}}`), None when it declares none; a send whose
    fields fail it is refused (`PayloadInvalid`).
    """

    type: str
    wildcard: bool
    guarded: bool
    roles: tuple[str, ...] | None
    targets: tuple[str, ...]
    schema: Mapping[str, object] | bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """What an instance accepts now, with the state and version it was read at."""

    tenant: str
    instance_id: str
    version: int
    value: object
    status: str
    events: tuple[AcceptedEvent, ...]

    @property
    def types(self) -> tuple[str, ...]:
        """The event types and wildcard descriptors, in order."""
        return tuple(event.type for event in self.events)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRun:
    """A step run not yet finished: `pending` (its first attempt is due), `running` (an
    attempt runs, claimed until `lease_until`) or `retrying` (waiting for its next attempt at
    `next_attempt_at`, after `last_error`)."""

    tenant: str
    instance_id: str
    invoke_id: str
    src: str
    state: str
    status: str
    #: Attempts started so far (each claim is one).
    attempts: int
    #: The attempts its retry policy allows, None without a policy (one attempt).
    max_attempts: int | None
    last_error: str | None
    #: When the next attempt is due (pending or retrying); for a running one, when it was.
    next_attempt_at: int
    lease_until: int | None
    started_version: int
    created_at: int
    idempotency_key: str
    input: object

    @classmethod
    def from_record(cls, record: StepRecord) -> StepRun:
        """Decode a step row."""
        policy = json.loads(record.retry) if record.retry else None
        attempts = policy.get("attempts") if isinstance(policy, dict) else None
        return cls(
            tenant=record.tenant,
            instance_id=record.instance_id,
            invoke_id=record.invoke_id,
            src=record.src,
            state=record.state,
            status=record.status,
            attempts=record.attempts,
            max_attempts=attempts if isinstance(attempts, int) else None,
            last_error=record.last_error,
            next_attempt_at=record.next_attempt_at,
            lease_until=record.lease_until,
            started_version=record.started_version,
            created_at=record.created_at,
            idempotency_key=record.idempotency_key,
            input=json.loads(record.input),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingTimer:
    """A timer waiting to fire `event` at `due_at`."""

    tenant: str
    instance_id: str
    timer_id: str
    due_at: int
    event: dict[str, object]

    @classmethod
    def from_record(cls, record: TimerRecord) -> PendingTimer:
        """Decode a timer row."""
        return cls(
            tenant=record.tenant,
            instance_id=record.instance_id,
            timer_id=record.timer_id,
            due_at=record.due_at,
            event=json.loads(record.event),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxMessage:
    """What every outbox message read back carries, delivered or not."""

    tenant: str
    instance_id: str
    message_id: str
    version: int
    event: dict[str, object]
    attempts: int
    last_error: str | None
    created_at: int

    @staticmethod
    def fields_of(record: OutboxRecord) -> dict[str, Any]:
        """The shared fields of an outbox row, decoded."""
        return {
            "tenant": record.tenant,
            "instance_id": record.instance_id,
            "message_id": record.message_id,
            "version": record.version,
            "event": json.loads(record.event),
            "attempts": record.attempts,
            "last_error": record.last_error,
            "created_at": record.created_at,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter(OutboxMessage):
    """An outbox message whose deliveries failed until its attempts ran out (or whose
    listener raised an error that is not retried); `redrive` puts it back."""

    #: When the last attempt failed.
    failed_at: int

    @classmethod
    def from_record(cls, record: OutboxRecord) -> DeadLetter:
        """Decode an outbox row."""
        return cls(**OutboxMessage.fields_of(record), failed_at=record.next_attempt_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class StateCount:
    """How many instances of a definition are in one business state."""

    definition_id: str
    value: object
    count: int

    @property
    def state(self) -> str:
        """The state as text: `review.legal`, or `(ship.pack.done, ship.label.printing)`."""
        return state_text(self.value)

    @classmethod
    def from_record(cls, record: StateCountRecord) -> StateCount:
        """Decode a count row."""
        return cls(
            definition_id=record.definition_id,
            value=json.loads(record.value),
            count=record.count,
        )


def state_text(value: object) -> str:
    """A state value as text: `review.legal`; parallel regions `(a.x, b.y)`."""
    leaves = _leaves(value)
    return leaves[0] if len(leaves) == 1 else "(" + ", ".join(leaves) + ")"


def _leaves(value: object) -> list[str]:
    if isinstance(value, dict):
        found: list[str] = []
        for key, inner in value.items():
            below = _leaves(inner) if inner not in ({}, None) else []
            found.extend(f"{key}.{leaf}" for leaf in below) if below else found.append(key)
        return found
    return [str(value)]
