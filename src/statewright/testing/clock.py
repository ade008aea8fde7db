"""A virtual clock: time moves only when a test says so.

Callbacks scheduled on it fire in order of due time, then of scheduling (equal due times fire
in creation order), when `advance` passes their due time - like XState's `SimulatedClock`.

Time is kept exactly, fractions of a millisecond included (as XState's clock keeps a JS
number): two `advance(0.5)` move it by 1 ms, ten `advance(1.5)` by 15 ms. `now()` is the
whole milliseconds passed (rounded down), which is what the engine and its timers read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from fractions import Fraction

from statewright.chart.durations import parse_duration_ms

__all__ = ["VirtualClock", "to_milliseconds"]


def to_milliseconds(amount: int | float | str) -> int:
    """Whole milliseconds from a number or a duration text (`"48h"`, `"PT1H"`, `"1500"`); a
    fraction of a millisecond is rounded to the nearest (`VirtualClock.advance` keeps it)."""
    return round(exact_milliseconds(amount))


def exact_milliseconds(amount: int | float | str) -> Fraction:
    """Milliseconds from a number or a duration text, fractions kept exactly as written (a
    float as its shortest decimal, so that ten `0.1` make 1). A duration text (`"1.5s"`) is
    whole milliseconds, as a delay in a definition is.

    Raises:
        ValueError: not a duration, or negative.
    """
    if isinstance(amount, bool):
        raise ValueError("a duration cannot be true or false")
    if isinstance(amount, int):
        milliseconds = Fraction(amount)
    elif isinstance(amount, float):
        if not math.isfinite(amount):
            raise ValueError(f"{amount!r} is not a duration; write milliseconds, '48h' or 'PT48H'")
        milliseconds = Fraction(repr(amount))
    elif not isinstance(amount, str):
        raise ValueError(f"{amount!r} is not a duration; write milliseconds, '48h' or 'PT48H'")
    else:
        parsed = parse_duration_ms(amount)
        if parsed is not None:
            milliseconds = Fraction(parsed)
        else:
            try:
                number = float(amount)
                if not math.isfinite(number):
                    raise ValueError(amount)
                milliseconds = Fraction(amount.strip())
            except ValueError:
                raise ValueError(
                    f"{amount!r} is not a duration; write milliseconds, '48h' or 'PT48H'"
                ) from None
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
        #: The fraction of a millisecond passed beyond `_now` (0 <= it < 1).
        self._part = Fraction(0)
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
        """Move time forward by `amount` (milliseconds or `"48h"`), firing what falls due.
        A fraction of a millisecond is kept: `now()` moves once the fractions add up to one.

        Raises:
            ValueError: `amount` is not a duration, or negative.
        """
        self._move(exact_milliseconds(amount))
        self._flush()

    def _exact_now(self) -> Fraction:
        """The current virtual time, fractions of a millisecond included."""
        return self._now + self._part

    def _advance_to(self, instant: int | Fraction) -> None:
        """Move time forward to exactly `instant` (if it is ahead), firing what falls due;
        for the `Harness`, which steps to each due time."""
        if instant > self._exact_now():
            self._move(instant - self._exact_now())
            self._flush()

    def _move(self, milliseconds: Fraction) -> None:
        whole, self._part = divmod(self._part + milliseconds, 1)
        self._now += int(whole)

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
