"""Delays of `after` transitions and delayed `raise`: numbers, durations or named delays."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from statewright.chart.durations import (
    MAX_DELAY_MS,
    looks_like_duration,
    parse_duration_ms,
    parse_milliseconds,
    suggest_duration,
)
from statewright.chart.faults import Faults
from statewright.chart.implementations import Implementations

__all__ = ["DelayFn", "compile_delay", "delay_key"]

#: `(context, event) -> milliseconds`
DelayFn = Callable[[Mapping[str, object], Mapping[str, object]], int]

_FIX = 'use milliseconds ("1000"), a duration ("48h", "PT48H") or a provided delay name'


def delay_key(raw: str) -> str:
    """Spell an `after` key as XState spells it in `xstate.after.<key>.<state id>`.

    XState turns numeric keys into numbers (`"1000"` -> `1000`, `"1e3"` -> `1000`) and keeps
    every other key as written.
    """
    number = parse_milliseconds(raw)
    if number is None:
        return raw
    return str(int(number)) if number.is_integer() else repr(number)


def compile_delay(raw: object, *, path: str, faults: Faults, impls: Implementations) -> DelayFn:
    """Compile a delay into `fn(context, event) -> ms`; a named delay wins over a duration."""
    if isinstance(raw, bool):
        faults.add(path, "a delay cannot be true or false", _FIX)
        return _zero
    if isinstance(raw, (int, float)):
        return _constant(raw, path, faults)
    if not isinstance(raw, str):
        faults.add(path, f"a delay must be a number or a string, not {type(raw).__name__}", _FIX)
        return _zero
    number = parse_milliseconds(raw)
    if number is not None:
        return _constant(number, path, faults)
    if raw in impls.delays:
        return _named(raw, impls.delays[raw], path, faults)
    duration = parse_duration_ms(raw)
    if duration is not None:
        return _constant(duration, path, faults)
    if looks_like_duration(raw):
        suggestion = suggest_duration(raw)
        faults.add_misspelt_duration(
            path,
            raw,
            (f'did you mean "{suggestion}"? ' if suggestion else "")
            + 'durations are written like "250ms", "1.5s", "1m", "48h", "1d 12h" or '
            f'"PT48H"; or provide a delay with that name: machine.provide(delays={{{raw!r}: ...}})',
        )
        return _zero
    faults.add_missing(path, "delays", raw, impls.delays)
    return _zero


def _constant(value: float, path: str, faults: Faults) -> DelayFn:
    if value < 0:
        faults.add(path, f"a delay cannot be negative ({value:g})", _FIX)
        return _zero
    if not value <= MAX_DELAY_MS:
        faults.add(path, f"a delay cannot be longer than 1000 years ({value:g} ms)", _FIX)
        return _zero
    milliseconds = math.ceil(value)
    return lambda context, event: milliseconds


def _named(name: str, impl: object, path: str, faults: Faults) -> DelayFn:
    if isinstance(impl, bool) or not (callable(impl) or isinstance(impl, (int, float))):
        faults.add(path, f"delay {name!r} must be milliseconds or a function", _FIX)
        return _zero
    if isinstance(impl, (int, float)):
        return _constant(impl, path, faults)
    fn = impl

    def evaluate(context: Mapping[str, object], event: Mapping[str, object]) -> int:
        value = fn(context, event)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"delay {name!r} returned {value!r}; return milliseconds >= 0")
        if not value <= MAX_DELAY_MS:  # NaN too
            raise ValueError(
                f"delay {name!r} returned {value!r}; return milliseconds up to {MAX_DELAY_MS} "
                "(1000 years)"
            )
        return math.ceil(value)

    return evaluate


def _zero(context: object, event: object) -> int:
    return 0
