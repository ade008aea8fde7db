"""Why a step cannot be retried now: the refusal `Engine.retry_step` raises, naming the step's
state and what to do instead, never a success that did nothing."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from statewright.engine.workers import waiting_for
from statewright.errors import StepNotRetryable
from statewright.store.records import InstanceRecord, StepRecord

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["refusal"]


def refusal(
    store: Store,
    record: InstanceRecord,
    invoke_id: str | None,
    chosen: Sequence[StepRecord],
    steps: Sequence[StepRecord],
    now: int,
    accepts: Callable[[], Sequence[str] | None] = lambda: None,
) -> StepNotRetryable:
    """The refusal for retrying `invoke_id` (every waiting step for None) of `record`, whose
    unfinished steps are `steps` (`chosen`: those `invoke_id` names) and none waits;
    `accepts` gives the event types it accepts now, for the fix of a step that gave up."""
    instance_id = record.id

    def refuse(text: str, reason: str, status: str | None = None) -> StepNotRetryable:
        return StepNotRetryable(
            f"{instance_id}: {text}; nothing was changed",
            instance_id=instance_id,
            invoke_id=invoke_id,
            reason=reason,
            status=status,
        )

    if record.status != "active":
        return refuse(f"the instance is {record.status}, and its steps ended with it", "not_active")
    if invoke_id is None:
        if not steps:
            return refuse("it has no unfinished step to retry", "no_waiting_step")
        states = ", ".join(f"{s.invoke_id} is {s.status}" for s in steps)
        return refuse(f"none of its steps waits for a retry ({states})", "no_waiting_step")
    if not chosen:
        return _ended(store, record, invoke_id, steps, refuse, accepts)
    (step,) = chosen
    if step.status == "running":
        until = _time(step.lease_until) if step.lease_until else "now"
        return refuse(
            f"step {invoke_id!r} ({step.src}) is running attempt {step.attempts} (claimed "
            f"until {until}); a retry is for a step waiting for its next attempt: wait for "
            "this one to end",
            "running",
            step.status,
        )
    waits = waiting_for(store, record, now)
    who = f"; it waits for {waits}" if waits else f"; a worker that provides {step.src} takes it"
    return refuse(
        f"step {invoke_id!r} is pending: its first attempt is due already{who}",
        "pending",
        step.status,
    )


def _ended(
    store: Store,
    record: InstanceRecord,
    invoke_id: str,
    steps: Sequence[StepRecord],
    refuse: Callable[..., StepNotRetryable],
    accepts: Callable[[], Sequence[str] | None],
) -> StepNotRetryable:
    """The refusal for a step with no unfinished run: it finished, gave up, or never was."""
    outcomes = _outcomes(store, record)
    outcome = outcomes.get(invoke_id)
    if outcome is not None:
        kind, version = outcome
        if kind == "done":
            return refuse(
                f"step {invoke_id!r} finished with its output at version {version}",
                "finished",
            )
        attempts = [
            a for a in store.step_attempts(record.tenant, record.id) if a.invoke_id == invoke_id
        ]
        spent = f" after {len(attempts)} attempts" if attempts else ""
        types = accepts()
        if types:
            now = f"it accepts {', '.join(types)} now"
        else:
            now = "it accepts no event now" if types is not None else "see the events it accepts"
        return refuse(
            f"step {invoke_id!r} gave up{spent} at version {version}: its error went to the "
            f"chart; send the event that re-enters its state to run it again ({now})",
            "gave_up",
        )
    known = [s.invoke_id for s in steps]
    close = difflib.get_close_matches(invoke_id, [*known, *outcomes], n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    there = ", ".join(known) if known else "none"
    return refuse(f"it has no step {invoke_id!r} (its unfinished steps: {there}){hint}", "no_step")


#: The events that end a step's run, by the prefix of their type.
_ENDINGS = {"xstate.done.actor.": "done", "xstate.error.actor.": "error"}


def _outcomes(store: Store, record: InstanceRecord) -> dict[str, tuple[str, int]]:
    """How each step's latest run ended, from the audit log: ("done" or "error", version),
    by invoke id."""
    found: dict[str, tuple[str, int]] = {}
    after = 0
    while True:
        page = store.history(record.tenant, record.id, after_seq=after, limit=1000)
        for row in page:
            kind = json.loads(row.event).get("type")
            if not isinstance(kind, str):
                continue
            for prefix, ending in _ENDINGS.items():
                if kind.startswith(prefix):
                    found[kind.removeprefix(prefix)] = (ending, row.seq)
        if len(page) < 1000:
            return found
        after = page[-1].seq


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
