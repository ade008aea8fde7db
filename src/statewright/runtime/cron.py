"""Schedules: a cron expression in a time zone, and the ticks it makes.

A schedule (`"*/15 * * * *"` every 15 minutes, `"0 2 * * *"` daily at 02:00) names an action
to take at each tick. This module only computes ticks, in epoch milliseconds; the schedules
worker claims each tick exactly once by inserting (schedule name, tick time) and performs the
action. Pure: no clock (the caller passes the times), no randomness; the one read is the
time-zone database, through `zoneinfo`, which caches each zone.

Cron dialect: five fields, minute hour day-of-month month day-of-week, read by cronsim
(https://github.com/cuu508/cronsim), which follows Debian's cron: names (`MON`, `JAN`), lists,
ranges and steps; a day matches when day-of-month OR day-of-week matches, unless one of the two
starts with `*` (then both must); `@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`,
`@yearly` and `@annually` stand for their five fields. cronsim's extensions are accepted too:
`L` (last day of the month), `LW` (last weekday), `5L` (last Friday), `MON#1` (first Monday).
No seconds field: schedules here are for business processes, minute resolution is enough, and
the six-field dialects disagree on where the seconds go (first in Quartz and cronsim, last
in croniter), so a six-field expression would read differently to different people.

Daylight saving time. A tick is an instant; the expression is matched against the wall
clock of the schedule's time zone. cronsim walks the wall clock as a plain calendar (naive
datetimes, no time zone), and this module turns each matching wall time into instants by
the two rules of Debian's cron, which cronsim also documents:

- Expressions whose minute AND hour fields both start with something other than `*`
  (`"30 2 * * *"`, `"0 9 * * MON-FRI"`, `"0,30 1-3 * * *"`) run by the wall clock: when
  the clock jumps forward over their time, the tick comes at the first minute after the gap
  (02:30 on a day that springs from 02:00 to 03:00 ticks at 03:00, and `"15,45 2 * * *"`
  makes ONE tick at 03:00 that day); when the clock repeats an hour, they tick in its first
  pass only (02:30 summer time, not again at 02:30 winter time).
- Every other expression (`"*/15 * * * *"`, `"0 * * * *"`, `"0 */2 * * *"`,
  `"*/30 2 * * *"`) runs by elapsed time: it ticks at each instant whose wall-clock reading
  matches, so minutes missing from the wall clock make no tick (`"*/30 2 * * *"` skips the
  spring-forward day) and a repeated hour ticks in both passes (`"0 * * * *"` ticks at 02:00
  summer time and again at 02:00 winter time, an hour apart). Consecutive ticks of
  `"*/15 * * * *"` are always 15 minutes apart.

Either way every tick is a distinct instant and ticks strictly increase, so (name, tick
time) never repeats. `tests/runtime/test_cron.py` checks both rules against a brute-force
model in zones with one-hour, half-hour (Australia/Lord_Howe) and midnight
(America/Santiago) changes. In UTC, the default, there is no daylight saving time.

Why not cronsim's own time-zone handling (an aware start datetime)? Those tests found it
skipping ticks of elapsed-time expressions where the clock skips midnight (Santiago: no
ticks at all for `"* 1 * * SUN"` on the spring-forward Sunday) and around half-hour changes
(Lord Howe: 02:00-02:29 missing from `"* */2 * * *"`): it steps hours as 3600 s and jumps
to midnights that do not exist. Its calendar walk has no such problem.

The tick arithmetic lives in `engine/cron_ticks.py`, below the runtime, so that the engine
too can say when a schedule ticks next (`Engine.schedules`).

One more deviation from cronsim, towards Debian: a one-value range with a step (`5-5/10`)
means 5, where cronsim reads `5/10` (5, 15, 25, ...).
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from cronsim import CronSim, CronSimError

from statewright.chart.durations import parse_duration_ms, suggest_duration
from statewright.chart.faults import did_you_mean
from statewright.engine.cron_ticks import (
    CATCH_UP_DEFAULT,
    CATCH_UP_MIN_MS,
    MACROS,
    expand,
    ticks_after,
    ticks_in,
    zone,
)
from statewright.engine.listing import RUNTIME_STATUSES, STATUSES
from statewright.errors import ConfigError

__all__ = ["Schedule", "due_ticks", "next_tick", "parse_schedule"]

_KEYS = ("name", "cron", "timezone", "action", "description", "catchUp")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")
_CRON_FIX = (
    'write five fields, minute hour day-of-month month day-of-week: "*/15 * * * *" '
    '(every 15 minutes), "0 2 * * *" (daily at 02:00), "0 9 * * MON-FRI"'
)
_CATCH_UP_FIX = (
    'write "latest" (the default: after downtime only the latest missed tick runs), a window '
    'such as "1h" or "PT30M" (the missed ticks at most that old run, older ones are skipped) '
    'or "all" (every missed tick runs)'
)
_ACTION_FIX = (
    'write {"event": {"type": "ESCALATE"}, "where": {"definition": "intake"}} or '
    '{"start": "report", "input": {...}}'
)
#: The keys each kind of action may have, and the filter keys of an `event` action.
_ACTION_KEYS = {"event": ("event", "where", "tenant"), "start": ("start", "input", "tenant")}
_WHERE_VALUES: dict[str, tuple[str, ...] | None] = {
    "definition": None,
    "status": STATUSES,
    "runtimeStatus": RUNTIME_STATUSES,
}
#: Where cronsim gives up looking for the next match, from any start.
_HORIZON_YEARS = 50
_PROBE_FROM = datetime(2000, 1, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """A named cron schedule and the action to take at each tick.

    Build it with `parse_schedule` from configuration; constructing it directly validates the
    same way.

    Attributes:
        name: unique among schedules; the worker's claim key is (name, tick time).
        cron: the cron expression, five fields or a macro such as "@daily".
        timezone: an IANA time-zone name ("Europe/Riga"), whose wall clock the cron reads.
        action: what to do at a tick, as JSON data (read-only), one of
            `{"event": {"type": ...} | "TYPE", "where": {"definition": id, "status"?: ...,
            "runtimeStatus"?: ...}, "tenant"?: str}` (send the event to the instances that
            match) or `{"start": definition id, "input"?: JSON, "tenant"?: str}`.
        description: free text for people.
        catch_up: which missed ticks run after downtime (configuration key `catchUp`):
            "latest" (the default; only the latest missed tick runs, the others are
            skipped), a window such as "1h" (the missed ticks at most that old run, older
            ones are skipped) or "all" (every missed tick runs, in order).

    Raises:
        ConfigError: on construction, listing every fault with its fix.
    """

    name: str
    cron: str
    timezone: str = "UTC"
    action: Mapping[str, object] = field(hash=False)
    description: str = ""
    catch_up: str = CATCH_UP_DEFAULT

    def __post_init__(self) -> None:
        faults = _schedule_faults(self.name, self.cron, self.timezone, self.action)
        faults += _catch_up_faults(self.catch_up)
        if faults:
            raise _error(self.name, faults)
        frozen = MappingProxyType(json.loads(json.dumps(dict(self.action))))
        object.__setattr__(self, "action", frozen)

    def to_json(self) -> dict[str, object]:
        """Return the schedule as configuration; `parse_schedule` reads it back equal."""
        data: dict[str, object] = {
            "name": self.name,
            "cron": self.cron,
            "timezone": self.timezone,
            "action": json.loads(json.dumps(dict(self.action))),
        }
        if self.description:
            data["description"] = self.description
        if self.catch_up != CATCH_UP_DEFAULT:
            data["catchUp"] = self.catch_up
        return data


def parse_schedule(data: Mapping[str, object]) -> Schedule:
    """Read and validate a schedule from configuration (a JSON or YAML object).

    Args:
        data: keys name, cron, action, and optionally timezone (default "UTC"),
            description and catchUp (default "latest"; see `Schedule.catch_up`).

    Returns:
        The schedule.

    Raises:
        ConfigError: naming the schedule and each faulty field with its fix, all at once.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"a schedule must be an object, not {type(data).__name__}; write "
            '{"name": "nightly", "cron": "0 2 * * *", "action": {...}}'
        )
    name = data.get("name")
    label = name if isinstance(name, str) and name else "(unnamed)"
    faults = [
        f"{key}: unknown schedule key; {did_you_mean(str(key), _KEYS) or 'remove it'}"
        for key in data
        if key not in _KEYS
    ]
    faults += [f"{key}: missing; {fix}" for key, fix in _REQUIRED.items() if key not in data]
    for key in ("name", "cron", "timezone", "description"):
        if key in data and not isinstance(data[key], str):
            faults.append(f"{key}: must be a string, not {type(data[key]).__name__}")
    catch_up = data.get("catchUp", CATCH_UP_DEFAULT)
    if not isinstance(catch_up, str):
        faults.append(f"catchUp: must be a string, not {type(catch_up).__name__}; {_CATCH_UP_FIX}")
    action = data.get("action")
    if "action" in data and not isinstance(action, Mapping):
        faults.append(f"action: must be an object; {_ACTION_FIX}")
    if faults or not isinstance(action, Mapping):
        raise _error(label, faults)
    return Schedule(
        name=str(data["name"]),
        cron=str(data["cron"]),
        timezone=str(data.get("timezone", "UTC")),
        action=action,
        description=str(data.get("description", "")),
        catch_up=str(catch_up),
    )


_REQUIRED = {
    "name": 'add "name": "nightly-report"',
    "cron": 'add "cron": "0 2 * * *" (daily at 02:00)',
    "action": f"add it: {_ACTION_FIX}",
}


def next_tick(schedule: Schedule, after_ms: int) -> int:
    """Return the first tick strictly after `after_ms`, in epoch milliseconds.

    Raises:
        ConfigError: no tick in the 50 years after `after_ms` (cronsim's horizon); a schedule
            that never ticks at all is refused when it is built.
    """
    for tick in ticks_after(schedule.cron, schedule.timezone, after_ms):
        return tick
    raise ConfigError(
        f'schedule "{schedule.name}": cron {schedule.cron!r} has no tick in the '
        f"{_HORIZON_YEARS} years after {after_ms} ms; check the expression"
    )


def due_ticks(schedule: Schedule, after_ms: int, until_ms: int, limit: int) -> list[int]:
    """Return the ticks in (after_ms, until_ms], earliest first, at most `limit` of them.

    A worker passes the last tick it claimed (or the schedule's creation time) and now; after
    downtime it gets the missed ticks too, `limit` at a time, and decides whether to run them.

    Args:
        schedule: the schedule.
        after_ms: exclusive lower bound, epoch ms.
        until_ms: inclusive upper bound, epoch ms.
        limit: the most ticks to return (>= 1).

    Returns:
        Strictly increasing tick times in epoch ms, each a whole minute.

    Raises:
        ValueError: `limit` < 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit}")
    return ticks_in(schedule.cron, schedule.timezone, after_ms, until_ms, limit)


def _schedule_faults(name: str, cron: str, zone: str, action: Mapping[str, object]) -> list[str]:
    faults = []
    if not _NAME.fullmatch(name):
        faults.append(
            f"name: {name!r} is not a schedule name; use letters, digits and _ . : - "
            '(up to 200, starting with a letter or digit), e.g. "stale-reviews"'
        )
    zone_fault = _zone_fault(zone)
    if zone_fault:
        faults.append(zone_fault)
    faults += _cron_faults(cron)
    if isinstance(action, Mapping):
        faults += _action_faults(action)
    else:
        faults.append(f"action: must be an object; {_ACTION_FIX}")
    return faults


def _catch_up_faults(policy: object) -> list[str]:
    if not isinstance(policy, str):
        return [f"catchUp: must be a string, not {type(policy).__name__}; {_CATCH_UP_FIX}"]
    if policy in ("latest", "all"):
        return []
    window = parse_duration_ms(policy)
    if window is None:
        meant = suggest_duration(policy)
        hint = f'did you mean "{meant}"? ' if meant else did_you_mean(policy, ("latest", "all"))
        hint = f"{hint.rstrip()} Else " if hint else ""
        return [f"catchUp: {policy!r} is not a catch-up policy; {hint}{_CATCH_UP_FIX}"]
    if window < CATCH_UP_MIN_MS:
        return [
            f"catchUp: {policy!r} is shorter than a minute, which would skip ticks a busy "
            'worker only reaches late; write a window of a minute or more ("5m", "1h"), '
            '"latest" or "all"'
        ]
    return []


def _zone_fault(name: str) -> str:
    try:
        zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # Listing the zones reads the whole database; only on this error path.
        zones = zoneinfo.available_timezones()
        same = [zone for zone in zones if zone.lower() == name.lower()]
        hint = f'did you mean "{same[0]}"?' if same else did_you_mean(name, zones)
        return f"timezone: unknown time zone {name!r}; " + (
            hint or 'write an IANA name such as "UTC", "Europe/Riga" or "America/New_York"'
        )
    return ""


def _cron_faults(cron: str) -> list[str]:
    expression = expand(cron)
    fields = expression.split()
    if cron.strip().startswith("@") and cron.strip().lower() not in MACROS:
        known = ", ".join(MACROS)
        return [f"cron: unknown macro {cron.strip()!r}; use {known} or {_CRON_FIX}"]
    if len(fields) != 5:
        extra = "; seconds are not supported" if len(fields) == 6 else ""
        return [f"cron: {cron!r} has {len(fields)} fields, not 5{extra}; {_CRON_FIX}"]
    try:
        probe = CronSim(expression, _PROBE_FROM)
    except CronSimError as error:  # "Bad minute", "Bad day-of-week", ...
        return [f"cron: {cron!r} has a {str(error).lower()} field; {_CRON_FIX}"]
    if next(probe, None) is None:
        return [f"cron: {cron!r} never matches a date (day-of-month, month and day-of-week)"]
    return []


def _action_faults(action: Mapping[str, object]) -> list[str]:
    kinds = [kind for kind in _ACTION_KEYS if kind in action]
    if len(kinds) != 1:
        return [f"action: needs exactly one of event, start; {_ACTION_FIX}"]
    kind = kinds[0]
    faults = [
        f"action.{key}: unknown key for a {kind} action; "
        + (
            did_you_mean(str(key), _ACTION_KEYS[kind])
            or f"allowed: {', '.join(_ACTION_KEYS[kind])}"
        )
        for key in action
        if key not in _ACTION_KEYS[kind]
    ]
    if "tenant" in action and not (isinstance(action["tenant"], str) and action["tenant"]):
        faults.append('action.tenant: must be a tenant id, e.g. "default"')
    if kind == "start" and not (isinstance(action["start"], str) and action["start"]):
        faults.append('action.start: must be a definition id, e.g. "nightly-report"')
    if kind == "event":
        faults += _event_faults(action["event"]) + _where_faults(action.get("where"))
    try:
        json.dumps(dict(action), allow_nan=False)
    except (TypeError, ValueError) as error:
        faults.append(f"action: is not JSON data ({error}); use objects, lists, strings, numbers")
    return faults


def _event_faults(event: object) -> list[str]:
    if isinstance(event, str) and event:
        return []
    if isinstance(event, Mapping) and isinstance(event.get("type"), str) and event["type"]:
        return []
    return ['action.event: must be an event type or an object with one: {"type": "ESCALATE"}']


def _where_faults(where: object) -> list[str]:
    if not isinstance(where, Mapping) or not isinstance(where.get("definition"), str):
        # Broadcasting to every instance of every definition is never what was meant.
        return ['action.where: needs the definition to send to: {"definition": "intake"}']
    faults = []
    for key, value in where.items():
        if key not in _WHERE_VALUES:
            hint = did_you_mean(str(key), _WHERE_VALUES) or f"allowed: {', '.join(_WHERE_VALUES)}"
            faults.append(f"action.where.{key}: unknown filter; {hint}")
            continue
        allowed = _WHERE_VALUES[key]
        if not isinstance(value, str) or not value or (allowed and value not in allowed):
            fix = f"one of {', '.join(allowed)}" if allowed else "a non-empty string"
            faults.append(f"action.where.{key}: {value!r} is not {fix}")
    return faults


def _error(name: str, faults: list[str]) -> ConfigError:
    if len(faults) == 1:
        return ConfigError(f'schedule "{name}": {faults[0]}')
    lines = "\n".join(f"  {fault}" for fault in faults)
    return ConfigError(f'schedule "{name}" has {len(faults)} faults:\n{lines}')
