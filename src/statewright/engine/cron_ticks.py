"""The ticks of a cron expression in a time zone: pure tick arithmetic, below the runtime.

`runtime/cron.py` holds schedules (their configuration, checks and faults) and the rules the
ticks follow (read its docstring: the cron dialect and the two daylight-saving rules of
Debian's cron); the computation lives here, in the engine's package, so that the engine can
say when a schedule ticks next (`Engine.schedules`) without importing the runtime, which
stands above it. Pure: no clock (the caller passes the times), no randomness; the one read is
the time-zone database, through `zoneinfo`, which caches each zone.
"""

from __future__ import annotations

import heapq
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache

from cronsim import CronSim

from statewright.chart.durations import parse_duration_ms

__all__ = [
    "CATCH_UP_DEFAULT",
    "CATCH_UP_MIN_MS",
    "MACROS",
    "SKIPPED_COUNT_CAP",
    "CatchUp",
    "catch_up",
    "catch_up_window_ms",
    "expand",
    "ticks_after",
    "ticks_in",
    "zone",
]

#: A schedule's catch-up policy when it names none: after downtime only the latest missed
#: tick runs (as Celery beat does, and a Kubernetes CronJob without a deadline).
CATCH_UP_DEFAULT = "latest"
#: The shortest catch-up window: ticks are whole minutes apart, and a shorter window would
#: skip ticks that a busy worker merely reaches a little late.
CATCH_UP_MIN_MS = 60_000
#: How many skipped ticks are counted one by one; past it the log says "more than".
SKIPPED_COUNT_CAP = 10_000

#: The macros and the five fields each stands for.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def ticks_after(cron: str, timezone_name: str, after_ms: int) -> Iterator[int]:
    """Yield the ticks of `cron` (five fields or a macro, assumed valid: `runtime.cron`
    checks schedules when they are built) in the zone `timezone_name` strictly after
    `after_ms`, in increasing order (epoch ms)."""
    tz = zone(timezone_name)
    expression = expand(cron)
    minute, hour = expression.split()[:2]
    by_wall_clock = not minute.startswith("*") and not hour.startswith("*")
    # cronsim walks the naive wall clock: calendar arithmetic, no time zone. The walk starts
    # early enough to meet a wall time that the clock repeats after `after_ms`.
    after_s = after_ms // 1000
    start = datetime.fromtimestamp(after_s + _lowest_offset_s(tz, after_s), UTC)
    pending: list[int] = []  # instants found, in seconds, not yet yielded (a heap)
    last = after_ms
    for wall in CronSim(expression, start.replace(tzinfo=None)):
        instants = _instants(wall, tz, by_wall_clock=by_wall_clock)
        # The earliest instant of a wall time never decreases as the walk goes on, so what
        # is pending before it is final. Only the second pass of a repeated hour waits here.
        while pending and instants and pending[0] < instants[0]:
            tick = heapq.heappop(pending) * 1000
            if tick > last:
                last = tick
                yield tick
        for instant in instants:
            heapq.heappush(pending, instant)
    while pending:
        tick = heapq.heappop(pending) * 1000
        if tick > last:
            last = tick
            yield tick


def _instants(wall: datetime, zone: tzinfo, *, by_wall_clock: bool) -> list[int]:
    """The instants (epoch s, ascending) at which the naive wall time `wall` ticks."""
    if zone is UTC:
        return [int(wall.replace(tzinfo=UTC).timestamp())]
    first = wall.replace(tzinfo=zone)  # fold=0: the first pass of a repeated wall time
    if _exists(first):
        second = wall.replace(tzinfo=zone, fold=1)
        if by_wall_clock or second.utcoffset() == first.utcoffset():
            return [int(first.timestamp())]
        return [int(first.timestamp()), int(second.timestamp())]
    if not by_wall_clock:
        return []  # not on the wall clock today: no tick
    # Debian's cron: a job whose time was skipped runs at the first minute after the gap.
    while not _exists(first):
        first = (first.replace(tzinfo=None) + timedelta(minutes=1)).replace(tzinfo=zone)
    return [int(first.timestamp())]


def _exists(local: datetime) -> bool:
    """Whether the wall clock of `local`'s zone ever shows it (not in a spring-forward gap)."""
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None, fold=0) == (
        local.replace(tzinfo=None, fold=0)
    )


def _lowest_offset_s(zone: tzinfo, at_s: int) -> int:
    """The lowest UTC offset of `zone` in the day after `at_s`, in seconds."""
    if zone is UTC:
        return 0
    offsets = (datetime.fromtimestamp(at_s + hour * 3600, zone).utcoffset() for hour in range(27))
    return min(int(offset.total_seconds()) for offset in offsets if offset is not None)


def expand(cron: str) -> str:
    """The five fields a cron expression stands for (a macro expanded)."""
    expression = MACROS.get(cron.strip().lower(), cron)
    return " ".join(
        ",".join(_without_degenerate_step(item) for item in field.split(","))
        for field in expression.split()
    )


#: `5-5/10`: a range of one value, with a step. Debian's cron reads it as 5; cronsim as
#: `5/10` (5, 15, 25, ...), so it is rewritten to the one value before cronsim sees it.
#: (Found by the brute-force property in tests/runtime/test_cron.py.)
_DEGENERATE_STEP = re.compile(r"(?P<first>[^-/]+)-(?P<last>[^-/]+)/0*[1-9][0-9]*")


def _without_degenerate_step(item: str) -> str:
    match = _DEGENERATE_STEP.fullmatch(item)
    if match and match["first"].upper() == match["last"].upper():
        return match["first"]
    return item


@cache
def zone(name: str) -> zoneinfo.ZoneInfo | timezone:
    """The time zone named (raises `ZoneInfoNotFoundError` or `ValueError` for no zone)."""
    # datetime.UTC, not ZoneInfo("UTC"): cronsim recognises it and skips its DST
    # handling (the ticks are the same either way, only faster).
    return UTC if name == "UTC" else zoneinfo.ZoneInfo(name)


def catch_up_window_ms(policy: str) -> int | None:
    """The window of a catch-up policy in ms: None for "all" (no limit), 0 for "latest"
    (only the latest missed tick), else the duration it spells (assumed valid: `runtime.cron`
    checks schedules when they are built)."""
    if policy == "all":
        return None
    if policy == "latest":
        return 0
    window = parse_duration_ms(policy)
    if window is None:
        raise ValueError(f"not a catch-up policy: {policy!r}")
    return window


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What a pass over a schedule's due ticks does under its catch-up policy.

    Attributes:
        run: the due ticks to claim and run, earliest first.
        skipped: how many due ticks the policy skips (counted up to `SKIPPED_COUNT_CAP`;
            `skipped_more` says there were more).
        skipped_more: there were more than `skipped` skipped ticks.
        first_skipped, last_skipped: the earliest and latest skipped tick (None: none).
    """

    run: list[int]
    skipped: int = 0
    skipped_more: bool = False
    first_skipped: int | None = None
    last_skipped: int | None = None


def catch_up(
    cron: str, timezone_name: str, policy: str, after_ms: int, now_ms: int, limit: int
) -> CatchUp:
    """The due ticks of a schedule in (after_ms, now_ms] to run now, at most `limit`, and
    those its catch-up `policy` skips.

    - "all": every due tick runs, in order (`limit` per pass).
    - "latest": only the latest due tick runs; the ones before it are skipped. One due tick
      alone (however late) always runs.
    - a window ("1h"): the due ticks at most that old run, in order; older ones are skipped
      (none runs if none is that recent).
    """
    window = catch_up_window_ms(policy)
    if window is None:
        return CatchUp(ticks_in(cron, timezone_name, after_ms, now_ms, limit))
    if window == 0:
        latest = _latest_tick(cron, timezone_name, after_ms, now_ms)
        if latest is None:
            return CatchUp([])
        return _with_skipped(cron, timezone_name, after_ms, latest - 1, [latest])
    cutoff = now_ms - window  # the oldest tick that still runs
    run = ticks_in(cron, timezone_name, max(after_ms, cutoff - 1), now_ms, limit)
    if after_ms >= cutoff - 1:
        return CatchUp(run)
    return _with_skipped(cron, timezone_name, after_ms, cutoff - 1, run)


def _with_skipped(
    cron: str, timezone_name: str, after_ms: int, until_ms: int, run: list[int]
) -> CatchUp:
    """`run`, with the ticks in (after_ms, until_ms] as skipped."""
    first, count, more = None, 0, False
    for tick in ticks_after(cron, timezone_name, after_ms):
        if tick > until_ms:
            break
        if count == SKIPPED_COUNT_CAP:
            more = True
            break
        first = tick if first is None else first
        count += 1
    if first is None:
        return CatchUp(run)
    last = _latest_tick(cron, timezone_name, after_ms, until_ms)
    return CatchUp(run, count, more, first, last)


def ticks_in(cron: str, timezone_name: str, after_ms: int, until_ms: int, limit: int) -> list[int]:
    """The ticks in (after_ms, until_ms], earliest first, at most `limit`."""
    ticks: list[int] = []
    if limit < 1:
        return ticks
    for tick in ticks_after(cron, timezone_name, after_ms):
        if tick > until_ms:
            break
        ticks.append(tick)
        if len(ticks) == limit:
            break
    return ticks


def _latest_tick(cron: str, timezone_name: str, after_ms: int, until_ms: int) -> int | None:
    """The latest tick in (after_ms, until_ms], or None: looked for in ever longer spans back
    from `until_ms`, so that a year of missed minutely ticks is not walked one by one."""
    span = 2 * 60_000
    while True:
        start = max(after_ms, until_ms - span)
        latest = None
        for tick in ticks_after(cron, timezone_name, start):
            if tick > until_ms:
                break
            latest = tick
        if latest is not None or start == after_ms:
            return latest
        span *= 8
