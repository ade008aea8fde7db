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
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache

from cronsim import CronSim

__all__ = ["MACROS", "expand", "ticks_after", "zone"]

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
