"""statewright: durable statecharts for Python.

XState v5 machine definitions, run exactly, in Python: the pure statechart core (`Machine`),
the durable engine (`Engine.open(url)`: every transition committed to SQLite or PostgreSQL)
and the runtime that makes instances wait, retry and notify (`Worker`); see
docs/architecture.md.

`import statewright` loads only the core; `statewright.Engine`, `statewright.Worker` and the
other engine and runtime names are imported on first use.
"""

import typing

from statewright.chart import (
    CancelTimer,
    Effect,
    Emit,
    Log,
    Macrostep,
    Microstep,
    ScheduleTimer,
    Snapshot,
    StartStep,
    StopStep,
    assign,
    emit,
)
from statewright.definitions import Machine, read_definition
from statewright.errors import (
    AsOfAhead,
    ConfigError,
    DefinitionError,
    DefinitionMoved,
    EventError,
    EventNotAccepted,
    ExpressionError,
    Fault,
    IdempotencyConflict,
    ImplementationError,
    InstanceExists,
    InstanceNotActive,
    InternalError,
    LoopLimitError,
    NotFound,
    PathError,
    PayloadError,
    PayloadInvalid,
    SchemaOutOfDate,
    SnapshotError,
    StatewrightError,
    StepNotRetryable,
    StoreError,
    StoreUnavailable,
    TransitionFailed,
    VersionConflict,
    WorkGone,
)

if typing.TYPE_CHECKING:
    from statewright.engine import AuditEntry, Engine, Instance, VerifyResult
    from statewright.runtime import RetryPolicy, Schedule, Worker

#: Names imported on first use (module, attribute), so that the core stays light.
_LAZY = {
    "AuditEntry": "statewright.engine",
    "Engine": "statewright.engine",
    "Instance": "statewright.engine",
    "VerifyResult": "statewright.engine",
    "RetryPolicy": "statewright.runtime",
    "Schedule": "statewright.runtime",
    "Worker": "statewright.runtime",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'statewright' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "AsOfAhead",
    "AuditEntry",
    "CancelTimer",
    "ConfigError",
    "DefinitionError",
    "DefinitionMoved",
    "Effect",
    "Emit",
    "Engine",
    "EventError",
    "EventNotAccepted",
    "ExpressionError",
    "Fault",
    "IdempotencyConflict",
    "ImplementationError",
    "Instance",
    "InstanceExists",
    "InstanceNotActive",
    "InternalError",
    "Log",
    "LoopLimitError",
    "Machine",
    "Macrostep",
    "Microstep",
    "NotFound",
    "PathError",
    "PayloadError",
    "PayloadInvalid",
    "RetryPolicy",
    "Schedule",
    "ScheduleTimer",
    "SchemaOutOfDate",
    "Snapshot",
    "SnapshotError",
    "StartStep",
    "StatewrightError",
    "StepNotRetryable",
    "StopStep",
    "StoreError",
    "StoreUnavailable",
    "TransitionFailed",
    "VerifyResult",
    "VersionConflict",
    "WorkGone",
    "Worker",
    "assign",
    "emit",
    "read_definition",
]
