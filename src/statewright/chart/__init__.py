"""The statechart core: XState v5 machine definitions, run exactly, in pure Python.

This package is pure: no I/O, no clock, no randomness, no logging; it imports only the
standard library, `statewright.errors`, and `jsonschema` for the event schemas a definition
declares. See `docs/architecture.md` for the layers above it.
"""

from statewright.chart.effects import (
    CancelTimer,
    Effect,
    Emit,
    Log,
    ScheduleTimer,
    StartStep,
    StopStep,
)
from statewright.chart.implementations import assign, emit
from statewright.chart.machine import Machine
from statewright.chart.macrostep import Macrostep, Microstep
from statewright.chart.snapshot import Snapshot

__all__ = [
    "CancelTimer",
    "Effect",
    "Emit",
    "Log",
    "Machine",
    "Macrostep",
    "Microstep",
    "ScheduleTimer",
    "Snapshot",
    "StartStep",
    "StopStep",
    "assign",
    "emit",
]
