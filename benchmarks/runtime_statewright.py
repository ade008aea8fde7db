"""statewright's side of `benchmarks.runtime`: the machines, the worker processes, the jobs.

Every worker is a spawned process that opens its own `Engine`, registers the machines with
their Python functions and runs `Worker(engine).run(poll_ms=...)` until told to stop; this
process (the driver) starts instances and sends events through its own `Engine`, as an
application would. Times are the engine's commit times (`Instance.updated_at`, the audit
row's `at`, milliseconds) unless a docstring says otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from benchmarks.runtime_common import (
    SETTLE,
    Processes,
    context,
    percentile,
    processes,
    timed_sends,
    wait_until,
)
from statewright import Machine
from statewright.engine import Engine
from statewright.engine.views import Instance
from statewright.runtime import Worker

#: The tenant the jobs use unless told another.
TENANT = "default"
#: Seconds any one job may take before the benchmark gives up.
TIMEOUT = 600


def _step(src: str, target: str) -> dict[str, object]:
    """A state that invokes `src` with the context's value and stores its output."""
    return {
        "invoke": {
            "id": src,
            "src": src,
            "input": {"value": {"$expr": "context.value"}},
            "onDone": {
                "target": target,
                "actions": [{"type": "assign", "params": {"value": {"$expr": "event.output"}}}],
            },
        }
    }


#: Three trivial steps in sequence, each returning a small value, then done.
THREE_STEPS: dict[str, object] = {
    "id": "three_steps",
    "initial": "one",
    "context": {"value": 0},
    "states": {
        "one": _step("stepOne", "two"),
        "two": _step("stepTwo", "three"),
        "three": _step("stepThree", "done"),
        "done": {"type": "final"},
    },
}
#: One `after` timer of 10 ms, then done.
TIMER: dict[str, object] = {
    "id": "timer",
    "initial": "waiting",
    "states": {"waiting": {"after": {"10": "fired"}}, "fired": {"type": "final"}},
}
#: One `after` timer whose delay (ms) comes from the start input, then done.
DUE_AT: dict[str, object] = {
    "id": "due_at",
    "initial": "waiting",
    "context": {"delay": {"$expr": "input.delay"}},
    "states": {"waiting": {"after": {"due": "fired"}}, "fired": {"type": "final"}},
}
#: Waits for GO, then invokes a step that reports when it starts.
EVENT_STEP: dict[str, object] = {
    "id": "event_step",
    "initial": "idle",
    "context": {"index": {"$expr": "input.index"}},
    "states": {
        "idle": {"on": {"GO": "running"}},
        "running": {
            "invoke": {
                "id": "started",
                "src": "started",
                "input": {"index": {"$expr": "context.index"}},
                "onDone": "done",
            }
        },
        "done": {"type": "final"},
    },
}


def increment(input: dict[str, Any]) -> int:
    """A trivial step: the value plus one."""
    return int(input["value"]) + 1


def machines(starts: Queue[tuple[int, float]] | None = None) -> list[Machine]:
    """The four machines with their functions; the `started` step reports its start time
    on `starts` (when given)."""

    def started(input: dict[str, Any]) -> None:
        at = time.time()
        if starts is not None:
            starts.put((int(input["index"]), at))

    return [
        Machine.from_config(THREE_STEPS).provide(
            actors={"stepOne": increment, "stepTwo": increment, "stepThree": increment}
        ),
        Machine.from_config(TIMER),
        Machine.from_config(DUE_AT).provide(
            delays={"due": lambda context, event: context["delay"]}
        ),
        Machine.from_config(EVENT_STEP).provide(actors={"started": started}),
    ]


def open_engine(url: str, starts: Queue[tuple[int, float]] | None = None) -> Engine:
    """An engine on `url` with the machines registered."""
    engine = Engine.open(url)
    for machine in machines(starts):
        engine.register(machine)
    return engine


# -- the worker process -------------------------------------------------------------------------


def worker(
    url: str, poll_ms: int, starts: Queue[tuple[int, float]] | None, ready: Event, stop: Event
) -> None:
    """A worker process: `Worker.run` until `stop` is set."""
    engine = open_engine(url, starts)
    stopping = threading.Event()
    threading.Thread(target=lambda: (stop.wait(), stopping.set()), daemon=True).start()
    ready.set()
    try:
        Worker(engine).run(poll_ms=poll_ms, stop=stopping)
    finally:
        engine.close()


def workers(
    url: str, count: int, poll_ms: int, starts: Queue[tuple[int, float]] | None = None
) -> AbstractContextManager[Processes]:
    """`count` worker processes (a context manager). Once the work is measured they are
    given a moment to stop and then killed: a worker waiting for work notices `stop` only
    after its poll, and everything measured is committed by then."""
    return processes([(worker, (url, poll_ms, starts))] * count, grace=0.2)


# -- reading results ----------------------------------------------------------------------------


def instances(engine: Engine, definition_id: str, tenant: str = TENANT) -> Iterator[Instance]:
    """Every instance of a definition in `tenant`, page by page."""
    after = None
    while True:
        page = engine.list(tenant=tenant, definition_id=definition_id, after=after, limit=1000)
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].id


def finished_at(engine: Engine, definition_id: str, n: int, tenant: str = TENANT) -> list[int]:
    """The last commit time of each of the `n` instances of a definition, sorted; all must
    be done."""
    found = list(instances(engine, definition_id, tenant))
    not_done = [i.id for i in found if i.status != "done"]
    if len(found) != n or not_done:
        raise RuntimeError(f"{definition_id}: {len(found)} instances, not done: {not_done[:5]}")
    return sorted(i.updated_at for i in found)


def all_done(engine: Engine, definition_id: str, tenant: str = TENANT) -> Callable[[], bool]:
    """Whether no instance of the definition is still active."""
    return lambda: (
        not engine.list(tenant=tenant, definition_id=definition_id, status="active", limit=1)
    )


# -- the jobs -----------------------------------------------------------------------------------


def steps(url: str, n: int, count: int, poll_ms: int) -> dict[str, Any]:
    """N three-step instances started by the driver while `count` workers run; elapsed from
    just before the first start to the last commit."""
    engine = open_engine(url)
    with workers(url, count, poll_ms) as running:
        running.wait_ready()
        began = time.time()
        for index in range(n):
            engine.start("three_steps", instance_id=f"s{index:06d}")
        starting = time.time() - began
        wait_until(all_done(engine, "three_steps"), TIMEOUT)
    elapsed = finished_at(engine, "three_steps", n)[-1] / 1000 - began
    engine.close()
    return {"n": n, "elapsed": elapsed, "steps_per_s": 3 * n / elapsed, "starting_s": starting}


def drain(url: str, n: int, count: int, poll_ms: int, tenant: str = TENANT) -> dict[str, Any]:
    """N three-step instances started while no worker runs, then drained by `count`
    workers; steps/s from the first step result's commit to the last one's. `tenant`
    keeps the instances apart from earlier runs on the same database."""
    engine = open_engine(url)
    for index in range(n):
        engine.start("three_steps", instance_id=f"s{index:06d}", tenant=tenant)
    with workers(url, count, poll_ms) as running:
        running.wait_ready()
        wait_until(all_done(engine, "three_steps", tenant), TIMEOUT)
    last = finished_at(engine, "three_steps", n, tenant)[-1]
    first = min(engine.history(f"s{index:06d}", tenant=tenant)[1].at for index in range(n))
    engine.close()
    return {"n": n, "steps_per_s": (3 * n - 1) / (max(1, last - first) / 1000)}


def timers(url: str, n: int, count: int, poll_ms: int, tenant: str = TENANT) -> dict[str, Any]:
    """N instances whose 10 ms timer is due before any worker runs, then drained by `count`
    workers; timers fired per second between the first and the last firing commit.
    `tenant` keeps the instances apart from earlier runs on the same database."""
    engine = open_engine(url)
    for index in range(n):
        engine.start("timer", instance_id=f"t{index:06d}", tenant=tenant)
    time.sleep(0.1)
    with workers(url, count, poll_ms) as running:
        running.wait_ready()
        wait_until(all_done(engine, "timer", tenant), TIMEOUT)
    fired = finished_at(engine, "timer", n, tenant)
    engine.close()
    span = max(1, fired[-1] - fired[0]) / 1000
    return {"n": n, "timers_per_s": (n - 1) / span}


def lateness(
    url: str, *, count: int, poll_ms: int, load: float, timers_: int, window: float
) -> dict[str, Any]:
    """Timers due at instants spread evenly over `window` seconds (from one second after
    they are started) while the driver starts three-step instances at `load` steps/s;
    lateness = the firing's commit time (audit `at`) - the timer's due time."""
    engine = open_engine(url)
    with workers(url, count, poll_ms) as running:
        running.wait_ready()
        ends = time.time() + 1.0 + window
        for index in range(timers_):
            due = ends - window + window * index / timers_
            delay = max(0, round((due - time.time()) * 1000))
            engine.start("due_at", instance_id=f"d{index:06d}", input={"delay": delay})
        started, seconds = _paced_starts(engine, load / 3, until=ends + 0.5)
        wait_until(all_done(engine, "due_at"), TIMEOUT)
        wait_until(all_done(engine, "three_steps"), TIMEOUT)
    late = [_late_ms(engine, instance.id) for instance in instances(engine, "due_at")]
    engine.close()
    return {
        "timers": timers_,
        "load_steps_per_s": load,
        "offered_steps_per_s": 3 * started / seconds,
        "p50_ms": percentile(late, 50),
        "p99_ms": percentile(late, 99),
        "max_ms": max(late),
        "lateness_ms": late,
    }


def _paced_starts(engine: Engine, per_second: float, *, until: float) -> tuple[int, float]:
    """Start three-step instances at `per_second` until the wall clock reaches `until`;
    how many were started, in how many seconds."""
    began = time.time()
    index = 0
    while (now := time.time()) < until:
        next_at = began + index / per_second
        if next_at > now:
            time.sleep(min(next_at - now, until - now))
            continue
        engine.start("three_steps", instance_id=f"load{index:06d}")
        index += 1
    return index, time.time() - began


def _late_ms(engine: Engine, instance_id: str) -> int:
    start, fire = engine.history(instance_id)[:2]
    (effect,) = (e for e in start.effects if isinstance(e, dict) and "due_at" in e)
    return fire.at - int(effect["due_at"])


def event_latency(url: str, n: int, poll_ms: int, gap: float) -> dict[str, Any]:
    """GO sent to an idle instance while one worker waits: from `send` returning (the
    transition that starts the step is committed) to the step function's first line."""
    engine = open_engine(url)
    for index in range(n):
        engine.start("event_step", instance_id=f"e{index:06d}", input={"index": index})
    starts: Queue[tuple[int, float]] = context().Queue()
    with workers(url, 1, poll_ms, starts) as running:
        running.wait_ready()
        time.sleep(SETTLE)

        def send(index: int) -> None:
            engine.send(f"e{index:06d}", {"type": "GO"})

        result = timed_sends(send, starts, n, gap)
    engine.close()
    return {"n": n, **result}
