"""What the engine returns: an instance as it stands, an audit entry, a failed step attempt,
a verification."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from statewright.chart import Snapshot
from statewright.store.records import AuditRecord, StepAttemptRecord, StepRecord, direct_init

__all__ = ["AuditEntry", "Instance", "StepAttempt", "StepResult", "VerifyResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Instance:
    """An instance: its business state (`value`, `context`) and runtime status."""

    tenant: str
    id: str
    definition_id: str
    definition_version: int
    version: int
    snapshot: Snapshot
    runtime_status: str
    created_at: int
    updated_at: int
    #: Why the instance waits, when it waits for something that is not running: e.g.
    #: "a worker that provides chargeCard" (a step whose source no live worker provides).
    #: Computed when read by `Engine.get`; None otherwise.
    waiting_for: str | None = None

    @property
    def value(self) -> object:
        """The statechart value (`"pending_approval"`)."""
        return self.snapshot.value

    @property
    def context(self) -> Mapping[str, object]:
        """The instance's context: a JSON object (a definition's context, and a stored
        snapshot's, is always one), as `Snapshot.context`; treat it as read-only."""
        return self.snapshot.context

    @property
    def status(self) -> str:
        """`active`, `done`, `error` or `stopped` (the snapshot's status)."""
        return self.snapshot.status


@direct_init  # built once per transition
@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One committed transition, as the audit log keeps it."""

    #: What this history entry is (a `StepAttempt`'s is "step_attempt").
    kind: ClassVar[str] = "transition"

    tenant: str
    instance_id: str
    seq: int
    event: dict[str, object]
    actor: str | None
    from_value: object
    to_value: object
    status: str
    runtime_status: str
    at: int
    idempotency_key: str | None
    microsteps: list[object]
    effects: list[object]

    @property
    def version(self) -> int:
        """The instance version this transition produced."""
        return self.seq

    @classmethod
    def from_record(cls, record: AuditRecord) -> AuditEntry:
        """Decode an audit row."""
        return cls(
            tenant=record.tenant,
            instance_id=record.instance_id,
            seq=record.seq,
            event=json.loads(record.event),
            actor=record.actor,
            from_value=None if record.from_value is None else json.loads(record.from_value),
            to_value=json.loads(record.to_value),
            status=record.status,
            runtime_status=record.runtime_status,
            at=record.at,
            idempotency_key=record.idempotency_key,
            microsteps=json.loads(record.microsteps),
            effects=json.loads(record.effects),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StepAttempt:
    """A failed attempt of a step run: which attempt, its error, and when it ran.

    `started_at` is None for an attempt whose worker was lost (its lease lapsed and another
    worker took the run over at `ended_at`). Not a transition: `Engine.verify` never
    replays it.
    """

    #: What this history entry is (an `AuditEntry`'s is "transition").
    kind: ClassVar[str] = "step_attempt"

    tenant: str
    instance_id: str
    invoke_id: str
    src: str
    #: The instance version whose transition started the step run.
    started_version: int
    attempt: int  # 1 for the first
    error_type: str
    error_message: str
    started_at: int | None
    ended_at: int

    @property
    def at(self) -> int:
        """When the attempt ended (history entries are ordered by `at`)."""
        return self.ended_at

    @property
    def duration_ms(self) -> int | None:
        """How long the attempt ran, None if its start is unknown (its worker was lost)."""
        return None if self.started_at is None else self.ended_at - self.started_at

    @classmethod
    def from_record(cls, record: StepAttemptRecord) -> StepAttempt:
        """Decode a step attempt row."""
        return cls(
            tenant=record.tenant,
            instance_id=record.instance_id,
            invoke_id=record.invoke_id,
            src=record.src,
            started_version=record.started_version,
            attempt=record.attempt,
            error_type=record.error_type,
            error_message=record.error_message,
            started_at=record.started_at,
            ended_at=record.ended_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyResult:
    """Whether replaying an instance's audit log through the chart rebuilt its snapshot."""

    tenant: str
    instance_id: str
    ok: bool
    checked: int
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a step run ended with, for `Engine.finish_steps`: its `output`, or (with
    `failed`) the `error` its error event carries, and the failed `attempt` to keep for
    the history in the same transaction."""

    step: StepRecord
    output: object = None
    error: object = None
    failed: bool = False
    attempt: StepAttemptRecord | None = None
