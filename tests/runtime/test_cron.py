"""Cron schedules: validation with clear errors, tick computation, daylight saving time.

The properties compare `due_ticks` with a brute-force model over every minute of a window:
a small cron matcher of our own (numbers, `*`, ranges, steps, lists; Debian's day rule) and,
in zones with daylight saving time, the two DST rules the module docstring states.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from statewright.errors import ConfigError
from statewright.runtime.cron import Schedule, due_ticks, next_tick, parse_schedule

MINUTE = 60_000
DAY = 86_400_000
BERLIN = ZoneInfo("Europe/Berlin")
START = {"start": "nightly-report"}


def schedule(cron: str, timezone: str = "UTC", action: dict[str, object] | None = None) -> Schedule:
    return Schedule(name="s", cron=cron, timezone=timezone, action=action or START)


def at(zone: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0, *, fold: int = 0) -> int:
    """Epoch ms of a wall-clock time in `zone` (`fold=1`: the second pass of a repeated hour)."""
    return int(datetime(y, mo, d, h, mi, tzinfo=zone, fold=fold).timestamp()) * 1000


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    return at(ZoneInfo("UTC"), y, mo, d, h, mi)


def wall(tick: int, zone: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(tick / 1000, zone)
    return f"{moment:%m-%d %H:%M %Z}"


# -- parsing and validation ----------------------------------------------------------------------


def test_a_schedule_reads_back_what_it_writes() -> None:
    data = {
        "name": "stale-reviews",
        "cron": "*/15 * * * *",
        "timezone": "Europe/Riga",
        "action": {"event": {"type": "ESCALATE"}, "where": {"definition": "intake"}},
        "description": "escalate reviews nobody touched",
    }
    parsed = parse_schedule(data)
    assert parsed.to_json() == data
    assert parse_schedule(parsed.to_json()) == parsed


def test_timezone_defaults_to_utc() -> None:
    parsed = parse_schedule({"name": "n", "cron": "0 2 * * *", "action": START})
    assert parsed.timezone == "UTC"
    assert parsed.to_json() == {
        "name": "n",
        "cron": "0 2 * * *",
        "timezone": "UTC",
        "action": START,
    }


def test_the_action_is_a_read_only_copy_and_the_schedule_hashable() -> None:
    action: dict[str, object] = {"start": "report", "input": {"days": 7}}
    parsed = schedule("0 2 * * *", action=action)
    action["start"] = "changed"
    assert parsed.action == {"start": "report", "input": {"days": 7}}
    assert isinstance(parsed.action, MappingProxyType)
    with pytest.raises(TypeError):
        parsed.action["start"] = "x"  # type: ignore[index]
    assert hash(parsed) == hash(schedule("0 2 * * *", action=action))


def _fault(data: dict[str, object]) -> str:
    base: dict[str, object] = {"name": "nightly", "cron": "0 2 * * *", "action": START}
    with pytest.raises(ConfigError) as caught:
        parse_schedule({**base, **data})
    return str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"timezon": "UTC"},
            'schedule "nightly": timezon: unknown schedule key; did you mean "timezone"?',
        ),
        ({"cron": 5}, 'schedule "nightly": cron: must be a string, not int'),
        ({"name": "no spaces please"}, "name: 'no spaces please' is not a schedule name; use"),
        ({"cron": "61 2 * * *"}, "cron: '61 2 * * *' has a bad minute field; write five fields"),
        ({"cron": "0 2 * * MON-XYZ"}, "cron: '0 2 * * MON-XYZ' has a bad day-of-week field"),
        ({"cron": "0 0 2 * * *"}, "has 6 fields, not 5; seconds are not supported; write five"),
        ({"cron": "0 2 * *"}, "cron: '0 2 * *' has 4 fields, not 5; write five fields"),
        ({"cron": "@reboot"}, "cron: unknown macro '@reboot'; use @yearly, @annually, @monthly"),
        ({"cron": "0 0 31 2 *"}, "cron: '0 0 31 2 *' has a bad day-of-month field"),
        ({"cron": "* * */20 * 1L"}, "cron: '* * */20 * 1L' never matches a date"),
        (
            {"timezone": "Europe/Berln"},
            "timezone: unknown time zone 'Europe/Berln'; did you mean \"Europe/Berlin\"?",
        ),
        (
            {"timezone": "europe/riga"},
            "unknown time zone 'europe/riga'; did you mean \"Europe/Riga\"?",
        ),
        ({"timezone": "../../etc/passwd"}, "unknown time zone '../../etc/passwd'"),
        ({"action": ["start"]}, 'action: must be an object; write {"event":'),
        ({"action": {}}, "action: needs exactly one of event, start"),
        ({"action": {"start": "a", "event": "B"}}, "action: needs exactly one of event, start"),
        ({"action": {"start": ""}}, "action.start: must be a definition id"),
        (
            {"action": {"start": "a", "inputs": {}}},
            'action.inputs: unknown key for a start action; did you mean "input"?',
        ),
        ({"action": {"start": "a", "input": {1, 2}}}, "action: is not JSON data"),
        ({"action": {"start": "a", "input": float("nan")}}, "action: is not JSON data"),
        ({"action": {"start": "a", "tenant": 7}}, "action.tenant: must be a tenant id"),
        ({"action": {"event": "X"}}, "action.where: needs the definition to send to"),
        (
            {"action": {"event": {}, "where": {"definition": "d"}}},
            "action.event: must be an event type",
        ),
        (
            {"action": {"event": "X", "where": {"definition": "d", "region": "eu"}}},
            "action.where.region: unknown filter; allowed: definition, status, runtimeStatus",
        ),
        (
            {"action": {"event": "X", "where": {"definition": "d", "status": "waiting"}}},
            "action.where.status: 'waiting' is not one of active, done, error, stopped",
        ),
    ],
)
def test_each_fault_names_the_schedule_the_field_and_the_fix(
    data: dict[str, object], message: str
) -> None:
    assert message in _fault(data)


def test_missing_keys_and_several_faults_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_schedule({"name": "n"})
    assert str(caught.value) == (
        'schedule "n" has 2 faults:\n'
        '  cron: missing; add "cron": "0 2 * * *" (daily at 02:00)\n'
        '  action: missing; add it: write {"event": {"type": "ESCALATE"}, "where": '
        '{"definition": "intake"}} or {"start": "report", "input": {...}}'
    )
    message = _fault({"cron": "99 * * * *", "timezone": "Mars/Base", "action": {}})
    assert message.startswith('schedule "nightly" has 3 faults:\n  timezone: ')


def test_a_schedule_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ConfigError, match="a schedule must be an object, not list"):
        parse_schedule(["0 2 * * *"])  # type: ignore[arg-type]


def test_a_one_value_range_with_a_step_is_that_value_as_in_debian() -> None:
    ticks = due_ticks(schedule("5-5/10 * * * *"), utc(2025, 1, 1), utc(2025, 1, 1, 3), 10)
    assert ticks == [utc(2025, 1, 1, h, 5) for h in range(3)]


def test_building_a_schedule_in_python_validates_too() -> None:
    with pytest.raises(ConfigError, match=r'schedule "s": cron: .* has a bad hour field'):
        schedule("0 24 * * *")


# -- ticks ---------------------------------------------------------------------------------------


def test_every_15_minutes() -> None:
    ticks = due_ticks(schedule("*/15 * * * *"), utc(2025, 1, 1, 9, 7), utc(2025, 1, 1, 10, 0), 10)
    assert ticks == [
        utc(2025, 1, 1, 9, 15),
        utc(2025, 1, 1, 9, 30),
        utc(2025, 1, 1, 9, 45),
        utc(2025, 1, 1, 10, 0),
    ]


def test_ticks_are_strictly_after_the_start_and_up_to_the_end_inclusive() -> None:
    every = schedule("*/15 * * * *")
    nine = utc(2025, 1, 1, 9, 0)
    assert next_tick(every, nine) == nine + 15 * MINUTE
    assert next_tick(every, nine - 1) == nine
    assert next_tick(every, nine + 999) == nine + 15 * MINUTE
    assert due_ticks(every, nine, nine + 15 * MINUTE, 5) == [nine + 15 * MINUTE]
    assert due_ticks(every, nine, nine + 15 * MINUTE - 1, 5) == []
    assert due_ticks(every, nine, nine - DAY, 5) == []


def test_limit_returns_the_earliest_missed_ticks() -> None:
    every = schedule("* * * * *")
    ticks = due_ticks(every, 0, 7 * DAY, 3)
    assert ticks == [MINUTE, 2 * MINUTE, 3 * MINUTE]
    assert due_ticks(every, ticks[-1], 7 * DAY, 2) == [4 * MINUTE, 5 * MINUTE]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit must be >= 1"):
        due_ticks(schedule("* * * * *"), 0, DAY, 0)


def test_daily_at_two_follows_the_zone_offset() -> None:
    daily = schedule("0 2 * * *", timezone="Europe/Riga")
    assert next_tick(daily, utc(2025, 1, 10, 12, 0)) == utc(2025, 1, 11, 0, 0)  # UTC+2
    assert next_tick(daily, utc(2025, 7, 10, 12, 0)) == utc(2025, 7, 10, 23, 0)  # UTC+3


def test_macros_stand_for_their_five_fields() -> None:
    start, end = utc(2025, 1, 1), utc(2025, 3, 1)
    for macro, fields in [
        ("@daily", "0 0 * * *"),
        ("@Hourly", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
    ]:
        assert due_ticks(schedule(macro), start, end, 1000) == due_ticks(
            schedule(fields), start, end, 1000
        )


def test_names_and_debians_day_rule() -> None:
    # Day-of-month OR day-of-week when both are restricted: the 1st, and every Monday.
    either = due_ticks(schedule("0 9 1 * MON"), utc(2025, 8, 31), utc(2025, 9, 30), 10)
    assert [datetime.fromtimestamp(t / 1000, UTC).day for t in either] == [1, 8, 15, 22, 29]
    # A star in either makes it AND: Mondays of September only.
    both = due_ticks(schedule("0 9 */1 SEP MON"), utc(2025, 8, 31), utc(2025, 10, 31), 10)
    assert len(both) == 5


def test_cronsims_extensions_are_accepted() -> None:
    last_day = due_ticks(schedule("0 0 L * *"), utc(2025, 1, 1), utc(2025, 4, 1), 10)
    assert [datetime.fromtimestamp(t / 1000, UTC).day for t in last_day] == [31, 28, 31]
    first_monday = next_tick(schedule("0 9 * * MON#1"), utc(2025, 9, 2))
    assert first_monday == utc(2025, 10, 6, 9, 0)


# -- daylight saving time (Europe/Berlin, 2025: 02:00 -> 03:00 on March 30, 03:00 -> 02:00 on
#    October 26) ---------------------------------------------------------------------------------

SPRING = (at(BERLIN, 2025, 3, 30, 0, 0), at(BERLIN, 2025, 3, 30, 4, 30))
AUTUMN = (at(BERLIN, 2025, 10, 26, 0, 0), at(BERLIN, 2025, 10, 26, 4, 30))


@pytest.mark.parametrize(
    ("cron", "spring", "autumn"),
    [
        # A fixed minute and hour run by the wall clock: a skipped time comes at the first
        # minute after the gap, once; a repeated time runs in the first pass only.
        ("30 2 * * *", ["03-30 03:00 CEST"], ["10-26 02:30 CEST"]),
        ("15,45 2 * * *", ["03-30 03:00 CEST"], ["10-26 02:15 CEST", "10-26 02:45 CEST"]),
        (
            "0 1-3 * * *",
            ["03-30 01:00 CET", "03-30 03:00 CEST"],
            ["10-26 01:00 CEST", "10-26 02:00 CEST", "10-26 03:00 CET"],
        ),
        # Anything else runs by elapsed time: no tick in the missing hour, both passes of
        # the repeated one.
        (
            "0 * * * *",
            ["03-30 01:00 CET", "03-30 03:00 CEST", "03-30 04:00 CEST"],
            [
                "10-26 01:00 CEST",
                "10-26 02:00 CEST",
                "10-26 02:00 CET",
                "10-26 03:00 CET",
                "10-26 04:00 CET",
            ],
        ),
        (
            "*/30 2 * * *",
            [],
            ["10-26 02:00 CEST", "10-26 02:30 CEST", "10-26 02:00 CET", "10-26 02:30 CET"],
        ),
    ],
)
def test_dst_changes(cron: str, spring: list[str], autumn: list[str]) -> None:
    berlin = schedule(cron, timezone="Europe/Berlin")
    assert [wall(t, BERLIN) for t in due_ticks(berlin, *SPRING, 100)] == spring
    assert [wall(t, BERLIN) for t in due_ticks(berlin, *AUTUMN, 100)] == autumn


def test_every_15_minutes_stays_15_minutes_apart_across_dst() -> None:
    every = schedule("*/15 * * * *", timezone="Europe/Berlin")
    for start, end in (SPRING, AUTUMN):
        ticks = due_ticks(every, start, end, 100)
        assert {b - a for a, b in itertools.pairwise(ticks)} == {15 * MINUTE}
    assert len(due_ticks(every, *SPRING, 100)) == 14  # 4.5 h of wall clock, 3.5 h elapsed
    assert len(due_ticks(every, *AUTUMN, 100)) == 22  # 4.5 h of wall clock, 5.5 h elapsed


def test_from_the_second_pass_of_a_repeated_hour_the_first_pass_tick_is_not_repeated() -> None:
    daily = schedule("30 2 * * *", timezone="Europe/Berlin")
    second_pass = at(BERLIN, 2025, 10, 26, 2, 10, fold=1)  # 02:10 CET, after 02:30 CEST
    assert next_tick(daily, second_pass) == at(BERLIN, 2025, 10, 27, 2, 30)
    first_pass = at(BERLIN, 2025, 10, 26, 2, 10)
    assert next_tick(daily, first_pass) == at(BERLIN, 2025, 10, 26, 2, 30)


# -- properties against a brute-force model ----------------------------------------------------

FIELD_RANGES = [(0, 59), (0, 23), (1, 28), (1, 12), (0, 7)]  # day-of-month <= 28: always valid


@st.composite
def cron_fields(draw: st.DrawFn, low: int, high: int) -> str:
    def item() -> str:
        kind = draw(st.sampled_from(["star", "step", "value", "range", "range_step"]))
        a, b = sorted(draw(st.lists(st.integers(low, high), min_size=2, max_size=2)))
        step = draw(st.integers(1, high - low + 1))
        return {
            "star": "*",
            "step": f"*/{step}",
            "value": str(a),
            "range": f"{a}-{b}",
            "range_step": f"{a}-{b}/{step}",
        }[kind]

    return ",".join(item() for _ in range(draw(st.integers(1, 3))))


crons = st.tuples(*(cron_fields(low, high) for low, high in FIELD_RANGES)).map(" ".join)


MATCH_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _values(field: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for item in field.split(","):
        span, _, step = item.partition("/")
        first, last = (
            (low, high) if span == "*" else (int(span.split("-")[0]), int(span.split("-")[-1]))
        )
        values.update(range(first, last + 1, int(step or 1)))
    return values


class Matcher:
    """Our own reading of a numeric cron expression against wall-clock times."""

    def __init__(self, cron: str) -> None:
        fields = cron.split()
        sets = [_values(f, *r) for f, r in zip(fields, MATCH_RANGES, strict=True)]
        self.minutes, self.hours, self.days, self.months, weekdays = sets
        self.weekdays = {day % 7 for day in weekdays}  # cron: Sunday is 0 and 7
        self.both = fields[2].startswith("*") or fields[4].startswith("*")

    def __call__(self, moment: datetime) -> bool:
        if moment.minute not in self.minutes or moment.hour not in self.hours:
            return False
        return moment.month in self.months and self.day(moment.date())

    def day(self, day: date) -> bool:
        # Debian: day-of-month AND day-of-week when either starts with "*", else OR.
        dom, dow = day.day in self.days, (day.weekday() + 1) % 7 in self.weekdays
        return (dom and dow) if self.both else (dom or dow)


def brute_force_elapsed(cron: str, zone: ZoneInfo, after: int, until: int) -> list[int]:
    """Every whole minute in (after, until] whose wall clock in `zone` matches."""
    matches = Matcher(cron)
    first = after // MINUTE * MINUTE + MINUTE
    return [
        t
        for t in range(first, until + 1, MINUTE)
        if matches(datetime.fromtimestamp(t // 1000, zone))
    ]


def _first_real(local: datetime) -> datetime:
    """`local` if the wall clock shows it, else the first minute after its gap."""
    zone = local.tzinfo
    while local != local.astimezone(UTC).astimezone(zone):
        local = (local.replace(tzinfo=None) + timedelta(minutes=1)).replace(tzinfo=zone)
    return local


def brute_force_wall_clock(cron: str, zone: ZoneInfo, after: int, until: int) -> list[int]:
    """Each matching wall-clock time once: its first pass, or the first minute after a gap."""
    matches = Matcher(cron)
    ticks = set()
    for day in _local_days(zone, after, until):
        if day.month not in matches.months or not matches.day(day):
            continue
        for hour, minute in itertools.product(sorted(matches.hours), sorted(matches.minutes)):
            local = _first_real(datetime.combine(day, time(hour, minute), tzinfo=zone))
            ticks.add(int(local.timestamp()) * 1000)
    return sorted(t for t in ticks if after < t <= until)


def _local_days(zone: ZoneInfo, after: int, until: int) -> Iterator[date]:
    day = datetime.fromtimestamp(after // 1000, zone).date() - timedelta(days=1)
    while day <= datetime.fromtimestamp(until // 1000, zone).date():
        yield day
        day += timedelta(days=1)


def _dst_changes(zone: ZoneInfo, year: int) -> list[int]:
    hours = range(utc(year, 1, 1), utc(year + 1, 1, 1), 3_600_000)
    offsets = [(h, datetime.fromtimestamp(h // 1000, zone).utcoffset()) for h in hours]
    return [b for (_, x), (b, y) in itertools.pairwise(offsets) if x != y]


#: Zones with their DST quirks: the usual one-hour shifts, a half-hour shift (Lord Howe) and
#: changes at midnight (Santiago), each change of 2025 a window centre.
DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]
DST_CHANGES = [
    (name, change) for name in DST_ZONES for change in _dst_changes(ZoneInfo(name), 2025)
]
WINDOW = 2 * DAY


@settings(deadline=None)
@given(crons, st.integers(utc(2000, 1, 1), utc(2040, 1, 1)))
def test_ticks_in_utc_are_exactly_the_matching_minutes(cron: str, after: int) -> None:
    ticks = due_ticks(schedule(cron), after, after + WINDOW, 10_000)
    assert ticks == brute_force_elapsed(cron, ZoneInfo("UTC"), after, after + WINDOW)


@settings(deadline=None)
@given(crons, st.sampled_from(DST_CHANGES), st.integers(-WINDOW, 0))
def test_elapsed_time_ticks_across_dst_are_the_matching_instants(
    cron: str, change: tuple[str, int], shift: int
) -> None:
    fields = cron.split()
    assume(fields[0].startswith("*") or fields[1].startswith("*"))
    name, instant = change
    after = instant + shift
    ticks = due_ticks(schedule(cron, timezone=name), after, after + WINDOW, 10_000)
    assert ticks == sorted(set(ticks))  # strictly increasing
    assert ticks == brute_force_elapsed(cron, ZoneInfo(name), after, after + WINDOW)


@settings(deadline=None)
@given(crons, st.sampled_from(DST_CHANGES), st.integers(-WINDOW, 0))
def test_wall_clock_ticks_across_dst_follow_the_stated_rule(
    cron: str, change: tuple[str, int], shift: int
) -> None:
    fields = cron.split()
    assume(not fields[0].startswith("*") and not fields[1].startswith("*"))
    name, instant = change
    after = instant + shift
    ticks = due_ticks(schedule(cron, timezone=name), after, after + WINDOW, 10_000)
    assert ticks == sorted(set(ticks))  # strictly increasing
    assert ticks == brute_force_wall_clock(cron, ZoneInfo(name), after, after + WINDOW)


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("* 1 * * 0", "09-07 01:00 -03"),
        ("* */2 * * 0", "09-07 02:00 -03"),
        ("* * * * 0", "09-07 01:00 -03"),
    ],
)
def test_where_clocks_skip_midnight_the_hour_after_the_gap_is_matched_as_usual(
    cron: str, expected: str
) -> None:
    # Santiago, Sunday 2025-09-07: 00:00 (UTC-4) -> 01:00 (UTC-3). The Saturday does not
    # match; cronsim's own time-zone handling jumps to the missing midnight of the Sunday
    # and then a whole hour too far (no tick at all for the first case).
    santiago = ZoneInfo("America/Santiago")
    sunday = schedule(cron, timezone="America/Santiago")
    assert wall(next_tick(sunday, at(santiago, 2025, 9, 6, 12, 0)), santiago) == expected


def test_lord_howe_half_hour_change() -> None:
    # 2025-04-06 02:00 summer time (UTC+11) -> 01:30 standard time (UTC+10:30). cronsim's
    # own time-zone handling steps hours as 3600 s and would skip to 02:30 here.
    every_minute_of_even_hours = schedule("* */2 * * *", timezone="Australia/Lord_Howe")
    after = utc(2025, 4, 5, 15, 0)  # 01:30 standard time, just after the change
    assert next_tick(every_minute_of_even_hours, after) == utc(2025, 4, 5, 15, 30)  # 02:00


@settings(deadline=None)
@given(crons, st.integers(utc(2000, 1, 1), utc(2040, 1, 1)), st.integers(0, 59_999))
def test_next_tick_is_the_first_due_tick(cron: str, after: int, offset: int) -> None:
    every = schedule(cron)
    tick = next_tick(every, after + offset)
    assert tick > after + offset and tick % MINUTE == 0
    assert due_ticks(every, after + offset, tick, 5) == [tick]
