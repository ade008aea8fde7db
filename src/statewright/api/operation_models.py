"""The request and response bodies of the operators' routes: counts per state, cancel, step
runs, timers, dead letters, redrive and bulk operations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from statewright.api.models import EventIn

__all__ = [
    "BulkCancelIn",
    "BulkFilterIn",
    "BulkOut",
    "BulkRetryIn",
    "BulkSendIn",
    "CancelIn",
    "DeadLetterOut",
    "DeadLettersOut",
    "PendingMessageOut",
    "PendingOutboxOut",
    "RedriveIn",
    "RedriveOut",
    "RefusedOut",
    "SkippedOut",
    "StateCountOut",
    "StateCountsOut",
    "StepAttemptOut",
    "StepAttemptsOut",
    "StepOut",
    "StepsOut",
    "TimerOut",
    "TimersOut",
]

_Id = Field(default=None, min_length=1, max_length=200)


class StateCountOut(BaseModel):
    """How many instances of a definition are in one business state."""

    definition: str
    state: str = Field(description="The state as text: `review.legal`; parallel: `(a.x, b.y)`.")
    value: Any = Field(description="The statechart value.")
    count: int


class StateCountsOut(BaseModel):
    """Counts per business state (by definition, then state) and their sum."""

    items: list[StateCountOut]
    total: int


class CancelIn(BaseModel):
    """Why the instance is cancelled (kept in its audit row)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class StepOut(BaseModel):
    """An unfinished step run: pending, running or retrying."""

    instance_id: str
    invoke_id: str
    src: str = Field(description="The step's implementation name.")
    state: str
    status: str = Field(description="pending, running or retrying.")
    attempts: int
    max_attempts: int | None
    last_error: str | None
    next_attempt_at: int
    lease_until: int | None
    started_version: int
    created_at: int
    input: Any = Field(default=None, description="Null when the token may not read payloads.")


class StepsOut(BaseModel):
    """A page of step runs by (instance id, invoke id); `next_cursor` gives the next one."""

    items: list[StepOut]
    next_cursor: str | None


class StepAttemptOut(BaseModel):
    """A failed attempt of a step run, kept after the run is gone."""

    invoke_id: str
    src: str = Field(description="The step's implementation name.")
    started_version: int = Field(description="The instance version that started the run.")
    attempt: int = Field(description="1 for the first.")
    error_type: str
    error_message: str
    started_at: int | None = Field(description="Null when its worker was lost.")
    ended_at: int


class StepAttemptsOut(BaseModel):
    """An instance's failed step attempts, in the order they ended."""

    items: list[StepAttemptOut]


class TimerOut(BaseModel):
    """A pending timer: the event it fires at `due_at`."""

    instance_id: str
    timer_id: str
    due_at: int
    event: dict[str, Any] = Field(description="Only its type when payloads are withheld.")


class TimersOut(BaseModel):
    """A page of timers by (instance id, timer id); `next_cursor` gives the next one."""

    items: list[TimerOut]
    next_cursor: str | None


class DeadLetterOut(BaseModel):
    """An outbox message whose deliveries gave up."""

    message_id: str
    instance_id: str
    version: int
    event: dict[str, Any] = Field(description="Only its type when payloads are withheld.")
    attempts: int
    last_error: str | None
    created_at: int
    failed_at: int


class DeadLettersOut(BaseModel):
    """A page of dead letters by message id; `next_cursor` gives the next one."""

    items: list[DeadLetterOut]
    next_cursor: str | None


class PendingMessageOut(BaseModel):
    """An outbox message not delivered yet."""

    message_id: str
    instance_id: str
    version: int
    event: dict[str, Any] = Field(description="Only its type when payloads are withheld.")
    attempts: int
    last_error: str | None
    created_at: int
    next_attempt_at: int


class PendingOutboxOut(BaseModel):
    """A page of pending outbox messages by message id; `next_cursor` gives the next one."""

    items: list[PendingMessageOut]
    next_cursor: str | None


class RedriveIn(BaseModel):
    """Which dead letters to deliver again: one by id, those the filters match, or `all`."""

    model_config = ConfigDict(extra="forbid")

    message_id: str | None = _Id
    instance_id: str | None = _Id
    event_type: str | None = _Id
    all: bool = Field(default=False, description="Every dead letter of the tenant.")
    dry_run: bool = Field(default=False, description="Only count them.")
    as_of: int | None = Field(
        default=None,
        ge=0,
        description=(
            "The `as_of` a dry run returned: only the letters dead then (and still dead) are "
            "redriven, none dead-lettered since. Without it, every letter dead now."
        ),
    )


class RedriveOut(BaseModel):
    """How many dead letters were redriven (none with `dry_run`) and matched, as of when."""

    redriven: int = Field(description="The dead letters redriven: 0 on a dry run.")
    matched: int = Field(
        description="The dead letters matched: on a dry run, those that would be redriven; "
        "otherwise the same as `redriven`."
    )
    dry_run: bool
    as_of: int | None = Field(
        description=(
            "A dry run: the dead letters' position when they were counted, to pass back with "
            "the redrive so that it acts on those only. Otherwise the `as_of` given, if any."
        )
    )


class BulkFilterIn(BaseModel):
    """The instances a bulk operation acts on (the filters of the instance list), or `all`."""

    model_config = ConfigDict(extra="forbid")

    definition: str | None = _Id
    status: str | None = _Id
    runtime_status: str | None = _Id
    state: str | None = _Id
    tag: str | None = _Id
    all: bool = Field(default=False, description="Every instance of the tenant (no filter).")
    dry_run: bool = Field(default=False, description="Only count the matches.")
    as_of: int | None = Field(
        default=None,
        ge=0,
        description=(
            "The `as_of` a dry run returned: act only on the instances with no transition "
            "since (the others are `changed`). Without it, on every instance matching now."
        ),
    )


class BulkSendIn(BulkFilterIn):
    """Send `event` to every instance matched."""

    event: EventIn = Field(description='The event: {"type": "APPROVE", ...payload}.')


class BulkCancelIn(BulkFilterIn):
    """Cancel every instance matched."""

    reason: str | None = Field(default=None, max_length=2000)


class BulkRetryIn(BulkFilterIn):
    """Make the waiting steps of every instance matched due now."""


class RefusedOut(BaseModel):
    """An instance the bulk operation refused, and why."""

    instance_id: str
    type: str = Field(description="The problem type, as the one-instance route answers it.")
    detail: str
    reason: str | None = Field(default=None, description="A step retry's refusal reason.")


class SkippedOut(BaseModel):
    """Instances matched that a bulk operation would leave alone, for one reason."""

    reason: str = Field(
        description="`not_active` (done, stopped or in error already), `not_accepted` (its "
        "active states take no such event now), `not_permitted` (the event's transitions name "
        "roles the token holds none of) or `no_waiting_step` (no step waits for a retry)."
    )
    count: int
    detail: str = Field(
        description='Words that read after the count: "done already", "not accepting '
        'APPROVE in shipped".'
    )


class BulkOut(BaseModel):
    """How many instances the filter matched, those acted on, those refused, and (given
    `as_of`) those changed since it and left alone; a dry run also says how many it would
    change and how many it would skip, and why."""

    matched: int
    done: list[str]
    refused: list[RefusedOut]
    dry_run: bool
    changed: list[str] = Field(
        description=(
            "Given `as_of`: the instances matching but changed (a transition) since it, left alone."
        )
    )
    as_of: int | None = Field(
        description=(
            "A dry run: the position it counted at, to pass back with the bulk so that it "
            "acts on no instance changed since. Otherwise the `as_of` given, if any."
        )
    )
    would_act: int | None = Field(
        default=None,
        description="A dry run: how many of those matched the operation would change as they "
        "stand now (null otherwise, and when more match than one bulk may act on).",
    )
    would_skip: list[SkippedOut] = Field(
        default_factory=list,
        description="A dry run: those matched it would leave alone, counted per reason, the "
        "largest group first (`matched` = `would_act` + their counts).",
    )
    guarded: int = Field(
        default=0,
        description="A dry run of a send: how many of `would_act` take the event only through "
        "guarded transitions, whose guards may still refuse it.",
    )
