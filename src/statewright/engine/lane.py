"""A lane: calls queued by event loops, taken by one thread in batches, answered per loop.

The engine blocks (the store), so an event loop cannot call it. Handing each call to a pool
thread (`asyncio.to_thread`) parks a thread per call and wakes one per answer; on a machine
where a wake is dear, those wakes cost about as much as the call itself. A lane does it once
per batch instead: the loop queues a job and awaits it; the lane's thread takes everything
queued at once (at most `MAX_BATCH`), runs the lane's `handle` on the whole batch (the
engine's `send_many`, say: decided one by one, committed in one transaction), and hands the
batch back to each event loop with ONE `call_soon_threadsafe`, where each job answers its
caller (`LaneJob.answer`). The next batch gathers while this one runs: the more callers at
once, the larger the batches, so the commit and the hand-offs are shared.

As many batches run at once as the lane has threads (`threads`: the store's
`group_commit_leaders`, one on SQLite, which has one writer), and never two batches holding
jobs of the same key (an instance): the later one waits for the earlier, so that calls of
one instance run in the order they were queued. A thread ends after `idle_s` without work,
and one starts again with the next job.

`close` fails the jobs still queued (each with an error of its own, answered on its loop),
waits for the batches running to be answered, and refuses any job submitted after it.

Both the engine's `send_async` (`async_sending.py`) and the HTTP API's send lane (which adds
its own token checks and response building) are lanes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, Protocol, TypeVar

__all__ = ["MAX_BATCH", "Lane", "LaneJob"]

log = logging.getLogger("statewright.engine")

#: The most jobs taken into one batch (the engine's group commit takes as many).
MAX_BATCH = 128


class LaneJob(Protocol):
    """What a lane needs of a job: its key, its event loop, and how it is answered."""

    @property
    def key(self) -> Hashable:
        """Jobs of one key are never in two batches at once (an instance's id)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop that waits for the job's answer."""

    def fail(self, error: BaseException) -> None:
        """Record `error` as the outcome, unless the job already has one (the lane's thread,
        or `close`'s)."""

    def answer(self) -> None:
        """Tell the caller its outcome (on `loop`)."""


J = TypeVar("J", bound=LaneJob)


class Lane(Generic[J]):
    """Jobs queued by event loops and taken in batches by a thread of the lane's."""

    def __init__(
        self,
        handle: Callable[[Sequence[J]], None],
        *,
        threads: int = 1,
        idle_s: float = 2.0,
        name: str = "statewright-lane",
    ) -> None:
        """`handle(jobs)` gives each job of a batch its outcome (in the lane's thread); an
        exception it raises becomes the outcome of every job it left without one."""
        self._handle = handle
        self._most = max(1, threads)
        self._idle_s = idle_s
        self._name = name
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._queue: list[J] = []
        self._running: set[Hashable] = set()  # the keys of the batches being handled
        self._threads = 0  # running
        self._waiting = 0  # of them, waiting for work
        self._alive: set[threading.Thread] = set()  # of them, by thread
        self._closed: Callable[[], BaseException] | None = None

    @property
    def threads(self) -> int:
        """The lane's threads running now (0 when it is idle or closed)."""
        with self._lock:
            return self._threads

    def submit(self, job: J) -> None:
        """Queue `job`: it is answered on its loop (`job.answer()`).

        Raises:
            BaseException: the lane is closed: the error `close` was given (made anew).
        """
        with self._lock:
            if self._closed is not None:
                raise self._closed()
            self._queue.append(job)
            if self._waiting:
                self._work.notify()
            elif self._threads < self._most:
                self._threads += 1
                thread = threading.Thread(target=self._run, name=self._name)
                thread.daemon = True
                self._alive.add(thread)
                thread.start()

    def close(self, error: Callable[[], BaseException]) -> None:
        """Refuse new jobs with `error()`, fail the queued ones with it (each answered on its
        loop), and return once the lane's threads have ended, the batches they were
        handling answered.

        Called from one of the lane's own threads (a `handle` that closes it), it waits for
        the others only."""
        with self._lock:
            self._closed = error
            queued, self._queue = self._queue, []
            threads = list(self._alive)
            self._work.notify_all()
        for job in queued:
            job.fail(error())
        hand_back(queued)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()

    def _run(self) -> None:
        while True:
            with self._lock:
                jobs = self._take()
                while not jobs:
                    if self._closed is not None:
                        break
                    self._waiting += 1
                    woken = self._work.wait(self._idle_s)
                    self._waiting -= 1
                    jobs = self._take()
                    if not jobs and not woken:
                        break
                if not jobs:
                    self._alive.discard(threading.current_thread())
                    self._threads -= 1
                    return
            try:
                self._handle(jobs)
            except BaseException as error:  # a bug: the jobs not yet answered fail with it
                for job in jobs:
                    job.fail(error)
            finally:
                with self._lock:
                    self._running.difference_update(job.key for job in jobs)
                    if self._queue and self._waiting:
                        self._work.notify()
                hand_back(jobs)

    def _take(self) -> list[J]:
        """The next batch: the queued jobs of keys no other batch holds, in order, at most
        MAX_BATCH (lock held)."""
        if not self._running:
            jobs = self._queue[:MAX_BATCH]
            del self._queue[:MAX_BATCH]
        else:
            jobs = []
            left: list[J] = []
            for job in self._queue:
                taken = len(jobs) < MAX_BATCH and job.key not in self._running
                (jobs if taken else left).append(job)
            self._queue = left
        self._running.update(job.key for job in jobs)
        return jobs


def hand_back(jobs: Sequence[LaneJob]) -> None:
    """Wake each event loop once for all its jobs."""
    by_loop: dict[asyncio.AbstractEventLoop, list[LaneJob]] = {}
    for job in jobs:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, answered in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these
            loop.call_soon_threadsafe(_answered, answered)


def _answered(jobs: list[LaneJob]) -> None:
    for job in jobs:
        try:
            job.answer()
        except Exception:  # a bug of that one answer: the others are still answered
            log.exception("answering a job of the lane failed (key %r)", job.key)
