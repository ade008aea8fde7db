"""The step loop: run invoked steps as jobs, retry them, and apply each result exactly once.

A step run is claimed with a lease (`Store.claim_steps`; on PostgreSQL `FOR UPDATE SKIP
LOCKED`), which counts as an attempt, so a worker that dies mid-step has used one: when its
lease expires another worker claims the run again (and a run whose last allowed attempt was
lost that way gives up with `WORKER_LOST`). While a worker runs a step it renews the lease
(a heartbeat every third of the lease), so a step may run longer than the lease and still is
nobody else's.

The provided actor is called with the step's input: a sync function on a thread of the
worker's pool (up to `concurrency` at once), an async one to completion in that thread's own
event loop. A policy's `timeout` bounds each attempt: an async step is cancelled; a sync one
cannot be interrupted in Python, so it is abandoned (its thread finishes it, its result is
dropped) and the attempt fails with `STEP_TIMEOUT`. A step with a timeout therefore runs on
a thread of its own, a daemon, so that one that never returns cannot hold the worker up.
With `concurrency=1` steps run one after the other in the worker's own thread (on their own
thread only when they have a timeout), so that a harness is deterministic.

Results come back through `Engine.finish_steps` as XState's done events, many in ONE database
transaction (one flush to disk for all of them), each deleting its step run in the same
transaction: a result is applied exactly once, and a result for a run stopped with its state
is discarded (`WorkGone`). A running step whose run was stopped (its state left, or taken over
by another worker) is cancelled once the heartbeat, at least every second, finds it gone: an
async one's task is cancelled, a sync one is told through `current_step().cancelled` and no
longer waited for (`runtime/step_context.py`). A failure is retried per the invoke's retry policy
(`runtime/retry.py`) with the instance's runtime status `retrying`; when the policy gives up,
the error event goes to the machine (its `onError` path, e.g. a manual-review state).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from statewright.chart.implementations import UserFunction
from statewright.engine import Engine
from statewright.engine.views import StepResult
from statewright.errors import PayloadError, StatewrightError, WorkGone
from statewright.runtime.outage import Outage, is_transient
from statewright.runtime.retry import (
    STEP_TIMEOUT,
    WORKER_LOST,
    RetryPolicy,
    decide,
    stable_rand,
)
from statewright.runtime.step_context import CANCEL_CHECK_MS, StepContext, _current
from statewright.store.records import StepRecord

__all__ = ["DEFAULT_BATCH", "DEFAULT_CONCURRENCY", "DEFAULT_LEASE_MS", "StepRunner"]

log = logging.getLogger("statewright.worker")

_T = TypeVar("_T")

#: How long a claimed step run is ours before another worker may take it over (renewed by
#: heartbeats while it runs).
DEFAULT_LEASE_MS = 5 * 60_000
#: How many step runs a worker claims at once, and applies the results of in one transaction.
DEFAULT_BATCH = 64
#: How many steps a worker runs at the same time.
DEFAULT_CONCURRENCY = 8


class _NotProvided(Exception):
    """This worker has no actor for the step's `src`."""


class _StepTimeout(Exception):
    """An attempt outlived its policy's `timeout`."""


@dataclass(slots=True)
class _Attempt:
    """One claimed step run and how its attempt went."""

    step: StepRecord
    policy: RetryPolicy
    function: UserFunction | None
    started: float | None = None  # time.monotonic() when the function was called
    output: object = None
    error: BaseException | None = None
    stopped: threading.Event = field(default_factory=threading.Event)
    cancel_task: Callable[[], None] | None = None  # cancels a running async step's task

    @property
    def timeout_s(self) -> float | None:
        timeout = self.policy.timeout_ms
        return None if timeout is None else timeout / 1000

    def call(self) -> None:
        """Run the step's function here, recording its output or its error."""
        self.started = time.monotonic()
        token = _current.set(self.context())
        try:
            if self.function is None:
                raise _NotProvided(f"step {self.step.src!r} is not provided in this worker")
            result = self.function(json.loads(self.step.input))
            if inspect.isawaitable(result):
                result = asyncio.run(_cancellable(result, self))
            self.output = result
        except TimeoutError as error:
            timed_out = self.timed_out(time.monotonic())
            self.error = _StepTimeout(_timeout_text(self)) if timed_out else error
        except asyncio.CancelledError as error:
            self.error = error  # stopped (cancel()); the result is not applied
        except Exception as error:
            self.error = error
        finally:
            _current.reset(token)

    def context(self) -> StepContext:
        step = self.step
        return StepContext(
            tenant=step.tenant,
            instance_id=step.instance_id,
            invoke_id=step.invoke_id,
            src=step.src,
            attempt=step.attempts,
            idempotency_key=step.idempotency_key,
            _stopped=self.stopped,
        )

    def cancel(self) -> None:
        """The run was stopped: tell the function (`current_step().cancelled`) and cancel
        it if it is async."""
        self.stopped.set()
        cancel_task = self.cancel_task
        if cancel_task is not None:
            cancel_task()

    def timed_out(self, now: float) -> bool:
        """Whether the attempt has run past its timeout at `now` (monotonic seconds)."""
        timeout, started = self.timeout_s, self.started
        return timeout is not None and started is not None and now - started >= timeout


async def _cancellable(awaitable: object, attempt: _Attempt) -> object:
    """Await an async step within its timeout, cancellable from the worker's thread."""
    task, loop = asyncio.current_task(), asyncio.get_running_loop()
    if task is not None:

        def cancel_task() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: it ended meanwhile
                loop.call_soon_threadsafe(task.cancel)

        attempt.cancel_task = cancel_task
    if attempt.stopped.is_set():
        raise asyncio.CancelledError
    try:
        return await asyncio.wait_for(awaitable, attempt.timeout_s)  # type: ignore[arg-type]
    finally:
        attempt.cancel_task = None


def _timeout_text(attempt: _Attempt) -> str:
    return (
        f"step {attempt.step.src!r} (attempt {attempt.step.attempts}) took longer than its "
        f"timeout of {attempt.policy.timeout_ms} ms"
    )


class StepRunner:
    """Claims due step runs in batches, runs them, and applies their results."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
        batch: int = DEFAULT_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.engine = engine
        self.lease_ms = lease_ms
        self.batch = batch
        self.concurrency = concurrency
        self._pool: ThreadPoolExecutor | None = None
        #: While the worker runs: results are committed through outages of the store.
        self.outage: Outage | None = None

    def close(self) -> None:
        """Stop the pool's idle threads (an abandoned, timed-out step finishes on its own)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def run_due(self) -> int:
        """Claim and run every step run due now (also those the results start); how many
        attempts ended."""
        ran = 0
        while True:
            count = self.run_batch()
            ran += count
            if count == 0:
                return ran

    def run_batch(self) -> int:
        """Claim one batch of due step runs, run them and apply their results; how many
        attempts ended (0: nothing was due)."""
        claimed = self.engine.store.claim_steps(self.engine.clock.now(), self.lease_ms, self.batch)
        if not claimed:
            return 0
        functions = self.engine.step_functions(claimed)
        attempts: list[_Attempt] = []
        for step, function in zip(claimed, functions, strict=True):
            policy = RetryPolicy.from_json(json.loads(step.retry) if step.retry else None)
            attempt = _Attempt(step, policy, function)
            if step.attempts > policy.attempts:
                attempt.error = _WorkerLost(step)
            attempts.append(attempt)
        lost = [attempt for attempt in attempts if attempt.error is not None]
        if lost:
            self._apply(lost)
        self._run([attempt for attempt in attempts if attempt.error is None])
        return len(attempts)

    # -- running ------------------------------------------------------------------------------

    def _run(self, attempts: list[_Attempt]) -> None:
        if self.concurrency <= 1:
            for attempt in attempts:
                if attempt.timeout_s is None:
                    attempt.call()
                else:
                    self._run_together([attempt])
            self._apply([attempt for attempt in attempts if attempt.timeout_s is None])
            return
        self._run_together(attempts)

    def _run_together(self, attempts: list[_Attempt]) -> None:
        """Run the attempts on the pool; apply results as they come, enforce timeouts and
        renew the leases of the runs still going."""
        running: dict[Future[None], _Attempt] = {
            self._start(attempt): attempt for attempt in attempts
        }
        # Renew the leases every third of the lease, and check that the runs are still
        # wanted (a stopped one is cancelled) at least every CANCEL_CHECK_MS.
        beat_s = min(self.lease_ms / 3000, CANCEL_CHECK_MS / 1000)
        next_beat = time.monotonic() + beat_s
        while running:
            done, _ = wait(
                running, timeout=_wait_s(running.values(), next_beat), return_when=FIRST_COMPLETED
            )
            ended = [running.pop(future) for future in done]
            now = time.monotonic()
            for future, attempt in list(running.items()):
                if attempt.timed_out(now):
                    del running[future]
                    attempt.error = _StepTimeout(_timeout_text(attempt))
                    ended.append(attempt)
            if ended:
                self._apply(ended)
            if running and time.monotonic() >= next_beat:
                lost = {id(attempt): attempt for attempt in self._heartbeat(list(running.values()))}
                for attempt in lost.values():
                    attempt.cancel()  # no longer ours: not waited for, its result dropped
                running = {f: a for f, a in running.items() if id(a) not in lost}
                next_beat = time.monotonic() + beat_s

    def _start(self, attempt: _Attempt) -> Future[None]:
        """Start an attempt: on the pool, or, with a timeout, on a thread of its own (a
        daemon, so that a step that never returns cannot hold the worker's exit up)."""
        if attempt.timeout_s is None:
            pool = self._pool
            if pool is None:
                pool = self._pool = ThreadPoolExecutor(
                    max_workers=max(1, self.concurrency), thread_name_prefix="statewright-step"
                )
            return pool.submit(attempt.call)
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            attempt.call()
            future.set_result(None)

        name = f"statewright-step-{attempt.step.invoke_id}"
        threading.Thread(target=run, name=name, daemon=True).start()
        return future

    def _heartbeat(self, attempts: list[_Attempt]) -> list[_Attempt]:
        """Renew the leases of runs still going; returns those whose claim was lost meanwhile
        (stopped with their state, or their lease expired and another worker took them)."""
        lease_until = self.engine.clock.now() + self.lease_ms
        try:
            held = self.engine.store.renew_step_leases([a.step for a in attempts], lease_until)
        except Exception as error:
            if self.outage is None or not is_transient(error):
                raise
            self.outage.failed(error)  # the runs go on; the next heartbeat tries again
            return []
        lost = []
        for attempt, ours in zip(attempts, held, strict=True):
            if not ours:
                log.info(
                    "step %s of %s/%s: no longer ours (stopped, or taken over after its lease); "
                    "cancelled, its result will be discarded",
                    attempt.step.invoke_id,
                    attempt.step.tenant,
                    attempt.step.instance_id,
                )
                lost.append(attempt)
        return lost

    # -- results ------------------------------------------------------------------------------

    def _apply(self, attempts: list[_Attempt]) -> None:
        """Commit the results of ended attempts: outputs and final failures together in one
        transaction, retries scheduled one by one."""
        pending = [(attempt, result) for attempt in attempts if (result := self._result(attempt))]
        if not pending:
            return
        results = [result for _, result in pending]
        outcomes = self._through_outage(lambda: self.engine.finish_steps(results))
        unstorable: list[_Attempt] = []
        away: BaseException | None = None
        for (attempt, result), outcome in zip(pending, outcomes, strict=True):
            step = result.step
            if isinstance(outcome, PayloadError) and not result.failed:
                # The output cannot be stored (not JSON data, or too large): a failed attempt.
                attempt.output, attempt.error = None, outcome
                unstorable.append(attempt)
            elif self.outage and isinstance(outcome, Exception) and is_transient(outcome):
                away = outcome
                unstorable.append(attempt)  # committed again once the store is back
            elif isinstance(outcome, WorkGone):
                log.info(
                    "step %s of %s/%s: result discarded (the step was stopped or replaced)",
                    step.invoke_id,
                    step.tenant,
                    step.instance_id,
                )
            elif isinstance(outcome, StatewrightError):
                log.warning(
                    "step %s of %s/%s: result not applied: %s; the lease will expire and the "
                    "step run again",
                    step.invoke_id,
                    step.tenant,
                    step.instance_id,
                    outcome,
                )
        if away is not None and self.outage is not None:
            self.outage.failed(away)
        if unstorable:
            self._apply(unstorable)

    def _through_outage(self, operation: Callable[[], _T]) -> _T:
        """Run a commit, retried through an outage of the store while the worker runs (the
        store refuses it if the run's lease was taken over meanwhile)."""
        return operation() if self.outage is None else self.outage.call(operation)

    def _result(self, attempt: _Attempt) -> StepResult | None:
        """The result to commit, or None when the attempt is to be retried (scheduled here)."""
        step, error = attempt.step, attempt.error
        if error is None:
            return StepResult(step, output=attempt.output)
        error_type = _error_type(error)
        decision = decide(
            attempt.policy,
            step.attempts,
            error_type,
            stable_rand(step.idempotency_key, step.attempts),
        )
        due = decision.due_at(self.engine.clock.now())
        if decision.retry and due is not None:
            self._through_outage(
                lambda: self.engine.store.retry_step(
                    step, next_attempt_at=due, error=f"{error_type}: {error}"
                )
            )
            log.info(
                "step %s of %s/%s: %s",
                step.invoke_id,
                step.tenant,
                step.instance_id,
                decision.describe(),
            )
            return None
        return StepResult(step, error={"type": error_type, "message": str(error)}, failed=True)


class _WorkerLost(Exception):
    """The run's last allowed attempt ended with its worker (the lease expired)."""

    def __init__(self, step: StepRecord) -> None:
        super().__init__(
            f"step {step.src!r}: the worker running attempt {step.attempts - 1} stopped "
            "before it finished (its lease expired)"
        )


def _error_type(error: BaseException) -> str:
    if isinstance(error, _StepTimeout):
        return STEP_TIMEOUT
    if isinstance(error, _WorkerLost):
        return WORKER_LOST
    return type(error).__name__


def _wait_s(attempts: Iterable[_Attempt], next_beat: float) -> float:
    """How long to wait for a result: until the next heartbeat or the first timeout; polled
    briefly while an attempt with a timeout has not started yet."""
    now = time.monotonic()
    wait_s = next_beat - now
    for attempt in attempts:
        timeout = attempt.timeout_s
        if timeout is None:
            continue
        if attempt.started is None:
            wait_s = min(wait_s, 0.01)
        else:
            wait_s = min(wait_s, attempt.started + timeout - now)
    return max(0.0, wait_s)
