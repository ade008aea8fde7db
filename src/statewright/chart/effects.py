"""Effects: what a transition asks its runner to do, as data.

The chart executes none of these. The durable engine stores them in the transition's own
database transaction; the testing actor performs them on a virtual clock. Field names follow
XState's vocabulary (a delayed event, an invoked actor, an emitted event).
"""

from __future__ import annotations

from dataclasses import dataclass

from statewright.chart.json_types import JsonObject, JsonValue

__all__ = ["CancelTimer", "Effect", "Emit", "Log", "ScheduleTimer", "StartStep", "StopStep"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTimer:
    """Deliver `event` to this instance after `delay_ms`.

    A pending timer with the same `id` is replaced. `id` is None for an anonymous delayed
    `raise`: the runner gives it an id of its own and nothing can cancel it.
    """

    id: str | None
    delay_ms: int
    event: JsonObject


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer:
    """Drop the pending timer `id`; a no-op when there is none."""

    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartStep:
    """Run the actor `src` with `input` for the invocation `id`, entered in state `state`.

    Its result comes back as the event `xstate.done.actor.<id>` (`output`) or
    `xstate.error.actor.<id>` (`error`).
    """

    id: str
    src: str
    input: JsonValue
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StopStep:
    """The invocation `id` ended with its state: cancel it and discard any late result."""

    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Emit:
    """An outbox message from an `emit` action."""

    event: JsonObject


@dataclass(frozen=True, slots=True, kw_only=True)
class Log:
    """A `log` action's message and value."""

    message: str
    value: JsonValue


Effect = ScheduleTimer | CancelTimer | StartStep | StopStep | Emit | Log
