"""The step loop: run invoked steps as jobs, retry them, and apply each result exactly once.

A step run is claimed with a lease (`Store.claim_steps`; on PostgreSQL `FOR UPDATE SKIP
LOCKED`), which counts as an attempt. A worker claims only runs of the step sources it
provides (the actors of the machines registered on its engine): a run nobody provides stays
pending, uncharged, and is claimed when a worker that provides it starts. It claims only as
many runs as it can start at once (free slots of `concurrency`), and more as runs end, up
to `batch` per batch, so that every claimed run starts right away: an attempt is spent only
on a run that started. While the worker runs, a batch that found nothing more due claims
again for its free slots when woken (`wake`: new work was committed) and at the worker's
poll, so that a new step does not wait for the batch's other steps to end. A worker that dies
mid-step has used one: when its lease expires (`DEFAULT_LEASE_MS`, 10 s) another worker
claims the run again ("lease taken over" in the log, and the lost attempt kept with
`WORKER_LOST` in the history), and a run whose last allowed attempt was lost that way gives
up with `WORKER_LOST`. While a worker runs a step it renews the lease (a heartbeat every
third of the lease, at least every second), so a step may run longer than the lease and
still is nobody else's.

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
the error event goes to the machine (its `onError` path, e.g. a manual-review state). Each
failed attempt is kept for the history (`Engine.history(..., attempts=True)`) in the same
transaction as its retry or its error event. The log (`statewright.worker`) has one line per
attempt started, succeeded or failed, and per run given up, taken over, cancelled or whose
result was discarded (`runtime/step_log.py`: the formats, fields and levels).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from statewright.engine import Engine
from statewright.engine.views import StepResult
from statewright.errors import PayloadError, StatewrightError, WorkGone
from statewright.runtime.outage import Outage, is_transient, through
from statewright.runtime.retry import WORKER_LOST, RetryDecision, RetryPolicy, decide, stable_rand
from statewright.runtime.step_attempt import (
    Attempt,
    StepTimeout,
    WorkerLost,
    attempt_record,
    error_type_of,
    lost_text,
    timeout_text,
    wait_s,
)
from statewright.runtime.step_context import CANCEL_CHECK_MS
from statewright.runtime.step_log import log_attempt, log_step
from statewright.store.records import StepRecord

__all__ = ["DEFAULT_BATCH", "DEFAULT_CONCURRENCY", "DEFAULT_LEASE_MS", "StepRunner"]

#: How long a claimed step run is ours before another worker may take it over (renewed by
#: heartbeats, at least every second, while it runs): a dead worker's step moves on within
#: about this long.
DEFAULT_LEASE_MS = 10_000
#: How many step runs a worker claims at once (at most `concurrency`: every claimed run
#: starts at once), and applies the results of in one transaction.
DEFAULT_BATCH = 64
#: How many steps a worker runs at the same time.
DEFAULT_CONCURRENCY = 8
#: How long an ended run's result may wait for others' to be committed with them.
RESULT_HOLD_S = 0.05


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
        #: The pool's attempts not yet returned, also those no longer waited for (stopped):
        #: each holds a pool thread, so that no more are claimed than can start.
        self._pool_busy: set[Future[None]] = set()
        #: While the worker runs: results are committed through outages of the store.
        self.outage: Outage | None = None
        #: While the worker runs: once set, a batch claims no more runs (those in hand end).
        self.stop: threading.Event | None = None
        #: While the worker runs: its poll, after which a batch whose last claim came back
        #: short looks again for its free slots (wake-ups are best-effort).
        self.poll_s: float | None = None
        #: Set by `wake` (new work may be due: a wake-up passed on while the worker runs);
        #: a batch then claims for its free slots at once, and the idle loop wakes.
        self.woken = threading.Event()
        #: Set when an attempt ends or `wake` is called: what a running batch waits on.
        self._changed = threading.Event()
        #: While the worker runs: called once a batch of results is committed (their
        #: transitions may have created timers and outbox messages: the worker's other loop
        #: looks for them at once, not when this batch ends, which under load it rarely does).
        self.on_results: Callable[[], None] | None = None

    @property
    def claim_limit(self) -> int:
        """How many runs a batch has in hand at once: as many as can start at once, so that
        no claimed run waits (a claim is an attempt)."""
        return max(1, min(self.batch, self.concurrency))

    @property
    def _refill_at(self) -> int:
        """How many slots must be free before a batch claims more runs."""
        return max(1, self.concurrency // 2)

    def wake(self) -> None:
        """New work may be due (a wake-up from a commit, timers that fired): a running batch
        claims for its free slots now, without waiting for half of them to be free."""
        self.woken.set()
        self._changed.set()

    def close(self) -> None:
        """Stop the pool's idle threads (an abandoned, timed-out step finishes on its own)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._pool_busy.clear()

    def run_due(self) -> int:
        """Claim and run every step run due now (also those the results start); how many
        attempts ended."""
        ran = 0
        while True:
            count = self.run_batch()
            ran += count
            if count == 0:
                return ran

    def run_batch(self, *, endless: bool = False) -> int:
        """Run one batch of due step runs (of the sources this worker provides): claim as
        many as can start now, start them, and claim more as they end, up to `batch` in all
        (the results applied as they come); how many attempts ended (0: nothing was due, or
        no slot was free). With `endless` (`run`'s step loop) there is no cap on the runs
        in all: the batch goes on while it has runs in hand, so that it never stops
        claiming for its free slots to wait for its last runs to end."""
        claims = _Claims(self, budget=None if endless else self.batch)
        attempts = claims.take(self._free_slots({}))
        if claims.count == 0:
            return 0
        self._run(attempts, claims)
        return claims.count

    def _claim(self, limit: int) -> tuple[int, list[Attempt]]:
        """Claim up to `limit` due runs: how many were claimed, and the attempts to run (a
        run whose last allowed attempt was lost with its worker is given up here at once)."""
        engine = self.engine
        claimed = engine.store.claim_steps(
            engine.clock.now(),
            self.lease_ms,
            limit,
            srcs=sorted(engine.registry.actor_sources()),
        )
        if not claimed:
            return 0, []
        self._taken_over([step for step in claimed if step.claimed_from == "running"])
        functions = engine.step_functions(claimed)
        attempts: list[Attempt] = []
        for step, function in zip(claimed, functions, strict=True):
            policy = RetryPolicy.from_json(json.loads(step.retry) if step.retry else None)
            attempt = Attempt(step, policy, function)
            if step.attempts > policy.attempts:
                attempt.error = WorkerLost(step)
            attempts.append(attempt)
        lost = [attempt for attempt in attempts if attempt.error is not None]
        if lost:
            self._apply(lost)
        return len(claimed), [attempt for attempt in attempts if attempt.error is None]

    def _free_slots(self, running: dict[Future[None], Attempt]) -> int:
        """How many more attempts can start at once: `concurrency` less the attempts
        running, and less the pool threads still busy with abandoned ones."""
        self._pool_busy = {future for future in self._pool_busy if not future.done()}
        own_threads = sum(1 for attempt in running.values() if attempt.timeout_s is not None)
        busy = len(self._pool_busy) + own_threads
        return max(0, max(1, self.concurrency) - busy)

    def _taken_over(self, steps: list[StepRecord]) -> None:
        """Runs claimed from a worker whose lease lapsed: log it and keep the lost attempt."""
        if not steps:
            return
        now = self.engine.clock.now()
        for step in steps:
            log_step(
                "step_taken_over",
                step,
                step.attempts - 1,
                note="its worker stopped before it finished (its lease expired); claimed "
                "again here",
            )
        self.engine.store.record_step_attempts(
            [
                attempt_record(step, step.attempts - 1, WORKER_LOST, lost_text(step), None, now)
                for step in steps
            ]
        )

    # -- running ------------------------------------------------------------------------------

    def _run(self, attempts: list[Attempt], claims: _Claims) -> None:
        if self.concurrency <= 1:
            # One after the other in this thread (deterministic, for harnesses), the results
            # committed together at the end of the batch, or sooner once the first of them
            # has waited a third of the lease: a run's lease is not renewed while its result
            # waits here, and a result held back too long would be taken over.
            done: list[Attempt] = []
            held_since = 0.0
            while attempts:
                for attempt in attempts:
                    if attempt.timeout_s is None:
                        self._started(attempt)
                        attempt.call()
                        done.append(attempt)
                        if len(done) == 1:
                            held_since = time.monotonic()
                    else:
                        self._run_together([attempt], None)
                    if done and time.monotonic() - held_since >= self.lease_ms / 3000:
                        self._apply(done)
                        done = []
                attempts = claims.take(1)
            self._apply(done)
            return
        self._run_together(attempts, claims)

    def _run_together(self, attempts: list[Attempt], claims: _Claims | None) -> None:
        """Run the attempts on the pool, starting more from `claims` as slots free up;
        enforce timeouts, renew the leases of the runs still going, and commit results in
        groups: held while more runs go on, for up to `RESULT_HOLD_S` (so that fast steps'
        results share a transaction, as they would if the whole batch had been claimed at
        once), committed at once when nothing else runs."""
        running: dict[Future[None], Attempt] = {}
        for attempt in attempts:
            running[self._start(attempt)] = attempt
        # Renew the leases every third of the lease, and check that the runs are still
        # wanted (a stopped one is cancelled) at least every CANCEL_CHECK_MS.
        beat_s = min(self.lease_ms / 3000, CANCEL_CHECK_MS / 1000)
        next_beat = time.monotonic() + beat_s
        held: list[Attempt] = []  # ended, their results not committed yet
        apply_by = 0.0
        while running:
            timeout = wait_s(running.values(), next_beat)
            look_at = claims.look_again_at() if claims is not None else None
            if look_at is not None:
                timeout = min(timeout, max(0.0, look_at - time.monotonic()))
            if held:
                timeout = max(0.0, min(timeout, apply_by - time.monotonic()))
            # An attempt's end and a wake-up both set `_changed`; it is cleared before the
            # ends and the wake-up are read, so that one that comes after is not missed.
            self._changed.wait(timeout)
            self._changed.clear()
            ended = [running.pop(future) for future in list(running) if future.done()]
            now = time.monotonic()
            for future, attempt in list(running.items()):
                if attempt.timed_out(now):
                    del running[future]
                    attempt.error = StepTimeout(timeout_text(attempt))
                    ended.append(attempt)
            if ended and not held:
                apply_by = now + min(RESULT_HOLD_S, self.lease_ms / 3000)
            held.extend(ended)
            if running and time.monotonic() >= next_beat:
                lost = {id(attempt): attempt for attempt in self._heartbeat(list(running.values()))}
                for attempt in lost.values():
                    attempt.cancel()  # no longer ours: not waited for, its result dropped
                running = {f: a for f, a in running.items() if id(a) not in lost}
                next_beat = time.monotonic() + beat_s
            if claims is not None:
                self._refill(running, claims, ended=bool(ended))
            if held and (not running or time.monotonic() >= apply_by):
                self._apply(held)
                held = []
        if held:
            self._apply(held)

    def _refill(
        self, running: dict[Future[None], Attempt], claims: _Claims, *, ended: bool
    ) -> None:
        """Start more runs from `claims` in the free slots: at once after a wake-up (new
        work may be due) or the poll, else once half the slots are free (or none runs), as
        runs end: a claim per ended run would cost a statement and an instance read each."""
        if self.woken.is_set():
            self.woken.clear()
            claims.want()
        look_at = claims.look_again_at()
        if look_at is not None and time.monotonic() >= look_at:
            claims.want()
        if not (ended or claims.wanted):
            return
        free = self._free_slots(running)
        if not free or (running and not claims.wanted and free < self._refill_at):
            return
        try:
            attempts = claims.take(free)
        except Exception as error:
            if self.outage is None or not is_transient(error):
                raise
            # The runs in hand go on and the results held are committed (through the
            # outage); raising would drop them, to run again once their leases lapsed.
            claims.failed()
            self.outage.failed(error)
            return
        if self.outage is not None:
            self.outage.ok()  # if this loop's claims failed in an outage, it is over
        for attempt in attempts:
            running[self._start(attempt)] = attempt

    def _start(self, attempt: Attempt) -> Future[None]:
        """Start an attempt: on the pool, or, with a timeout, on a thread of its own (a
        daemon, so that a step that never returns cannot hold the worker's exit up)."""
        self._started(attempt)
        if attempt.timeout_s is None:
            pool = self._pool
            if pool is None:
                pool = self._pool = ThreadPoolExecutor(
                    max_workers=max(1, self.concurrency), thread_name_prefix="statewright-step"
                )
            submitted = pool.submit(attempt.call)
            self._pool_busy.add(submitted)
            submitted.add_done_callback(self._ended)
            return submitted
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            attempt.call()
            future.set_result(None)

        name = f"statewright-step-{attempt.step.invoke_id}"
        threading.Thread(target=run, name=name, daemon=True).start()
        future.add_done_callback(self._ended)
        return future

    def _ended(self, future: Future[None]) -> None:
        self._changed.set()  # a batch that waits looks at its runs

    def _started(self, attempt: Attempt) -> None:
        step = attempt.step
        attempt.started_at = self.engine.clock.now()
        log_step("step_started", step, step.attempts)

    def _heartbeat(self, attempts: list[Attempt]) -> list[Attempt]:
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
                log_step(
                    "step_cancelled",
                    attempt.step,
                    attempt.step.attempts,
                    note="no longer this worker's (stopped with its state, or taken over "
                    "after its lease); its result will be discarded",
                )
                lost.append(attempt)
        return lost

    # -- results ------------------------------------------------------------------------------

    def _apply(self, attempts: list[Attempt]) -> None:
        """Commit the results of ended attempts: outputs and final failures together in one
        transaction, retries scheduled one by one."""
        pending = [ended for attempt in attempts if (ended := self._result(attempt))]
        if not pending:
            return
        results = [result for _, result, _ in pending]
        outcomes = through(self.outage, lambda: self.engine.finish_steps(results))
        if self.on_results is not None:
            self.on_results()
        unstorable: list[Attempt] = []
        away: BaseException | None = None
        for (attempt, result, decision), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, PayloadError) and not result.failed:
                # The output cannot be stored (not JSON data, or too large): a failed attempt.
                attempt.output, attempt.error = None, outcome
                unstorable.append(attempt)
            elif self.outage and isinstance(outcome, Exception) and is_transient(outcome):
                away = outcome
                unstorable.append(attempt)  # committed again once the store is back
            elif isinstance(outcome, WorkGone):
                note = "the step was stopped or replaced meanwhile"
                log_attempt("step_discarded", attempt, note=note)
            elif isinstance(outcome, StatewrightError):
                note = (
                    f"{outcome} (not even as the step's error); the lease will expire and the "
                    "step run again"
                )
                log_attempt("step_not_applied", attempt, note=note)
            elif decision is not None:
                log_attempt("step_given_up", attempt, of=True, note=_given_up(result, decision))
            else:
                log_attempt("step_succeeded", attempt)
        if away is not None and self.outage is not None:
            self.outage.failed(away)
        if unstorable:
            self._apply(unstorable)

    def _result(self, attempt: Attempt) -> tuple[Attempt, StepResult, RetryDecision | None] | None:
        """The result to commit (with the decision to give up, for a failure), or None when
        the attempt is to be retried (scheduled and logged here, with the failed attempt
        kept for the history)."""
        step, error = attempt.step, attempt.error
        if error is None:
            return attempt, StepResult(step, output=attempt.output), None
        error_type = error_type_of(error)
        decision = decide(
            attempt.policy,
            step.attempts,
            error_type,
            stable_rand(step.idempotency_key, step.attempts),
        )
        now = self.engine.clock.now()
        lost = isinstance(error, WorkerLost)  # kept already, when it was taken over
        record = None
        if not lost:
            started_at = now if attempt.started_at is None else attempt.started_at
            record = attempt_record(step, step.attempts, error_type, str(error), started_at, now)
        due = decision.due_at(now)
        if decision.retry and due is not None:
            retried = through(
                self.outage,
                lambda: self.engine.store.retry_step(
                    step, next_attempt_at=due, error=f"{error_type}: {error}", attempt=record
                ),
            )
            if retried:
                note = f"retrying in {decision.delay_ms} ms"
                log_attempt(
                    "step_failed", attempt, of=True, note=note, retry_in_ms=decision.delay_ms
                )
            else:
                note = "not retried: the step was stopped or taken over meanwhile"
                log_attempt("step_failed", attempt, of=True, note=note)
            return None
        failed = StepResult(
            step,
            error={"type": error_type, "message": str(error)},
            failed=True,
            attempt=record,
        )
        return attempt, failed, decision


def _given_up(result: StepResult, decision: RetryDecision) -> str:
    """Why a run was given up, and what the machine was sent."""
    sent = f"sent xstate.error.actor.{result.step.invoke_id}"
    if decision.give_up == "non_retryable":
        return f"{decision.error_type} is not retryable; {sent}"
    return f"no attempts left; {sent}"


class _Claims:
    """The claims of one batch: up to `budget` runs in all (None: no cap), taken as slots
    free up, until a claim comes back short (nothing more is due), and again after a
    wake-up (new work may be due) or, while the worker runs, at its poll."""

    def __init__(self, runner: StepRunner, *, budget: int | None) -> None:
        self.runner = runner
        self.budget = budget
        self.count = 0
        self.exhausted = False
        #: A wake-up (or the poll) came that no claim has answered yet: claim for the first
        #: free slot rather than for half of them.
        self.wanted = False
        self._claimed_at = time.monotonic()

    def want(self) -> None:
        """New work may be due: claim again, at the first free slot."""
        self.exhausted = False
        self.wanted = True

    def look_again_at(self) -> float | None:
        """When a batch whose last claim came back short looks again by itself (monotonic
        seconds): at the worker's poll, as its idle loop would; None outside `run`, or when
        it will claim anyway."""
        poll_s = self.runner.poll_s
        if poll_s is None or not self.exhausted or self.left() <= 0:
            return None
        return self._claimed_at + poll_s

    def failed(self) -> None:
        """A claim failed (the store is away): look again at the poll."""
        self.exhausted = True
        self._claimed_at = time.monotonic()

    def left(self) -> int:
        """How many more runs the batch may claim."""
        return self.runner.batch if self.budget is None else self.budget - self.count

    def take(self, free: int) -> list[Attempt]:
        """Claim up to `free` runs (within the budget); the attempts to start now."""
        attempts: list[Attempt] = []
        self.wanted = False
        stop = self.runner.stop
        if stop is not None and stop.is_set():
            return attempts  # the worker is stopping: the runs in hand end, no more start
        # Runs given up at once (their last attempt's worker was lost) take no slot: the
        # claim is made again for the slots they left.
        while not attempts and not self.exhausted:
            limit = min(free, self.left())
            if limit <= 0:
                break
            claimed, attempts = self.runner._claim(limit)
            self._claimed_at = time.monotonic()
            self.count += claimed
            self.exhausted = claimed < limit
        return attempts
