"""Retrying a send that lost the race to another writer.

A transition commits only `WHERE version = <the version it was decided on>`. A send without
`expected_version` asked for no precondition, so losing that race is not the caller's
problem: the engine decides the event again on the instance as it now stands, after a short
pause that doubles (from `PAUSE_S` to `PAUSE_MAX_S`) and is jittered, so that writers that
collided once do not collide again in step. After `SEND_ATTEMPTS` lost races it gives up with
`VersionConflict`: the pauses then add up to about 2.3 s (at most 3.4 s with the jitter).

Measured with `python -m benchmarks.send_races` (16 threads, 50 sends each, as fast as they
can, to one instance): with these settings all 800 get through on SQLite and on PostgreSQL
in every run; with 12 attempts, 0 to 3 of the 800 were refused on PostgreSQL, and with 8
attempts capped at 0.1 s, 4 %.
"""

from __future__ import annotations

import random

from statewright.errors import VersionConflict

__all__ = ["PAUSE_MAX_S", "PAUSE_S", "SEND_ATTEMPTS", "conflict_pause_s", "kept_moving"]

#: How many times an event without `expected_version` is decided and committed before a
#: race lost to other writers every time is reported (`VersionConflict`).
SEND_ATTEMPTS = 16
#: The pause after the first lost race; it doubles (with jitter) up to `PAUSE_MAX_S`.
PAUSE_S = 0.001
PAUSE_MAX_S = 0.25


def conflict_pause_s(lost: int) -> float:
    """How long to wait after losing the `lost`-th race: doubling, jittered by ±50 %,
    capped."""
    pause: float = min(PAUSE_MAX_S, PAUSE_S * 2.0 ** (lost - 1))
    return pause * random.uniform(0.5, 1.5)


def kept_moving(conflict: VersionConflict, attempts: int) -> VersionConflict:
    """The conflict to raise when every attempt lost: the last one's facts, and what to do."""
    instance_id = conflict.instance_id
    return VersionConflict(
        f"{instance_id} kept changing under this event: other writers committed first "
        f"{attempts} times in a row (last: expected version {conflict.expected}, found "
        f"{conflict.found}); nothing was committed: send it again",
        instance_id=instance_id,
        expected=conflict.expected,
        found=conflict.found,
    )
