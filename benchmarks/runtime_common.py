"""What both sides of `benchmarks.runtime` share: worker processes, waiting, percentiles."""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.forkserver
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

__all__ = [
    "SETTLE",
    "Processes",
    "context",
    "drain_rate",
    "percentile",
    "processes",
    "timed_sends",
    "wait_until",
    "warm_up",
]

#: How often a driver looks at the database to see whether the work is done.
CHECK_EVERY = 0.01
#: Seconds a driver leaves an idle worker before the first timed send, so it is waiting.
SETTLE = 0.5


def wait_until(done: Callable[[], bool], timeout: float, every: float = CHECK_EVERY) -> float:
    """Call `done` every `every` seconds until it is true; the `time.time()` at which it
    first was.

    Raises:
        TimeoutError: it was still false after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the work was not done within {timeout:.0f} s")
        time.sleep(every)
    return time.time()


def drain_rate(done_count: Callable[[], int], n: int, timeout: float) -> float:
    """Work items completed per second between the first completion seen and the last,
    watching `done_count()` every CHECK_EVERY seconds: (n - done at the first sighting) /
    (time all n were done - time of the first sighting)."""
    first_count = 0

    def started() -> bool:
        nonlocal first_count
        first_count = done_count()
        return first_count > 0

    first = wait_until(started, timeout)
    if first_count >= n:
        raise RuntimeError("all the work was done before it was first seen; use a larger N")
    last = wait_until(lambda: done_count() >= n, timeout)
    return (n - first_count) / (last - first)


def context() -> multiprocessing.context.BaseContext:
    """Worker processes are forked from a server process that imported this process's side
    of the benchmark once (and nothing else: no connections, no threads, no DBOS instance),
    so that each starts in milliseconds instead of importing everything again."""
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload([name for name in SIDES if name in sys.modules])
    return forkserver


def warm_up() -> None:
    """Start the fork server now, so that it imports while this process does other work."""
    context()
    multiprocessing.forkserver.ensure_running()


#: The modules worker processes run; the fork server imports those this process uses.
SIDES = ("benchmarks.runtime_statewright", "benchmarks.runtime_dbos")


@dataclass(slots=True)
class Processes:
    """Spawned worker processes, each told when to stop by `stop`."""

    procs: list[BaseProcess]
    readies: list[Event]
    stop: Event

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until every process has said it is ready.

        Raises:
            RuntimeError: a process ended before it was ready, or took longer than `timeout`.
        """
        deadline = time.monotonic() + timeout
        for process, ready in zip(self.procs, self.readies, strict=True):
            while not ready.wait(0.1):
                if not process.is_alive():
                    raise RuntimeError(
                        f"worker process {process.name} ended (exit code "
                        f"{process.exitcode}) before it was ready"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker process {process.name} did not get ready")


@contextmanager
def processes(
    targets: Sequence[tuple[Callable[..., None], tuple[object, ...]]], grace: float = 30
) -> Iterator[Processes]:
    """Start one process per (function, args); each gets a `ready` and a `stop` event
    appended to its arguments. On exit, sets `stop` and joins every process, killing any
    still running after `grace` seconds."""
    forkserver = context()
    stop = forkserver.Event()
    readies = [forkserver.Event() for _ in targets]
    started = [
        forkserver.Process(target=fn, args=(*args, ready, stop), daemon=True)
        for (fn, args), ready in zip(targets, readies, strict=True)
    ]
    for process in started:
        process.start()
    try:
        yield Processes(started, readies, stop)
    finally:
        stop.set()
        deadline = time.monotonic() + grace
        for process in started:
            process.join(timeout=max(0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def timed_sends(
    send: Callable[[int], None], starts: Queue[tuple[int, float]], n: int, gap: float
) -> dict[str, list[float]]:
    """Send `n` events one at a time, each to a worker that is idle and waiting; a step
    reports `(index, time.time())` on `starts` as it begins. Returns, in milliseconds, the
    latency from `send` returning to the step starting, and how long each `send` took.
    Sends are spaced by a random pause of `gap` to `2 * gap` seconds (seeded), so they do
    not fall in step with a polling worker's sleeps."""
    pauses = random.Random(7)
    latencies, sends = [], []
    for index in range(n):
        before = time.time()
        send(index)
        returned = time.time()
        got, started = starts.get(timeout=60)
        if got != index:
            raise RuntimeError(f"the step for event {got} started, expected {index}")
        latencies.append((started - returned) * 1000)
        sends.append((returned - before) * 1000)
        time.sleep(pauses.uniform(gap, 2 * gap))
    return {"latencies_ms": latencies, "send_ms": sends}
