"""Validation of delays: `after` keys, delayed `raise`, and named delays."""

from __future__ import annotations

import pytest

from statewright import DefinitionError, Fault, Machine, ScheduleTimer
from statewright.chart.durations import MAX_DELAY_MS


def machine(**states: object) -> dict[str, object]:
    return {"id": "m", "initial": next(iter(states)), "states": states}


def only_fault(config: object, **impls: object) -> Fault:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config, **impls)  # type: ignore[arg-type]
    assert len(info.value.faults) == 1, str(info.value)
    fault = info.value.faults[0]
    assert fault.fix, fault
    assert f"{fault.path or '(machine)'}: {fault.message}; {fault.fix}" in str(info.value)
    return fault


def test_negative_after_key() -> None:
    fault = only_fault(machine(a={"after": {"-5": "b"}}, b={}))
    assert fault.path == "states.a.after.-5"
    assert fault.message == "a delay cannot be negative (-5)"
    assert 'milliseconds ("1000")' in fault.fix


def test_empty_after_key() -> None:
    fault = only_fault(machine(a={"after": {" ": "b"}}, b={}))
    assert fault.path == 'states.a.after[" "]'
    assert fault.message == 'an empty "after" key is not a delay'
    assert "a duration" in fault.fix


def test_after_must_be_an_object() -> None:
    fault = only_fault(machine(a={"after": [1000, "b"]}, b={}))
    assert fault.path == "states.a.after"
    assert fault.message == '"after" must map delays to transitions'
    assert fault.fix == 'write "after": {"48h": "escalated"}'


@pytest.mark.parametrize(
    ("key", "milliseconds"),
    [("1000", 1000), ("1e3", 1000), ("48h", 172_800_000), ("PT1M", 60_000), ("1.5s", 1500)],
)
def test_numbers_and_durations_are_accepted(key: str, milliseconds: int) -> None:
    effects = (
        Machine.from_config(machine(a={"after": {key: "b"}}, b={})).initial_transition().effects
    )
    (timer,) = [e for e in effects if isinstance(e, ScheduleTimer)]
    assert timer.delay_ms == milliseconds


@pytest.mark.parametrize(
    ("delay", "message"),
    [
        (-1, "a delay cannot be negative (-1)"),
        (True, "a delay cannot be true or false"),
        ([5], "a delay must be a number or a string, not list"),
    ],
)
def test_bad_delay_of_a_delayed_raise(delay: object, message: str) -> None:
    raise_ = {"type": "raise", "params": {"event": "PING", "delay": delay}}
    fault = only_fault(machine(a={"entry": raise_, "on": {"PING": {}}}))
    assert fault.path == "states.a.entry.params.delay"
    assert fault.message == message
    assert "a provided delay name" in fault.fix


def test_named_delay_provided_as_a_negative_number() -> None:
    fault = only_fault(machine(a={"after": {"slow": "b"}}, b={}), delays={"slow": -10})
    assert fault.path == "states.a.after.slow"
    assert fault.message == "a delay cannot be negative (-10)"


def test_unknown_named_delay_is_a_missing_implementation() -> None:
    config = machine(a={"after": {"slwo": "b"}}, b={})
    running = Machine.from_config(config, delays={"slow": 500})
    (missing,) = running.missing_implementations
    assert missing.path == "states.a.after.slwo"
    assert missing.message == "delay 'slwo' is not provided"
    assert missing.fix.startswith('did you mean "slow"?')
    assert "machine.provide(delays={'slwo': ...})" in missing.fix
    with pytest.raises(DefinitionError) as info:
        running.initial_transition()
    assert "states.a.after.slwo: delay 'slwo' is not provided" in str(info.value)


def test_a_misspelt_duration_is_reported_as_a_delay_to_provide() -> None:
    running = Machine.from_config(machine(a={"after": {"5 hours": "b"}}, b={}))
    (missing,) = running.missing_implementations
    assert missing.path == 'states.a.after["5 hours"]'
    assert "machine.provide(delays=" in missing.fix
    assert running.misspelt_durations == (missing,)
    assert running.unrunnable_faults == (missing,)


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("1 minute", "1m"),
        ("90 Seconds", "90s"),
        ("2 hours and 30 mins", "2h 30m"),
        ("1.5 days", "1.5d"),
        ("3 weeks", "3w"),
        ("250 msec", "250ms"),
    ],
)
def test_a_misspelt_duration_says_what_was_meant(key: str, meant: str) -> None:
    running = Machine.from_config(machine(a={"after": {key: "b"}}, b={}))
    (fault,) = running.misspelt_durations
    assert (
        fault.message == f"delay {key!r} is not provided, and is not a duration statewright reads"
    )
    assert fault.fix.startswith(f'did you mean "{meant}"?')
    with pytest.raises(DefinitionError, match="did you mean"):
        running.initial_transition()


@pytest.mark.parametrize("key", ["1 fortnight", "5 hours ago", "10 x"])
def test_a_duration_nobody_can_read_still_says_how_durations_are_written(key: str) -> None:
    (fault,) = Machine.from_config(machine(a={"after": {key: "b"}}, b={})).misspelt_durations
    assert "did you mean" not in fault.fix
    assert '"250ms", "1.5s", "1m", "48h"' in fault.fix


def test_a_delay_named_like_a_duration_runs_when_provided() -> None:
    running = Machine.from_config(
        machine(a={"after": {"1 minute": "b"}}, b={}), delays={"1 minute": 60_000}
    )
    assert running.misspelt_durations == () and running.missing_implementations == ()
    (timer,) = [e for e in running.initial_transition().effects if isinstance(e, ScheduleTimer)]
    assert timer.delay_ms == 60_000


def test_a_named_delay_is_no_misspelt_duration() -> None:
    running = Machine.from_config(machine(a={"after": {"slowly": "b"}}, b={}))
    assert running.misspelt_durations == ()
    assert [f.message for f in running.unrunnable_faults] == ["delay 'slowly' is not provided"]


@pytest.mark.parametrize(
    ("key", "shown"),
    [("99999999999999999999999", "1e+23"), ("1000000000d", "8.64e+16"), ("52180w", "3.15585e+13")],
)
def test_an_after_key_past_1000_years_is_refused(key: str, shown: str) -> None:
    fault = only_fault(machine(a={"after": {key: "b"}}, b={}))
    assert fault.path == f"states.a.after.{key}"
    assert fault.message == f"a delay cannot be longer than 1000 years ({shown} ms)"


def test_a_delayed_raise_past_1000_years_is_refused() -> None:
    raise_ = {"type": "raise", "params": {"event": {"type": "E"}, "delay": 1e300}}
    fault = only_fault(machine(a={"entry": [raise_]}))
    assert fault.path == "states.a.entry[0].params.delay"
    assert fault.message == "a delay cannot be longer than 1000 years (1e+300 ms)"


def test_an_after_key_of_1000_years_is_kept() -> None:
    running = Machine.from_config(machine(a={"after": {str(MAX_DELAY_MS): "b"}}, b={}))
    (timer,) = [e for e in running.initial_transition().effects if isinstance(e, ScheduleTimer)]
    assert timer.delay_ms == MAX_DELAY_MS
