"""How late a running worker starts due work, per kind of work, idle and busy.

    .venv/bin/python -m benchmarks.due_lateness              # SQLite and PostgreSQL, 200 each
    .venv/bin/python -m benchmarks.due_lateness --quick      # 30 samples each, 20 ticks
    .venv/bin/python -m benchmarks.due_lateness --backend sqlite --samples 100 --poll 1

A real `Worker.run` (its own engine, its own connections, on a thread of this process) works
while this process's other engine (another writer, as a second process would be) creates the
work. Lateness is the time from when a unit fell due to when it started, both read from the
clock the worker uses (epoch ms):

- timer: the timer's due time (the start's audit row + its delay) to its firing's audit row;
- step (new): a step started by another writer: the start's audit row to the step's call;
- step retry: the failed attempt's end (its attempt row) plus the fixed retry delay, to the
  second attempt's start (its attempt row);
- outbox (new): the emitting start's audit row to the listener's first call;
- outbox retry: the failed delivery (the listener raised) plus the fixed retry delay, to the
  second call (a fraction of a ms early: the worker stamps the failure after the call returns);
- cron tick: the tick (a whole minute) to the audit row of the instance it started. Ticks come
  once a minute, so the clock the two engines share is moved to a few hundred ms before the
  next tick for each sample, and a commit that creates far-off work wakes the worker so that
  it sees the moved clock, as it would see time pass;
- slots: steps flooded at 4x the worker's concurrency: each step's start against the moment
  a slot was first free for it (a work-conserving pool fed from the same ends).

"busy": meanwhile another writer keeps the worker's step slots half full with steps of
50-400 ms. Each sample falls due at a random phase, so a worker that wakes only on its poll
is late by up to one poll. "idle cost": a worker with nothing due but far-off work, for a few
seconds: this process's CPU (the worker's threads; the main thread sleeps) and the store
calls the worker makes per second. Measured, not asserted.
"""

from __future__ import annotations

import argparse
import heapq
import logging
import random
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.runtime.retry import RetryPolicy
from statewright.testing.postgres import TemporaryPostgres

TENANT = "bench"
RETRY_DELAY_MS = 300
FAR_MS = 1000 * 3_600_000  # the nudges' timers: never due during a run
CONCURRENCY = 8


class OffsetClock:
    """Wall-clock epoch ms plus an offset the benchmark moves (for the cron ticks)."""

    def __init__(self) -> None:
        self.offset = 0

    def now(self) -> int:
        return int(time.time() * 1000) + self.offset


class Recorder:
    """What the step functions and listeners saw: call times by key."""

    def __init__(self, clock: OffsetClock) -> None:
        self.clock = clock
        self.calls: dict[str, list[int]] = {}
        self.ends: dict[str, int] = {}
        self.lock = threading.Lock()

    def called(self, key: str) -> int:
        with self.lock:
            calls = self.calls.setdefault(key, [])
            calls.append(self.clock.now())
            return len(calls)


def _machines(rec: Recorder) -> list[Machine]:
    ctx = {"id": {"$expr": "input.id"}, "ms": {"$expr": "input.ms"}}

    def quick(data: dict[str, Any]) -> str:
        rec.called(str(data["id"]))
        return "ok"

    def flaky(data: dict[str, Any]) -> str:
        rec.called(str(data["id"]))
        raise RuntimeError("fails every time")

    def sleepy(data: dict[str, Any]) -> str:
        key = str(data["id"])
        rec.called(key)
        time.sleep(int(data["ms"]) / 1000)
        with rec.lock:
            rec.ends[key] = rec.clock.now()
        return "ok"

    step_input = {"id": {"$expr": "context.id"}, "ms": {"$expr": "context.ms"}}

    def invoking(name: str, src: str, retry: dict[str, object] | None = None) -> Machine:
        invoke: dict[str, object] = {
            "src": src,
            "input": step_input,
            "onDone": "done",
            "onError": "done",
        }
        if retry:
            invoke["statewright"] = {"retry": retry}
        config = {
            "id": name,
            "initial": "run",
            "context": ctx,
            "states": {"run": {"invoke": invoke}, "done": {"type": "final"}},
        }
        return Machine.from_config(config).provide(actors={src: locals_[src]})

    locals_: dict[str, Callable[[dict[str, Any]], str]] = {
        "quick": quick,
        "flaky": flaky,
        "sleepy": sleepy,
    }
    timer = Machine.from_config(
        {
            "id": "timer",
            "initial": "wait",
            "context": ctx,
            "states": {"wait": {"after": {"d": "done"}}, "done": {"type": "final"}},
        }
    ).provide(delays={"d": lambda context, event: int(context["ms"])})
    emit = Machine.from_config(
        {
            "id": "emit",
            "initial": "a",
            "context": ctx,
            "states": {
                "a": {
                    "entry": {
                        "type": "emit",
                        "params": {"event": {"type": "bench.ping", "id": {"$expr": "context.id"}}},
                    }
                }
            },
        }
    )
    ticked = Machine.from_config({"id": "ticked", "initial": "a", "states": {"a": {}}})
    retry = {"attempts": 2, "backoff": "fixed", "delay": RETRY_DELAY_MS, "jitter": False}
    return [
        timer,
        emit,
        ticked,
        invoking("work", "quick"),
        invoking("retry", "flaky", retry),
        invoking("load", "sleepy"),
        invoking("slot", "sleepy"),
    ]


class Bench:
    """One backend: a producer engine and a running worker sharing a clock."""

    def __init__(self, url: str, poll_s: float) -> None:
        self.url = url
        self.poll_s = poll_s
        self.clock = OffsetClock()
        self.rec = Recorder(self.clock)
        self.seq = 0

    def key(self, kind: str) -> str:
        self.seq += 1
        return f"{kind}-{self.seq}"

    @contextmanager
    def running(self, *, busy: bool) -> Iterator[tuple[Engine, Worker]]:
        machines = _machines(self.rec)
        with (
            Engine.open(self.url, clock=self.clock) as producer,
            Engine.open(self.url, clock=self.clock) as engine,
        ):
            for machine in machines:
                producer.register(machine)
                engine.register(machine)
            worker = Worker(engine, concurrency=CONCURRENCY)
            worker.outbox.policy = RetryPolicy(
                attempts=3, backoff="fixed", delay_ms=RETRY_DELAY_MS, jitter=False
            )
            worker.listen("bench.*", self._listener)
            worker.schedule({"name": "tick", "cron": "* * * * *", "action": {"start": "ticked"}})
            stop = threading.Event()
            thread = threading.Thread(
                target=worker.run, kwargs={"poll_ms": int(self.poll_s * 1000), "stop": stop}
            )
            thread.start()
            load_stop = threading.Event()
            loader = threading.Thread(target=self._load, args=(producer, load_stop))
            if busy:
                loader.start()
            time.sleep(0.5)
            try:
                yield producer, worker
            finally:
                load_stop.set()
                if busy:
                    loader.join()
                stop.set()
                thread.join()

    def _listener(self, message: Any) -> None:
        if self.rec.called(f"outbox-{message.event['id']}") == 1:
            raise RuntimeError("the first delivery fails")

    def _load(self, producer: Engine, stop: threading.Event) -> None:
        """Keep about half the worker's slots busy: 50-400 ms steps, 20 a second."""
        rng = random.Random(7)
        while not stop.wait(0.05):
            producer.start(
                "load",
                input={"id": self.key("load"), "ms": rng.randint(50, 400)},
                tenant=TENANT,
            )

    def _start(self, producer: Engine, definition: str, key: str, ms: int = 0) -> int:
        """Start an instance; the `at` of its start's audit row."""
        producer.start(definition, input={"id": key, "ms": ms}, instance_id=key, tenant=TENANT)
        return producer.history(key, tenant=TENANT)[0].at

    def _until(self, check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.005)
        return False

    # -- the kinds -------------------------------------------------------------------------------

    def timers(self, producer: Engine, n: int, rng: random.Random) -> list[float]:
        due = {}
        for _ in range(n):
            key = self.key("timer")
            ms = rng.randint(100, 1500)
            due[key] = self._start(producer, "timer", key, ms) + ms
            time.sleep(rng.uniform(0.0, 0.04))
        time.sleep(1.7)
        out = []
        for key, at in due.items():
            self._until(lambda k=key: len(producer.history(k, tenant=TENANT)) > 1, 5)
            rows = producer.history(key, tenant=TENANT)
            if len(rows) > 1:
                out.append(rows[1].at - at)
        return out

    def new_steps(self, producer: Engine, n: int, rng: random.Random) -> list[float]:
        started = {}
        for _ in range(n):
            key = self.key("work")
            started[key] = self._start(producer, "work", key)
            time.sleep(rng.uniform(0.01, 0.06))
        self._until(lambda: all(k in self.rec.calls for k in started), 10)
        return [self.rec.calls[k][0] - at for k, at in started.items() if k in self.rec.calls]

    def retries(self, producer: Engine, n: int, rng: random.Random) -> list[float]:
        keys = []
        for _ in range(n):
            key = self.key("retry")
            self._start(producer, "retry", key)
            keys.append(key)
            time.sleep(rng.uniform(0.0, 0.04))
        self._until(lambda: all(len(self.rec.calls.get(k, [])) >= 2 for k in keys), 15)
        time.sleep(0.3)
        out = []
        for key in keys:
            tried = [
                row
                for row in producer.history(key, tenant=TENANT, attempts=True)
                if row.kind == "step_attempt"
            ]
            if len(tried) == 2 and tried[1].started_at is not None:
                out.append(tried[1].started_at - (tried[0].ended_at + RETRY_DELAY_MS))
        return out

    def new_messages(
        self, producer: Engine, n: int, rng: random.Random
    ) -> tuple[list[float], list[float]]:
        started = {}
        for _ in range(n):
            key = self.key("emit")
            started[key] = self._start(producer, "emit", key)
            time.sleep(rng.uniform(0.0, 0.04))
        names = {key: f"outbox-{key}" for key in started}
        self._until(lambda: all(len(self.rec.calls.get(v, [])) >= 2 for v in names.values()), 15)
        first, again = [], []
        for key, at in started.items():
            calls = self.rec.calls.get(names[key], [])
            if calls:
                first.append(calls[0] - at)
            if len(calls) >= 2:
                again.append(calls[1] - (calls[0] + RETRY_DELAY_MS))
        return first, again

    def ticks(self, producer: Engine, n: int, rng: random.Random) -> list[float]:
        out = []
        for _ in range(n):
            now = self.clock.now()
            tick = (now // 60_000 + 1) * 60_000
            self.clock.offset += tick - now - rng.randint(150, 700)
            # Far-off work, committed: wakes the worker, which then sees the moved clock.
            self._start(producer, "timer", self.key("nudge"), FAR_MS)
            name = f"tick-{tick}"
            if self._until(lambda n=name: _exists(producer, n), 5):
                out.append(producer.history(name, tenant="default")[0].at - tick)
        return out

    def slots(self, producer: Engine, n: int, rng: random.Random) -> list[float]:
        out: list[float] = []
        while len(out) < n:
            created = {}
            for _ in range(CONCURRENCY * 4):
                key = self.key("slot")
                created[key] = self._start(producer, "slot", key, rng.randint(20, 200))
            self._until(lambda c=created: all(k in self.rec.ends for k in c), 30)
            time.sleep(0.2)
            runs = sorted(
                (self.rec.calls[k][0], created[k], self.rec.ends[k])
                for k in created
                if k in self.rec.ends
            )
            free = [0] * CONCURRENCY  # when each slot was free, as the steps ended
            heapq.heapify(free)
            for start, made, end in runs:
                ideal = max(made, heapq.heappop(free))
                out.append(start - ideal)
                heapq.heappush(free, end)
        return out[:n]

    def idle_cost(self, seconds: float) -> tuple[float, dict[str, float]]:
        """CPU share of one core, and store calls per second by method, of a worker with
        nothing due."""
        with Engine.open(self.url, clock=self.clock) as engine:
            for machine in _machines(self.rec):
                engine.register(machine)
            worker = Worker(engine, concurrency=CONCURRENCY)
            worker.listen("bench.*", self._listener)
            worker.schedule({"name": "tick", "cron": "0 0 1 1 *", "action": {"start": "ticked"}})
            calls = _count_calls(engine.store)
            stop = threading.Event()
            thread = threading.Thread(
                target=worker.run, kwargs={"poll_ms": int(self.poll_s * 1000), "stop": stop}
            )
            thread.start()
            time.sleep(1.5)  # started, first rounds done
            before, counted = _cpu(), dict(calls)
            time.sleep(seconds)
            cpu, made = _cpu() - before, dict(calls)
            stop.set()
            thread.join()
        rates = {name: (made[name] - counted.get(name, 0)) / seconds for name in made}
        return cpu / seconds, {name: rate for name, rate in rates.items() if rate}


def _exists(engine: Engine, instance_id: str) -> bool:
    try:
        engine.get(instance_id, tenant="default")
    except Exception:
        return False
    return True


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _count_calls(store: Any) -> dict[str, int]:
    """Count the calls made on `store`'s public methods (wrapped on the instance)."""
    counts: dict[str, int] = {}
    for name in dir(type(store)):
        if name.startswith("_") or isinstance(getattr(type(store), name, None), property):
            continue
        method = getattr(store, name)
        if not callable(method):
            continue

        def wrapped(*args: Any, __m: Any = method, __n: str = name, **kwargs: Any) -> Any:
            counts[__n] = counts.get(__n, 0) + 1
            return __m(*args, **kwargs)

        setattr(store, name, wrapped)
    return counts


def _stats(values: list[float]) -> str:
    if not values:
        return "| - | - | - | - | 0 |"
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

    return (
        f"| {statistics.median(ordered):.0f} | {pct(0.9):.0f} | {pct(0.99):.0f} "
        f"| {ordered[-1]:.0f} | {len(ordered)} |"
    )


def run(url: str, name: str, options: argparse.Namespace) -> None:
    bench = Bench(url, options.poll)
    n = options.samples
    rng = random.Random(1)
    cpu, calls = bench.idle_cost(options.idle_seconds)
    each = ", ".join(f"{method} {rate:.1f}" for method, rate in sorted(calls.items()))
    print(
        f"\n{name}, poll {options.poll} s: idle worker {cpu * 100:.2f}% of a core, "
        f"{sum(calls.values()):.1f} store calls/s ({each})\n"
    )
    print("| kind | load | p50 ms | p90 ms | p99 ms | max ms | samples |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for busy in (False, True):
        load = "busy" if busy else "idle"
        with bench.running(busy=busy) as (producer, _):
            rows: list[tuple[str, list[float]]] = [
                ("timer", bench.timers(producer, n, rng)),
                ("step (new)", bench.new_steps(producer, n, rng)),
                ("step retry", bench.retries(producer, n, rng)),
            ]
            first, again = bench.new_messages(producer, n, rng)
            rows += [("outbox (new)", first), ("outbox retry", again)]
            rows.append(("cron tick", bench.ticks(producer, options.ticks, rng)))
            if not busy:
                rows.append(("slots", bench.slots(producer, n, rng)))
        for kind, values in rows:
            print(f"| {kind} | {load} {_stats(values)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 samples each, 20 ticks")
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--poll", type=float, default=1.0, help="the worker's poll, seconds")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    options = parser.parse_args()
    logging.getLogger("statewright").setLevel(logging.ERROR)  # the failures are on purpose
    if options.samples is None:
        options.samples = 30 if options.quick else 200
    options.ticks = min(options.samples, 20 if options.quick else 100)
    options.idle_seconds = 3.0 if options.quick else 10.0
    with tempfile.TemporaryDirectory() as folder:
        if options.backend in ("sqlite", "both"):
            run(f"sqlite:///{Path(folder) / 'due.db'}", "SQLite", options)
        if options.backend in ("postgresql", "both"):
            with TemporaryPostgres() as postgres:
                run(postgres.create_database("due"), "PostgreSQL", options)


if __name__ == "__main__":
    main()
