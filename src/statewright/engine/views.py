"""What the engine returns: an instance as it stands, an audit entry, a verification."""

from __future__ import annotations

import json
from dataclasses import dataclass

from statewright.chart import Snapshot
from statewright.store.records import AuditRecord, StepRecord

__all__ = ["AuditEntry", "Instance", "StepResult", "VerifyResult"]


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

    @property
    def value(self) -> object:
        """The statechart value (`"pending_approval"`)."""
        return self.snapshot.value

    @property
    def context(self) -> object:
        """The instance's context."""
        return self.snapshot.context

    @property
    def status(self) -> str:
        """`active`, `done`, `error` or `stopped` (the snapshot's status)."""
        return self.snapshot.status


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One committed transition, as the audit log keeps it."""

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
    `failed`) the `error` its error event carries."""

    step: StepRecord
    output: object = None
    error: object = None
    failed: bool = False
