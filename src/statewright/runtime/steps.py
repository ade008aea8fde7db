"""The step loop: run invoked steps as jobs, retry them, and apply each result exactly once.

A step run is claimed with a lease (`Store.claim_steps`; on PostgreSQL `FOR UPDATE SKIP
LOCKED`), which counts as an attempt, so a worker that dies mid-step has used one: when its
lease expires another worker claims the run again. The provided actor is called with the
step's input (sync, or async run to completion). Its result comes back through
`Engine.finish_step` as XState's done event, deleting the step run in the same transaction, so
a result is applied exactly once and a result for a run stopped with its state is discarded
(`WorkGone`). A failure is retried per the invoke's retry policy (`runtime/retry.py`) with the
instance's runtime status `retrying`; when the policy gives up, the error event goes to the
machine (its `onError` path, e.g. a manual-review state).

Not yet: a per-attempt timeout and lease heartbeats for steps longer than the lease.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging

from statewright.engine import Engine
from statewright.errors import PayloadError, VersionConflict, WorkGone
from statewright.runtime.retry import RetryPolicy, decide, stable_rand
from statewright.store.records import StepRecord

__all__ = ["DEFAULT_LEASE_MS", "run_due_steps"]

log = logging.getLogger("statewright.worker")

#: How long a claimed step run is ours before another worker may take it over.
DEFAULT_LEASE_MS = 5 * 60_000


class _NotProvided(Exception):
    """This worker has no actor for the step's `src`."""


def run_due_steps(engine: Engine, *, lease_ms: int = DEFAULT_LEASE_MS, batch: int = 10) -> int:
    """Claim and run every step run due now (also those the results start); how many ran."""
    ran = 0
    while True:
        claimed = engine.store.claim_steps(engine.clock.now(), lease_ms, batch)
        if not claimed:
            return ran
        for step in claimed:
            _run(engine, step)
            ran += 1


def _run(engine: Engine, step: StepRecord) -> None:
    try:
        fn = engine.step_function(step)
        if fn is None:
            raise _NotProvided(f"step {step.src!r} is not provided in this worker")
        result = fn(json.loads(step.input))
        if inspect.isawaitable(result):
            result = asyncio.run(_wait(result))
    except Exception as error:
        _failed(engine, step, error)
        return
    try:
        _finish(engine, step, output=result)
    except PayloadError as error:
        _failed(engine, step, error)


async def _wait(awaitable: object) -> object:
    return await awaitable  # type: ignore[misc]


def _failed(engine: Engine, step: StepRecord, error: Exception) -> None:
    policy = RetryPolicy.from_json(json.loads(step.retry) if step.retry else None)
    error_type = type(error).__name__
    decision = decide(
        policy, step.attempts, error_type, stable_rand(step.idempotency_key, step.attempts)
    )
    due = decision.due_at(engine.clock.now())
    if decision.retry and due is not None:
        engine.store.retry_step(step, next_attempt_at=due, error=f"{error_type}: {error}")
        log.info(
            "step %s of %s/%s: %s",
            step.invoke_id,
            step.tenant,
            step.instance_id,
            decision.describe(),
        )
        return
    _finish(engine, step, error={"type": error_type, "message": str(error)}, failed=True)


def _finish(engine: Engine, step: StepRecord, **result: object) -> None:
    for _ in range(10):
        try:
            engine.finish_step(step, **result)  # type: ignore[arg-type]
            return
        except WorkGone:
            log.info(
                "step %s of %s/%s: result discarded (the step was stopped or replaced)",
                step.invoke_id,
                step.tenant,
                step.instance_id,
            )
            return
        except VersionConflict:
            continue  # another event moved the instance; apply the result to the new version
    log.warning(
        "step %s of %s/%s: result not applied after 10 conflicts; the lease will "
        "expire and the step run again",
        step.invoke_id,
        step.tenant,
        step.instance_id,
    )
