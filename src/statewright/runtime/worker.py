"""`Worker`: the loops that make a workflow wait, retry and notify.

Built so far: the timer loop. `run_once()` fires every timer due by the engine's clock, oldest
first (equal due times in creation order), each through `Engine.fire_timer`, which delivers
the delayed event and deletes the timer in ONE transaction: a timer fires exactly once, as the
audit log shows, even with several workers (the loser of a race gets `WorkGone` and moves on),
and timers that fell due while nothing ran fire late on the next pass, never lost.

Still to come on this class: the step, outbox and schedule loops, `run()` with graceful
shutdown, leases and LISTEN/NOTIFY wake-ups on PostgreSQL.
"""

from __future__ import annotations

import logging

from statewright.engine import Engine
from statewright.errors import StatewrightError, VersionConflict, WorkGone

__all__ = ["Worker"]

log = logging.getLogger("statewright.worker")


class Worker:
    """Runs due work for one engine."""

    def __init__(self, engine: Engine, *, batch: int = 100) -> None:
        self.engine = engine
        self.batch = batch

    def run_once(self) -> int:
        """Drain the work due now; returns how many timers fired."""
        return self.fire_due_timers()

    def fire_due_timers(self) -> int:
        """Fire every timer due now, including ones that fall due as others fire."""
        fired = 0
        failed: set[tuple[str, str, str, int]] = set()
        while True:
            due = [
                timer
                for timer in self.engine.store.due_timers(self.engine.clock.now(), self.batch)
                if (timer.tenant, timer.instance_id, timer.timer_id, timer.created_seq)
                not in failed
            ]
            if not due:
                return fired
            for timer in due:
                try:
                    self.engine.fire_timer(timer)
                except WorkGone:
                    continue
                except VersionConflict:
                    # Another writer moved the instance between our read and our commit:
                    # the timer is still there; the next pass reads it again.
                    continue
                except StatewrightError as error:
                    # A guard or action raised: leave the timer, do not spin on it this pass.
                    failed.add((timer.tenant, timer.instance_id, timer.timer_id, timer.created_seq))
                    log.warning(
                        "timer %s of %s/%s not fired: %s",
                        timer.timer_id,
                        timer.tenant,
                        timer.instance_id,
                        error,
                    )
                    continue
                fired += 1
