"""Where the engine gets the time: milliseconds since the Unix epoch, UTC."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock", "iso_utc"]


class Clock(Protocol):
    """Anything with `now()` in epoch milliseconds (`statewright.testing.VirtualClock` is one)."""

    def now(self) -> int:
        """The current time in milliseconds since the Unix epoch."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> int:
        """The current time in milliseconds since the Unix epoch."""
        return time.time_ns() // 1_000_000


def iso_utc(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 in UTC, to the second: `2026-12-06T10:30:00Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
