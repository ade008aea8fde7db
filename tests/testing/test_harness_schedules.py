"""Cron schedules in the Harness: each tick runs at its own time, as on a worker."""

from __future__ import annotations

import json
from pathlib import Path

from statewright import Machine
from statewright.testing import Harness
from statewright.testing.harness import DEFAULT_START_MS

EXAMPLES = Path(__file__).parents[2] / "examples"
MINUTE, DAY = 60_000, 86_400_000


def intake_schedules() -> list[dict[str, object]]:
    schedules: list[dict[str, object]] = json.loads(
        (EXAMPLES / "intake" / "schedules.json").read_text()
    )
    return schedules


def test_a_tick_runs_at_its_time_not_at_the_end_of_the_advance() -> None:
    with Harness(Machine.load(EXAMPLES / "intake" / "intake.json")) as h:
        for schedule in intake_schedules():
            h.schedule(schedule)
        h.advance("7m")  # off the quarter hours: the review goes stale at 2d 00:07
        h.start("intake", instance_id="I-1", input={"applicant": "ann"})
        h.send("I-1", "SUBMIT")
        h.advance("3d")
        h.assert_state("I-1", "escalated")
        escalation = h.engine.history("I-1")[-1]
        tick = DEFAULT_START_MS + 2 * DAY + 15 * MINUTE  # the first tick after it went stale
        assert escalation.actor == "schedule:escalate-stale-reviews"
        assert (escalation.at, escalation.idempotency_key) == (
            tick,
            f"schedule/escalate-stale-reviews/{tick}",
        )


def test_advance_counts_the_ticks_it_ran() -> None:
    with Harness() as h:
        h.schedule(
            {
                "name": "nightly",
                "cron": "0 2 * * *",
                "timezone": "UTC",
                "action": {"start": "nothing-registered"},
            }
        )
        assert h.advance("3d") == 3
