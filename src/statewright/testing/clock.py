"""A virtual clock: time moves only when a test says so.

Callbacks scheduled on it fire in order of due time, then of scheduling (equal due times fire
in creation order), when `advance` passes their due time - like XState's `SimulatedClock`.
"""

from __future__ import annotations

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
    elif not isinstance(amount, str):
        raise ValueError(f"{amount!r} is not a duration; write milliseconds, '48h' or 'PT48H'")
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
    """Milliseconds since the clock's start, moved only by `advance`.

    `advance` works as XState's `SimulatedClock.increment`: time jumps to the end of the
    advance first, then every callback due by then fires, in order of due time and creation.
    A callback scheduled while they fire counts its delay from the end of the advance, and
    fires in the same advance if it is already due - unless the callback that scheduled it
    was the last one due (XState checks for new callbacks only before each pending one).
    """

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms
        self._counter = itertools.count()
        #: handle -> (due, callback)
        self._timeouts: dict[int, tuple[int, Callable[[], None]]] = {}
        self._flushing = False
        self._invalidated = False

    def now(self) -> int:
        """The current virtual time in milliseconds."""
        return self._now

    def set_timeout(self, callback: Callable[[], None], delay_ms: int) -> int:
        """Call `callback` once `delay_ms` have passed; returns a handle for `clear_timeout`."""
        self._invalidated = self._flushing
        handle = next(self._counter)
        self._timeouts[handle] = (self._now + max(0, delay_ms), callback)
        return handle

    def clear_timeout(self, handle: int) -> None:
        """Forget a scheduled callback (a no-op if it already fired)."""
        self._invalidated = self._flushing
        self._timeouts.pop(handle, None)

    def due(self, handle: int) -> int | None:
        """When the callback `handle` is due, or None if it fired or was cleared."""
        entry = self._timeouts.get(handle)
        return None if entry is None else entry[0]

    def next_due(self) -> int | None:
        """When the next callback is due, or None."""
        return min((due for due, _ in self._timeouts.values()), default=None)

    def advance(self, amount: int | float | str) -> None:
        """Move time forward by `amount` (milliseconds or `"48h"`), firing what falls due."""
        self._now += to_milliseconds(amount)
        self._flush()

    def _flush(self) -> None:
        if self._flushing:
            self._invalidated = True
            return
        self._flushing = True
        try:
            while True:
                pending = sorted(self._timeouts.items(), key=lambda item: (item[1][0], item[0]))
                restarted = False
                for handle, (due, callback) in pending:
                    if self._invalidated:
                        self._invalidated = False
                        restarted = True
                        break
                    if handle in self._timeouts and due <= self._now:
                        del self._timeouts[handle]
                        callback()
                if not restarted:
                    return
        finally:
            self._flushing = False
            self._invalidated = False
