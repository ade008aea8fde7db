"""statewright: durable statecharts for Python.

XState v5 machine definitions, run exactly, in Python. This release holds the pure statechart
core and an in-memory testing actor; see docs/architecture.md.
"""

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
    DefinitionError,
    EventError,
    ExpressionError,
    Fault,
    ImplementationError,
    InternalError,
    LoopLimitError,
    SnapshotError,
    StatewrightError,
)

__version__ = "0.1.0"

__all__ = [
    "CancelTimer",
    "DefinitionError",
    "Effect",
    "Emit",
    "EventError",
    "ExpressionError",
    "Fault",
    "ImplementationError",
    "InternalError",
    "Log",
    "LoopLimitError",
    "Machine",
    "Macrostep",
    "Microstep",
    "ScheduleTimer",
    "Snapshot",
    "SnapshotError",
    "StartStep",
    "StatewrightError",
    "StopStep",
    "assign",
    "emit",
    "read_definition",
]
