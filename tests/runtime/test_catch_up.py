"""A schedule's catch-up policy (`catchUp`): which missed ticks run after downtime. The
arithmetic is pure (`engine.cron_ticks.catch_up`); the worker's side is in
test_schedules.py."""

from __future__ import annotations

import time

import pytest

from statewright.engine.cron_ticks import SKIPPED_COUNT_CAP, catch_up
from statewright.errors import ConfigError
from statewright.runtime.cron import Schedule, parse_schedule

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
T0 = 1_700_000_000_000 - 1_700_000_000_000 % DAY  # 2023-11-14T00:00Z
EVENT = {"event": "REMIND", "where": {"definition": "ping"}}


def test_latest_runs_only_the_latest_due_tick_and_counts_the_rest() -> None:
    plan = catch_up("* * * * *", "UTC", "latest", T0, T0 + DAY + 30_000, 100)
    assert plan.run == [T0 + DAY]
    assert (plan.skipped, plan.skipped_more) == (1439, False)
    assert (plan.first_skipped, plan.last_skipped) == (T0 + MINUTE, T0 + DAY - MINUTE)


def test_one_due_tick_however_late_runs_and_nothing_is_skipped() -> None:
    plan = catch_up("0 2 * * *", "UTC", "latest", T0, T0 + DAY, 100)
    assert (plan.run, plan.skipped, plan.first_skipped) == ([T0 + 2 * HOUR], 0, None)
    assert catch_up("0 2 * * *", "UTC", "latest", T0, T0 + HOUR, 100).run == []


def test_a_window_runs_the_ticks_at_most_that_old_in_order() -> None:
    now = T0 + DAY
    plan = catch_up("*/15 * * * *", "UTC", "1h", T0, now, 100)
    assert plan.run == [now - HOUR, now - 45 * MINUTE, now - 30 * MINUTE, now - 15 * MINUTE, now]
    assert (plan.skipped, plan.last_skipped) == (4 * 24 - 4 - 1, now - HOUR - 15 * MINUTE)
    assert catch_up("*/15 * * * *", "UTC", "1h", T0, now, 2).run == plan.run[:2]


def test_within_the_window_nothing_is_skipped() -> None:
    plan = catch_up("* * * * *", "UTC", "PT2H", T0, T0 + HOUR, 100)
    assert (len(plan.run), plan.skipped) == (60, 0)


def test_all_runs_every_due_tick_a_backlog_at_a_time() -> None:
    plan = catch_up("* * * * *", "UTC", "all", T0, T0 + DAY, 100)
    assert plan.run == [T0 + MINUTE * n for n in range(1, 101)]
    assert plan.skipped == 0


def test_a_year_of_missed_minutes_is_planned_without_walking_every_one() -> None:
    began = time.perf_counter()
    plan = catch_up("* * * * *", "UTC", "latest", T0, T0 + 365 * DAY, 100)
    assert plan.run == [T0 + 365 * DAY]
    assert (plan.skipped, plan.skipped_more) == (SKIPPED_COUNT_CAP, True)
    assert plan.last_skipped == T0 + 365 * DAY - MINUTE
    assert time.perf_counter() - began < 2


def test_the_latest_tick_in_a_zone_with_dst_is_found_across_the_change() -> None:
    # Berlin springs forward on 2024-03-31 at 02:00: the wall-clock 02:30 ticks at 03:00.
    after = 1_711_670_400_000  # 2024-03-29T00:00Z
    now = 1_711_854_000_000  # 2024-03-31T03:00Z, 05:00 in Berlin
    plan = catch_up("30 2 * * *", "Europe/Berlin", "latest", after, now, 100)
    assert plan.run == [1_711_846_800_000]  # 2024-03-31T01:00Z, 03:00 in Berlin
    assert plan.skipped == 2


@pytest.mark.parametrize("policy", ["latest", "all", "1h", "PT30M", "1d 12h", "1m"])
def test_a_catch_up_policy_reads_back_what_it_writes(policy: str) -> None:
    data = {"name": "remind", "cron": "* * * * *", "catchUp": policy, "action": EVENT}
    parsed = parse_schedule(data)
    assert parsed.catch_up == policy
    assert parse_schedule(parsed.to_json()) == parsed


def test_the_default_is_latest_and_is_not_written_out() -> None:
    parsed = parse_schedule({"name": "remind", "cron": "* * * * *", "action": EVENT})
    assert parsed.catch_up == "latest"
    assert "catchUp" not in parsed.to_json()


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ("lastest", "catchUp: 'lastest' is not a catch-up policy; did you mean \"latest\"?"),
        ("1 hour", "catchUp: '1 hour' is not a catch-up policy; did you mean \"1h\"?"),
        ("forever", "catchUp: 'forever' is not a catch-up policy; write \"latest\""),
        ("30s", "catchUp: '30s' is shorter than a minute"),
        (3600, 'catchUp: must be a string, not int; write "latest"'),
    ],
)
def test_a_bad_catch_up_names_the_schedule_the_key_and_the_fix(value: object, fault: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_schedule({"name": "remind", "cron": "* * * * *", "catchUp": value, "action": EVENT})
    message = str(caught.value)
    assert message.startswith(f'schedule "remind": {fault}')
    assert '"1h"' in message and '"all"' in message


def test_a_misspelt_key_is_pointed_at_catch_up() -> None:
    with pytest.raises(ConfigError, match='catchup: unknown schedule key; did you mean "catchUp"'):
        parse_schedule({"name": "remind", "cron": "* * * * *", "catchup": "1h", "action": EVENT})


def test_building_a_schedule_in_python_checks_catch_up_too() -> None:
    with pytest.raises(ConfigError, match="schedule \"remind\": catchUp: 'soon'"):
        Schedule(name="remind", cron="* * * * *", action=EVENT, catch_up="soon")
