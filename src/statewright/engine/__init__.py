"""The durable engine: every transition committed to SQLite or PostgreSQL with its audit row
and the work it creates, in one transaction."""

from statewright.engine.batch_sending import SendRequest
from statewright.engine.batch_starting import StartRequest
from statewright.engine.bulk import BulkResult
from statewright.engine.engine import Engine
from statewright.engine.migrating import Migrated, SchemaStatus, migrate_store, schema_status
from statewright.engine.partition_pruning import AuditPartition, Partitioned
from statewright.engine.pruning import PruneReport
from statewright.engine.schedules import ScheduleSeen, ScheduleWorker, TickSeen
from statewright.engine.stream import StreamEntry
from statewright.engine.views import AuditEntry, Instance, StepAttempt, VerifyResult
from statewright.engine.work_summary import WorkSummary
from statewright.engine.work_views import (
    Accepted,
    AcceptedEvent,
    DeadLetter,
    Page,
    PendingTimer,
    StateCount,
    StepRun,
)

__all__ = [
    "Accepted",
    "AcceptedEvent",
    "AuditEntry",
    "AuditPartition",
    "BulkResult",
    "DeadLetter",
    "Engine",
    "Instance",
    "Migrated",
    "Page",
    "Partitioned",
    "PendingTimer",
    "PruneReport",
    "ScheduleSeen",
    "ScheduleWorker",
    "SchemaStatus",
    "SendRequest",
    "StartRequest",
    "StateCount",
    "StepAttempt",
    "StepRun",
    "StreamEntry",
    "TickSeen",
    "VerifyResult",
    "WorkSummary",
    "migrate_store",
    "schema_status",
]
