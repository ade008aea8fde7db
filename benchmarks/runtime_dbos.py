"""DBOS's side of `benchmarks.runtime`: the same jobs written as DBOS 3.4 workflows.

DBOS keeps its configuration, registry and threads in globals, so `benchmarks.runtime` runs
every DBOS configuration in a fresh interpreter:

    .venv/bin/python -m benchmarks.runtime_dbos_job '{"job": "steps", "mode": "queue", ...}'

which prints one JSON object with the result as its last line. Worker processes are started
from there (forked from a server process that imported this module and nothing else), each
with DBOS launched under its own executor id, and every DBOS instance is torn down with
`DBOS.destroy()` before its process ends (except the sleepers killed on purpose, see
`sleep_job`). Each job creates DBOS's schema first (`DBOS.migrate`). The jobs:

- `steps`: a workflow of three trivial steps. Modes: `sequential` (one process calls the
  workflow N times), `threads` (one process, `DBOS.start_workflow` N times, then every
  result), `queue` (K worker processes serve a queue polled every `poll` seconds, running
  up to `worker_concurrency` workflows each, while this process enqueues N with
  `DBOSClient`), `drain` (the same, the N enqueued before the workers start).
- `sleep`: workflows that are inside a durable `DBOS.sleep` whose wake-up time has passed
  while no process ran them: K processes start them and are killed while they sleep, then K
  new processes with the same executor ids launch and recover them (DBOS resumes pending
  workflows of its executor id at launch; the recorded sleep is over, so each completes).
- `event`: one workflow waits in `DBOS.recv`; this process sends it messages with
  `DBOSClient.send`, and a step records when it starts.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.synchronize import Event
from typing import Any

import psycopg
from dbos import DBOS, DBOSClient, DBOSConfig, EnqueueOptions, SetWorkflowID

from benchmarks.runtime_common import (
    SETTLE,
    context,
    drain_rate,
    processes,
    timed_sends,
    wait_until,
    warm_up,
)

#: The application name every process uses, so they share queues and recovery.
APP = "runtime-bench"
QUEUE = "bench"
#: The topic of the messages the event job sends.
TOPIC = "go"
#: What the client enqueues.
ENQUEUE: EnqueueOptions = {"queue_name": QUEUE, "workflow_name": "three_steps"}
#: Seconds any one job may take before the benchmark gives up.
TIMEOUT = 600
#: Where a step of the event job reports its start time (set in the worker process).
_STARTS: Any = None


# -- the workflows ------------------------------------------------------------------------------


@DBOS.step()
def step_one(value: int) -> int:
    return value + 1


@DBOS.step()
def step_two(value: int) -> int:
    return value + 1


@DBOS.step()
def step_three(value: int) -> int:
    return value + 1


@DBOS.workflow()
def three_steps(value: int) -> int:
    """Three trivial steps in sequence, each returning a small value, then done."""
    return step_three(step_two(step_one(value)))


@DBOS.workflow()
def sleeper(seconds: float) -> None:
    """One durable sleep, then done (recovered after it ended, DBOS skips it)."""
    DBOS.sleep(seconds)


@DBOS.step()
def started(index: int) -> int:
    """The step the event job times: it reports when it starts."""
    _STARTS.put((index, time.time()))
    return index


@DBOS.workflow()
def listener(count: int) -> None:
    """Wait for a message, run a step; `count` times."""
    for index in range(count):
        DBOS.recv(TOPIC, timeout_seconds=120)
        started(index)


# -- DBOS set-up --------------------------------------------------------------------------------


def launch(url: str, executor_id: str, poll: float) -> None:
    """Configure and launch DBOS in this process, quietly."""
    config: DBOSConfig = {
        "name": APP,
        "system_database_url": url,
        "executor_id": executor_id,
        "log_level": "ERROR",
        "notification_listener_polling_interval_sec": poll,
    }
    DBOS(config=config)
    DBOS.launch()
    logging.getLogger("dbos").setLevel(logging.ERROR)


def prepare(url: str) -> None:
    """Create DBOS's schema. A SQLite file is created in WAL mode first, as statewright's
    store opens its own (DBOS leaves the journal mode alone; WAL is a property of the file,
    so DBOS then uses it)."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        connection.execute("PRAGMA journal_mode=WAL")
        connection.close()
    DBOS.migrate(url)


def client_with_queue(url: str, poll: float, worker_concurrency: int | None) -> DBOSClient:
    """A client, after registering the benchmark queue (so that workers launched later
    serve it from the start)."""
    client = DBOSClient(system_database_url=url, application_name=APP)
    client.register_queue(
        QUEUE,
        polling_interval_sec=poll,
        worker_concurrency=worker_concurrency,
        application_name=APP,
    )
    return client


# -- reading results from the system database ---------------------------------------------------


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query on DBOS's system database (tables in schema `dbos` on PostgreSQL)."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return connection.execute(sql.replace("dbos.", "")).fetchall()
        finally:
            connection.close()
    with psycopg.connect(url, autocommit=True) as pg:
        return pg.execute(sql).fetchall()


def count(url: str, status: str) -> int:
    rows = query(url, f"SELECT count(*) FROM dbos.workflow_status WHERE status = '{status}'")
    return int(rows[0][0])


# -- worker processes ---------------------------------------------------------------------------


def queue_worker(url: str, executor_id: str, poll: float, ready: Event, stop: Event) -> None:
    """A process that runs the queue's workflows until `stop`."""
    launch(url, executor_id, poll)
    wait_until(lambda: any(t.name == f"queue-worker-{QUEUE}" for t in threading.enumerate()), 30)
    ready.set()
    stop.wait()
    DBOS.destroy()


def sleep_starter(
    url: str, executor_id: str, count_: int, seconds: float, ready: Event, stop: Event
) -> None:
    """Start `count_` sleepers; once every sleep is recorded, die without shutting down."""
    launch(url, executor_id, 1.0)
    for _ in range(count_):
        DBOS.start_workflow(sleeper, seconds)
    wait_until(lambda: _recorded_sleeps(url, executor_id) >= count_, TIMEOUT)
    ready.set()
    os._exit(0)


def _recorded_sleeps(url: str, executor_id: str) -> int:
    rows = query(
        url,
        "SELECT count(*) FROM dbos.operation_outputs o JOIN dbos.workflow_status w "
        "ON o.workflow_uuid = w.workflow_uuid "
        f"WHERE w.executor_id = '{executor_id}' AND o.function_name = 'DBOS.sleep'",
    )
    return int(rows[0][0])


def recoverer(url: str, executor_id: str, ready: Event, stop: Event) -> None:
    """Launch under a dead executor's id: DBOS recovers its pending workflows."""
    launch(url, executor_id, 1.0)
    ready.set()
    stop.wait()
    DBOS.destroy()


def event_worker(
    url: str, poll: float, count_: int, starts: Any, ready: Event, stop: Event
) -> None:
    """Run the `listener` workflow (id `listener`) until `stop`."""
    global _STARTS
    _STARTS = starts
    launch(url, "events", poll)
    with SetWorkflowID("listener"):
        DBOS.start_workflow(listener, count_)
    ready.set()
    stop.wait()
    DBOS.destroy()


# -- the jobs -----------------------------------------------------------------------------------


def steps_job(spec: dict[str, Any]) -> dict[str, Any]:
    """N three-step workflows; elapsed from just before the first start until all N are
    done (the last result returned in this process, or, from a queue, all N seen to have
    succeeded)."""
    url, n, mode = spec["url"], spec["n"], spec["mode"]
    prepare(url)
    if mode == "queue":
        return _steps_on_queue(spec)
    if mode == "drain":
        return _drain(spec)
    launch(url, "steps", spec["poll"])
    try:
        began = time.time()
        if mode == "sequential":
            for index in range(n):
                three_steps(index)
        else:
            handles = [DBOS.start_workflow(three_steps, index) for index in range(n)]
            for handle in handles:
                handle.get_result()
        return _steps_result(url, n, time.time() - began)
    finally:
        DBOS.destroy()


def _steps_on_queue(spec: dict[str, Any]) -> dict[str, Any]:
    url, n, poll = spec["url"], spec["n"], spec["poll"]
    client = client_with_queue(url, poll, spec.get("worker_concurrency"))
    targets = [(queue_worker, (url, f"worker-{k}", poll)) for k in range(spec["workers"])]
    try:
        with processes(targets) as running:
            running.wait_ready()
            began = time.time()
            for index in range(n):
                client.enqueue(ENQUEUE, index)
            enqueued = time.time()
            done = wait_until(lambda: count(url, "SUCCESS") >= n, TIMEOUT)
    finally:
        client.destroy()
    return {**_steps_result(url, n, done - began), "starting_s": enqueued - began}


def _drain(spec: dict[str, Any]) -> dict[str, Any]:
    """N workflows enqueued while no worker runs, then drained by K queue processes; steps
    per second from the first step's recorded completion to the last one's."""
    url, n, poll = spec["url"], spec["n"], spec["poll"]
    client = client_with_queue(url, poll, spec.get("worker_concurrency"))
    try:
        for index in range(n):
            client.enqueue(ENQUEUE, index)
    finally:
        client.destroy()
    with processes([(queue_worker, (url, f"worker-{k}", poll)) for k in range(spec["workers"])]):
        wait_until(lambda: count(url, "SUCCESS") >= n, TIMEOUT)
    ((first, last, steps),) = query(
        url,
        "SELECT min(completed_at_epoch_ms), max(completed_at_epoch_ms), count(*) "
        "FROM dbos.operation_outputs WHERE function_name LIKE 'step_%'",
    )
    if steps != 3 * n:
        raise RuntimeError(f"{steps} DBOS step results for {n} workflows")
    return {"n": n, "steps_per_s": (3 * n - 1) / (max(1, last - first) / 1000)}


def _steps_result(url: str, n: int, elapsed: float) -> dict[str, Any]:
    if count(url, "SUCCESS") != n:
        raise RuntimeError(f"not all of the {n} DBOS workflows succeeded")
    return {"n": n, "elapsed": elapsed, "steps_per_s": 3 * n / elapsed}


def sleep_job(spec: dict[str, Any]) -> dict[str, Any]:
    """N sleepers over K executors; their processes die while they sleep and K new ones
    recover them once every sleep is over. Workflows completed per second between the first
    and the last completion seen. Each sleeps `sleep` seconds plus 1/30 s per sleeper its
    process starts, so that the first are still asleep when the last are started; any that
    woke before the kill anyway (a slow machine) are left out: `n` is how many were
    recovered."""
    url, workers = spec["url"], spec["workers"]
    prepare(url)
    shares = [spec["n"] // workers + (k < spec["n"] % workers) for k in range(workers)]
    seconds = spec["sleep"] + max(shares) / 30
    targets = [
        (sleep_starter, (url, f"sleep-{k}", share, seconds)) for k, share in enumerate(shares)
    ]
    with processes(targets) as running:
        running.wait_ready(TIMEOUT)
    time.sleep(seconds + 0.5)  # every sleep is over, and nothing runs them
    pending, before = count(url, "PENDING"), count(url, "SUCCESS")
    if pending < 2:
        raise RuntimeError(f"{before} of {spec['n']} sleepers woke before their process died")
    targets = [(recoverer, (url, f"sleep-{k}")) for k in range(workers)]
    with processes(targets):
        rate = drain_rate(lambda: count(url, "SUCCESS") - before, pending, TIMEOUT)
    return {"n": pending, "timers_per_s": rate, "woke_before_the_kill": before}


def event_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Messages to a workflow waiting in `recv`: wall time from `DBOSClient.send` returning
    to the first line of the step that follows the `recv`."""
    url, n, poll = spec["url"], spec["n"], spec["poll"]
    prepare(url)
    starts = context().Queue()
    with processes([(event_worker, (url, poll, n, starts))]) as running:
        running.wait_ready()
        client = DBOSClient(system_database_url=url)
        try:
            time.sleep(SETTLE)  # the listener is inside recv

            def send(index: int) -> None:
                client.send("listener", index, TOPIC)

            latencies = timed_sends(send, starts, n, spec["gap"])
        finally:
            client.destroy()
    return {"n": n, **latencies}


def migrate_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Only create DBOS's schema (databases for the other jobs are copied from this one)."""
    prepare(spec["url"])
    return {}


JOBS = {"migrate": migrate_job, "steps": steps_job, "sleep": sleep_job, "event": event_job}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job described by the JSON argument; print its result as JSON."""
    spec = json.loads((argv or sys.argv[1:])[0])
    if spec["job"] in ("sleep", "event") or spec.get("mode") in ("queue", "drain"):
        warm_up()  # the fork server imports DBOS while this process gets the job ready
    result = JOBS[spec["job"]](spec)
    print(json.dumps(result), flush=True)
    return 0
