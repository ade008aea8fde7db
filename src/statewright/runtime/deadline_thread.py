"""One thread that calls many functions, each at its own time: the HTTP deadlines' clock.

A `threading.Timer` per webhook delivery started an OS thread per delivery, about 100 µs of
CPU (250 µs of wall time) each, an eighth of what a delivery on a kept connection costs.
`DeadlineThread` keeps the times in a heap under one `threading.Condition` and calls each
function from one daemon thread when its time comes: adding and cancelling cost a lock and a
heap operation. The stdlib's `sched` keeps such a heap too, but runs its functions in the
thread that calls `run`, which here is the very thread blocked in the exchange to be cut.

Theory of operation:

- `add` pushes an entry and starts the thread if none runs. It wakes the thread only when
  the new time comes before the one the thread sleeps until, which it rarely does: deliveries
  one after the other with one `deadline_s` each add a time later than the one the thread
  waits for (the previous delivery's), so the thread wakes about once per `deadline_s`, not
  once per delivery.
- `cancel` marks its entry cancelled and pops cancelled entries off the top of the heap (the
  usual case: deliveries end in about the order they started); once most of the heap is
  cancelled it is rebuilt without them, as asyncio's event loop does with its timers. The
  thread is not woken: it finds nothing due when it wakes at a cancelled time.
- The thread pops what is due under the lock and calls it outside it, in the order of the
  times, so that a function may take the lock of its own object, whose owner may cancel the
  entry meanwhile. A function cancelled after the thread took it still runs: its object must
  tell (a `Cutoff` does, under its own lock).
- With nothing left to call, the thread waits `_IDLE_S` (1 s) and ends if nothing was added
  meanwhile; the next `add` starts another. So it ends at most a deadline and a second after
  the last exchange, and it never holds a process's exit up (a daemon). `stop_idle` (a
  closing worker's) ends it at once, and waits for it, when it has nothing left to call but
  cancelled entries; with a live entry (another worker's exchange) it is left running.
- A forked child has none of its parent's threads: it starts with an empty heap (the
  exchanges running in the parent are not the child's) and a lock of its own, and its first
  `add` starts its thread.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DeadlineThread"]

#: How long the thread waits, with nothing to call, before it ends.
_IDLE_S = 1.0


@dataclass(order=True, slots=True)
class _Entry:
    at: float  # time.monotonic()
    order: int  # equal times in the order they were added
    fn: Callable[[], object] | None = field(compare=False)  # None once cancelled or taken


class DeadlineThread:
    """Calls functions at their times from one daemon thread named `name`, started on the
    first `add` and ended once idle (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._reset()
        reset = weakref.WeakMethod(self._reset)  # the hook must not keep `self` alive

        def reset_in_child() -> None:
            method = reset()
            if method is not None:
                method()

        os.register_at_fork(after_in_child=reset_in_child)

    def _reset(self) -> None:
        """Start afresh: made, or forked (where the lock may have been held at the fork)."""
        self._condition = threading.Condition(threading.Lock())
        self._heap: list[_Entry] = []
        self._cancelled = 0  # entries in the heap marked cancelled
        self._order = itertools.count()
        self._running = False
        self._thread: threading.Thread | None = None  # the running thread
        self._quit = False  # set by `stop_idle`: end once nothing is left to call
        self._adds = 0  # how many `add`s, to tell whether any came while the thread idled
        #: When the thread next looks at the heap on its own (-inf: it is about to look).
        self._wakes_at = -math.inf

    def add(self, delay_s: float, fn: Callable[[], object]) -> object:
        """Call `fn` in `delay_s` seconds, unless cancelled before: returns the handle
        for `cancel`."""
        entry = _Entry(time.monotonic() + delay_s, next(self._order), fn)
        with self._condition:
            heapq.heappush(self._heap, entry)
            self._adds += 1
            self._quit = False
            if not self._running:
                self._running = True
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            elif entry.at < self._wakes_at:
                self._condition.notify()
        return entry

    def cancel(self, handle: object) -> None:
        """Do not call the function of `handle` (from `add`), if it is not being called
        already; cancelling twice, or after the call, does nothing."""
        assert isinstance(handle, _Entry)
        with self._condition:
            if handle.fn is None:
                return  # taken by the thread, or cancelled
            handle.fn = None
            self._cancelled += 1
            heap = self._heap
            while heap and heap[0].fn is None:
                heapq.heappop(heap)
                self._cancelled -= 1
            if self._cancelled > len(heap) // 2:
                heap[:] = [entry for entry in heap if entry.fn is not None]
                heapq.heapify(heap)
                self._cancelled = 0

    def stop_idle(self) -> None:
        """End the thread now, and wait for it, if it has nothing left to call (entries
        cancelled only); else leave it to its calls. The next `add` starts another."""
        with self._condition:
            if not self._running or len(self._heap) > self._cancelled:
                return
            self._quit = True
            self._condition.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        try:
            while due := self._wait_for_due():
                for fn in due:
                    fn()
        except BaseException:
            with self._condition:
                self._running = False  # a function raised: the next add starts a thread
            raise

    def _wait_for_due(self) -> list[Callable[[], object]]:
        """The functions due, in the order of their times, once some are; [] once the thread
        has been idle for `_IDLE_S` (it then ends)."""
        with self._condition:
            idle_since: int | None = None  # `_adds` when the thread found nothing to wait for
            while True:
                now = time.monotonic()
                due = self._take_due(now)
                if due:
                    return due
                if self._quit and len(self._heap) == self._cancelled:  # `stop_idle`: end
                    self._heap.clear()
                    self._cancelled = 0
                    self._running = self._quit = False
                    return []
                if self._heap:
                    idle_since, wait_s = None, self._heap[0].at - now
                elif idle_since == self._adds:  # idle for `_IDLE_S`: end
                    self._running = False
                    return []
                else:
                    idle_since, wait_s = self._adds, _IDLE_S
                self._wakes_at = now + wait_s
                self._condition.wait(wait_s)
                self._wakes_at = -math.inf

    def _take_due(self, now: float) -> list[Callable[[], object]]:
        heap, due = self._heap, []
        while heap and heap[0].at <= now:
            entry = heapq.heappop(heap)
            if entry.fn is None:
                self._cancelled -= 1
                continue
            due.append(entry.fn)
            entry.fn = None
        return due
