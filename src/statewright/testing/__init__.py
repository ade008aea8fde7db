"""The testing kit: run machines in memory on a virtual clock, in users' own tests."""

from statewright.testing.actor import PENDING, Actor, StepError
from statewright.testing.clock import VirtualClock, to_milliseconds
from statewright.testing.harness import Harness
from statewright.testing.paths import Path, PathStep, path_from_events, paths
from statewright.testing.restore import PendingTimer

__all__ = [
    "Actor",
    "Harness",
    "PENDING",
    "Path",
    "PathStep",
    "PendingTimer",
    "StepError",
    "VirtualClock",
    "path_from_events",
    "paths",
    "to_milliseconds",
]
