"""A step output that cannot be applied becomes the step's error event.

When the transition a step's done event takes raises (its `assign` reads a field the output
lacks, a guard trips over it), running the step again would give the same output and the same
failure. So the engine applies the step's error event instead, in the same commit: the run
ends, the instance takes `onError` (or, without one, ends in `error` as XState would), and the
audit row holds the real error: its type, message and the JSON path of the definition that
failed, with the output for whoever reviews it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from statewright.engine.views import AuditEntry
from statewright.errors import TransitionFailed

__all__ = ["DONE_PREFIX", "log_unapplied", "unapplied_event"]

log = logging.getLogger("statewright.engine")

#: A step's done event (its output), as opposed to its error event.
DONE_PREFIX = "xstate.done.actor."


def unapplied_event(done: Mapping[str, object], failed: TransitionFailed) -> dict[str, object]:
    """The error event for the done event `done` whose transition failed with `failed`:
    `error` = `{"type", "message", "path", "output"}`."""
    error = failed.error
    cause = error.__cause__ if isinstance(error, BaseException) and error.__cause__ else error
    path = getattr(cause, "path", "") or getattr(error, "path", "")
    actor_id = str(done["type"])[len(DONE_PREFIX) :]
    return {
        "type": f"xstate.error.actor.{actor_id}",
        "actorId": actor_id,
        "error": {
            "type": type(cause).__name__,
            "message": f"the step's output could not be applied: {error}",
            "path": path or None,
            "output": done.get("output"),
        },
    }


def log_unapplied(event: Mapping[str, object], entry: AuditEntry) -> None:
    """Log a WARNING if `entry` committed the error event in place of the done `event`."""
    if entry.event["type"] != event["type"] and str(event["type"]).startswith(DONE_PREFIX):
        error = entry.event.get("error")
        log.warning(
            "step %s of %s/%s: output not applied, the step took its error path: %s",
            entry.event.get("actorId"),
            entry.tenant,
            entry.instance_id,
            error.get("message") if isinstance(error, dict) else error,
        )
