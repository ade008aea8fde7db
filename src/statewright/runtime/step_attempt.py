"""One attempt of a claimed step run: calling its function, its timeout, and its record.

`Attempt` runs a step's function with `current_step()` set, records its output or error
and when it started and ended; the step loop (`steps.py`) starts, waits for, cancels and
applies attempts. `attempt_record` is the failed attempt as the history keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from statewright.chart.implementations import UserFunction
from statewright.runtime.retry import STEP_TIMEOUT, WORKER_LOST, RetryPolicy
from statewright.runtime.step_context import StepContext, running
from statewright.store.records import StepAttemptRecord, StepRecord

__all__ = [
    "Attempt",
    "NotProvided",
    "StepTimeout",
    "WorkerLost",
    "attempt_record",
    "elapsed_ms",
    "error_type_of",
    "lost_text",
    "timeout_text",
    "wait_s",
]


class NotProvided(Exception):
    """This worker has no actor for the step's `src`."""


class StepTimeout(Exception):
    """An attempt outlived its policy's `timeout`."""


@dataclass(slots=True)
class Attempt:
    """One claimed step run and how its attempt went."""

    step: StepRecord
    policy: RetryPolicy
    function: UserFunction | None
    started: float | None = None  # time.monotonic() when the function was called
    started_at: int | None = None  # the engine's clock when the attempt was started
    ended: float | None = None  # time.monotonic() when the function returned or raised
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
        with running(self.context()):
            self._run()

    def _run(self) -> None:
        """`call`'s body, as the step run."""
        try:
            if self.function is None:
                raise NotProvided(f"step {self.step.src!r} is not provided in this worker")
            result = self.function(json.loads(self.step.input))
            if inspect.isawaitable(result):
                result = asyncio.run(cancellable(result, self))
            self.output = result
        except TimeoutError as error:
            timed_out = self.timed_out(time.monotonic())
            self.error = StepTimeout(timeout_text(self)) if timed_out else error
        except asyncio.CancelledError as error:
            self.error = error  # stopped (cancel()); the result is not applied
        except Exception as error:
            self.error = error
        except BaseException as error:
            # Not an Exception (a `class Abort(BaseException)`, `sys.exit()` in a step): still
            # the step's failure, never a success with no output, whichever thread runs it.
            # Only Ctrl-C in the worker's main thread (`concurrency=1`) goes on up to stop it.
            self.error = error
            if _interrupts_worker(error):
                raise
        finally:
            self.ended = time.monotonic()

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


def _interrupts_worker(error: BaseException) -> bool:
    return isinstance(error, KeyboardInterrupt) and (
        threading.current_thread() is threading.main_thread()
    )


async def cancellable(awaitable: object, attempt: Attempt) -> object:
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


def timeout_text(attempt: Attempt) -> str:
    """The error message of an attempt that outlived its policy's timeout."""
    return (
        f"step {attempt.step.src!r} (attempt {attempt.step.attempts}) took longer than its "
        f"timeout of {attempt.policy.timeout_ms} ms"
    )


class WorkerLost(Exception):
    """The run's last allowed attempt ended with its worker (the lease expired)."""

    def __init__(self, step: StepRecord) -> None:
        super().__init__(
            f"step {step.src!r}: the worker running attempt {step.attempts - 1} stopped "
            "before it finished (its lease expired)"
        )


def lost_text(step: StepRecord) -> str:
    """The error message of the attempt lost with its worker, for a run taken over."""
    return (
        f"the worker running attempt {step.attempts - 1} stopped before it finished (its "
        "lease expired and another worker took the run over)"
    )


def attempt_record(
    step: StepRecord,
    attempt: int,
    error_type: str,
    message: str,
    started_at: int | None,
    ended_at: int,
) -> StepAttemptRecord:
    """The failed attempt `attempt` of `step`'s run, as the history keeps it."""
    return StepAttemptRecord(
        tenant=step.tenant,
        instance_id=step.instance_id,
        invoke_id=step.invoke_id,
        started_version=step.started_version,
        attempt=attempt,
        src=step.src,
        error_type=error_type,
        error_message=message,
        started_at=started_at,
        ended_at=ended_at,
    )


def elapsed_ms(attempt: Attempt) -> int:
    """How long the attempt ran, in real time (0 if it never started; until now if it has
    not ended, e.g. abandoned past its timeout)."""
    if attempt.started is None:
        return 0
    ended = time.monotonic() if attempt.ended is None else attempt.ended
    return round((ended - attempt.started) * 1000)


def error_type_of(error: BaseException) -> str:
    """The error type a retry policy and the history see: `STEP_TIMEOUT`, `WORKER_LOST`,
    or the exception's class name."""
    if isinstance(error, StepTimeout):
        return STEP_TIMEOUT
    if isinstance(error, WorkerLost):
        return WORKER_LOST
    return type(error).__name__


def wait_s(attempts: Iterable[Attempt], next_beat: float) -> float:
    """How long to wait for a result: until the next heartbeat or the first timeout; polled
    briefly while an attempt with a timeout has not started yet."""
    now = time.monotonic()
    seconds = next_beat - now
    for attempt in attempts:
        timeout = attempt.timeout_s
        if timeout is None:
            continue
        if attempt.started is None:
            seconds = min(seconds, 0.01)
        else:
            seconds = min(seconds, attempt.started + timeout - now)
    return max(0.0, seconds)
