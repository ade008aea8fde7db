"""A virtual clock: time moves only when a test says so.

Callbacks scheduled on it fire in order of due time, then of scheduling (equal due times fire
in creation order), when `advance` passes their due time - like XState's `SimulatedClock`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from statewright.chart.durations import parse_duration_ms

__all__ = ["VirtualClock", "to_milliseconds"]


def to_milliseconds(amount: int | float | str) -> int:
    """Milliseconds from a number or a duration text (`"48h"`, `"PT1H"`, `"1500"`)."""
    if isinstance(amount, bool):
        raise ValueError("a duration cannot be true or false")
    if isinstance(amount, (int, float)):
        milliseconds = round(amount)
    else:
        parsed = parse_duration_ms(amount)
        if parsed is None:
            try:
                parsed = round(float(amount))
            except ValueError:
                raise ValueError(
                    f"{amount!r} is not a duration; write milliseconds, '48h' or 'PT48H'"
                ) from None
        milliseconds = parsed
    if milliseconds < 0:
        raise ValueError(f"time only moves forward; {amount!r} is negative")
    return milliseconds


class VirtualClock:
    """Milliseconds since the clock's start, moved only by `advance`."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms
        self._counter = itertools.count()
        self._heap: list[tuple[int, int]] = []
        self._callbacks: dict[int, Callable[[], None]] = {}

    def now(self) -> int:
        """The current virtual time in milliseconds."""
        return self._now

    def set_timeout(self, callback: Callable[[], None], delay_ms: int) -> int:
        """Call `callback` once `delay_ms` have passed; returns a handle for `clear_timeout`."""
        handle = next(self._counter)
        heapq.heappush(self._heap, (self._now + max(0, delay_ms), handle))
        self._callbacks[handle] = callback
        return handle

    def clear_timeout(self, handle: int) -> None:
        """Forget a scheduled callback (a no-op if it already fired)."""
        self._callbacks.pop(handle, None)

    def next_due(self) -> int | None:
        """When the next callback is due, or None."""
        while self._heap and self._heap[0][1] not in self._callbacks:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def advance(self, amount: int | float | str) -> None:
        """Move time forward, firing every callback that falls due, in order.

        Callbacks scheduled while advancing fire in the same call if they fall due within it.
        """
        target = self._now + to_milliseconds(amount)
        while True:
            due = self.next_due()
            if due is None or due > target:
                break
            _, handle = heapq.heappop(self._heap)
            callback = self._callbacks.pop(handle)
            self._now = max(self._now, due)
            callback()
        self._now = target
