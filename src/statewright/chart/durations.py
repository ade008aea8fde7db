"""Durations for `after` keys and delayed `raise`: milliseconds, human text or ISO-8601.

XState reads an `after` key as a number of milliseconds or the name of a delay. statewright
also accepts durations people write (`"48h"`, `"1d 12h"`, `"1.5s"`, `"250ms"`) and ISO-8601
(`"PT48H"`, `"P2DT3H"`), an optional extension: a plain XState config never uses them.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_DELAY_MS",
    "looks_like_duration",
    "parse_duration_ms",
    "parse_milliseconds",
    "suggest_duration",
]

#: The longest delay a timer or a retry may have: 1000 years (of 365.25 days). Its due time,
#: now plus the delay, must fit the stores' 64-bit integers and a calendar date people read.
MAX_DELAY_MS = 1000 * 36_525 * 86_400_000 // 100

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_HUMAN = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*")
_ISO = re.compile(
    r"P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


_JS_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_JS_HEX = re.compile(r"\s*0[xX][0-9a-fA-F]+\s*")


def parse_milliseconds(text: str) -> float | None:
    """Read `text` as JavaScript's `+text` reads an `after` key (`"1000"`, `"2.5"`, `"0x10"`),
    or None when JavaScript would see no number (and XState a delay name)."""
    if _JS_HEX.fullmatch(text):
        return float(int(text.strip(), 16))
    if not _JS_NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_duration_ms(text: str) -> int | None:
    """Return the duration `text` spells in milliseconds, or None if it is not a duration.

    Accepts `"48h"`, `"1d 12h"`, `"1.5s"`, `"250ms"`, `"2w"` and ISO-8601 `"PT48H"`,
    `"P2DT3H30M"`. Months and years are refused: their length in milliseconds is not fixed.
    """
    stripped = text.strip()
    if not stripped:
        return None
    iso = _ISO.fullmatch(stripped.upper())
    if iso and stripped.upper() not in ("P", "PT") and not stripped.upper().endswith("T"):
        parts = iso.groupdict()
        total = sum(float(parts[unit] or 0) * _UNIT_MS[unit.lower()] for unit in "wdhs")
        total += float(parts["m"] or 0) * _UNIT_MS["m"]
        return math.ceil(total)
    position, total_ms = 0, 0.0
    while position < len(stripped):
        match = _HUMAN.match(stripped, position)
        if not match:
            return None
        total_ms += float(match.group(1)) * _UNIT_MS[match.group(2)]
        position = match.end()
    return math.ceil(total_ms)


#: Unit words people write, by the unit statewright reads.
_UNIT_WORDS = {
    "ms": ("ms", "msec", "msecs", "millisecond", "milliseconds"),
    "s": ("s", "sec", "secs", "second", "seconds"),
    "m": ("m", "min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "d": ("d", "day", "days"),
    "w": ("w", "wk", "wks", "week", "weeks"),
}
_UNIT_OF = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
_WORDY = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)")
_FILLER = re.compile(r"[\s,]*(?:and)?[\s,]*")


def looks_like_duration(text: str) -> bool:
    """True if `text` starts with a number: meant as a duration, not as a delay's name."""
    return bool(re.match(r"\s*[+-]?\.?\d", text))


def suggest_duration(text: str) -> str | None:
    """The duration statewright reads that `text` most likely means (`"1 minute"` ->
    `"1m"`, `"2 hours and 30 mins"` -> `"2h 30m"`), or None."""
    parts: list[str] = []
    position = 0
    stripped = text.strip()
    while position < len(stripped):
        filler = _FILLER.match(stripped, position)
        if filler and filler.end() > position:
            position = filler.end()
            continue
        match = _WORDY.match(stripped, position)
        if match is None:
            return None
        unit = _UNIT_OF.get(match.group(2).lower())
        if unit is None:
            return None
        parts.append(match.group(1) + unit)
        position = match.end()
    suggestion = " ".join(parts)
    return suggestion if parts and parse_duration_ms(suggestion) is not None else None
