"""The runtime: workers that claim due work with leases and feed results back as events.

Timers, steps (invoked services run as jobs), outbox delivery and cron schedules each get a
worker loop; every result comes back through the engine, so it lands in the audit trail.
The loops stand on two pure policies, with no clock, I/O or randomness of their own:

- `retry`: `RetryPolicy` and `decide`: when a failed step or outbox delivery runs again,
  and when it gives up (the machine's `onError` path, or the dead-letter list).
- `worker`: `Worker`, the timer, step, schedule and outbox loops (`run_once`, `run`).
- `step_context`: `current_step()`, inside a step function: its run's idempotency key, and
  whether the run was stopped (its state left), so that a long step can return early.
- `cron`: `Schedule` and `due_ticks`: the tick times of a cron expression in a time zone;
  the schedules worker claims each (schedule name, tick time) once.
"""

from __future__ import annotations

from statewright.runtime.cron import Schedule, due_ticks, next_tick, parse_schedule
from statewright.runtime.outbox import Listener, ListenerTimeout, OutboxMessage
from statewright.runtime.retry import (
    OUTBOX_DEFAULT,
    STEP_DEFAULT,
    STEP_TIMEOUT,
    WORKER_LOST,
    Backoff,
    GiveUpReason,
    RetryDecision,
    RetryPolicy,
    decide,
    next_delay_ms,
    should_retry,
    stable_rand,
)
from statewright.runtime.step_context import StepContext, current_step
from statewright.runtime.worker import Worker

__all__ = [
    "Backoff",
    "GiveUpReason",
    "Listener",
    "ListenerTimeout",
    "OUTBOX_DEFAULT",
    "OutboxMessage",
    "RetryDecision",
    "RetryPolicy",
    "STEP_DEFAULT",
    "STEP_TIMEOUT",
    "Schedule",
    "StepContext",
    "WORKER_LOST",
    "Worker",
    "current_step",
    "decide",
    "due_ticks",
    "next_delay_ms",
    "next_tick",
    "parse_schedule",
    "should_retry",
    "stable_rand",
]
