"""The step loop's log lines (logger `statewright.worker`), built in one place.

Each line says what happened, then which instance and tenant, the invoke id and the step's
source, and the attempt, in the shape of the timer and outbox lines, e.g.

    step started: A-1 (tenant acme) payment (chargeCard), attempt 1
    step succeeded: A-1 (tenant acme) payment (chargeCard), attempt 1 in 12 ms
    step failed: A-1 (tenant acme) payment (chargeCard), attempt 1 of 3 in 5 ms: ValueError:
        card declined; retrying in 1000 ms
    step given up: A-1 (tenant acme) payment (chargeCard), attempt 3 of 3 in 4 ms: ValueError:
        card declined; no attempts left; sent xstate.error.actor.payment

(one line each), with the same facts as `extra` fields (`kind`, `instance_id`, `tenant`,
`invoke_id`, `src`, `attempt`, and where known `attempts`, `duration_ms`, `error`,
`retry_in_ms`), which `statewright worker --log json` writes as fields of the line. Started,
succeeded, cancelled and discarded lines are INFO; failed, given up, taken over and not
applied are WARNING: an operator may have to act on them.
"""

from __future__ import annotations

import logging
from typing import Literal

from statewright.runtime.step_attempt import Attempt, WorkerLost, elapsed_ms, error_type_of
from statewright.store.records import StepRecord

__all__ = ["StepLogKind", "log_attempt", "log_step"]

log = logging.getLogger("statewright.worker")

StepLogKind = Literal[
    "step_started",
    "step_succeeded",
    "step_failed",
    "step_given_up",
    "step_taken_over",
    "step_cancelled",
    "step_discarded",
    "step_not_applied",
]

#: What each kind of line says first, and its level.
_LINES: dict[str, tuple[str, int]] = {
    "step_started": ("step started", logging.INFO),
    "step_succeeded": ("step succeeded", logging.INFO),
    "step_failed": ("step failed", logging.WARNING),
    "step_given_up": ("step given up", logging.WARNING),
    "step_taken_over": ("step lease taken over", logging.WARNING),
    "step_cancelled": ("step cancelled", logging.INFO),
    "step_discarded": ("step result discarded", logging.INFO),
    "step_not_applied": ("step result not applied", logging.WARNING),
}


def log_step(
    kind: StepLogKind,
    step: StepRecord,
    attempt: int,
    *,
    attempts: int | None = None,
    duration_ms: int | None = None,
    error: str | None = None,
    note: str | None = None,
    retry_in_ms: int | None = None,
) -> None:
    """Log one line about `step`'s run and its attempt number `attempt`.

    Args:
        kind: what happened (also the line's `kind` field; it sets the level).
        step: the step run.
        attempt: the attempt the line is about (1 for the first).
        attempts: the retry policy's total, shown as "attempt 2 of 3".
        duration_ms: how long the attempt ran, if it ran here.
        error: the attempt's error, as "<type>: <message>".
        note: what follows (e.g. "retrying in 1000 ms").
        retry_in_ms: the wait before the next attempt, as a field only.
    """
    what, level = _LINES[kind]
    text = f"{step.instance_id} (tenant {step.tenant}) {step.invoke_id} ({step.src}), "
    text += f"attempt {attempt}" if attempts is None else f"attempt {attempt} of {attempts}"
    if duration_ms is not None:
        text += f" in {duration_ms} ms"
    if error is not None:
        text += f": {error}"
    if note is not None:
        text += f"{': ' if error is None else '; '}{note}"
    fields: dict[str, object] = {
        "kind": kind,
        "instance_id": step.instance_id,
        "tenant": step.tenant,
        "invoke_id": step.invoke_id,
        "src": step.src,
        "attempt": attempt,
    }
    optional = {
        "attempts": attempts,
        "duration_ms": duration_ms,
        "error": error,
        "retry_in_ms": retry_in_ms,
    }
    fields.update({key: value for key, value in optional.items() if value is not None})
    log.log(level, "%s: %s", what, text, extra=fields)


def log_attempt(
    kind: StepLogKind,
    attempt: Attempt,
    *,
    of: bool = False,
    note: str | None = None,
    retry_in_ms: int | None = None,
) -> None:
    """`log_step` for an attempt of this worker: its number (the lost one for a run whose
    worker was lost), how long it ran (if it did), its error if any, and with `of` the
    policy's total of attempts."""
    step, error = attempt.step, attempt.error
    lost = isinstance(error, WorkerLost)  # that attempt ran on the lost worker, not here
    log_step(
        kind,
        step,
        step.attempts - 1 if lost else step.attempts,
        attempts=attempt.policy.attempts if of else None,
        duration_ms=None if attempt.started is None else elapsed_ms(attempt),
        error=None if error is None else f"{error_type_of(error)}: {error}",
        note=note,
        retry_in_ms=retry_in_ms,
    )
