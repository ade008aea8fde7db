"""Validation of the statewright retry policy on an invoke: `"statewright": {"retry": {...}}`."""

from __future__ import annotations

import pytest

from statewright import DefinitionError, Fault, Machine
from statewright.chart.durations import MAX_DELAY_MS

AT = "states.a.invoke.statewright.retry"


def with_retry(retry: object) -> dict[str, object]:
    invoke = {"src": "step", "statewright": {"retry": retry}}
    return {"id": "m", "initial": "a", "states": {"a": {"invoke": invoke}}}


def only_fault(config: object) -> Fault:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(config, actors={"step": print})  # type: ignore[arg-type]
    assert len(info.value.faults) == 1, str(info.value)
    fault = info.value.faults[0]
    assert fault.fix, fault
    assert str(fault) in str(info.value)
    return fault


def test_a_valid_policy_is_kept_with_durations_in_milliseconds() -> None:
    retry = {
        "attempts": 5,
        "backoff": "exponential",
        "delay": "1s",
        "maxDelay": "PT1M",
        "multiplier": 2,
        "jitter": True,
        "timeout": 30000,
        "nonRetryable": ["ValueError"],
    }
    machine = Machine.from_config(with_retry(retry), actors={"step": print})
    (invoke,) = machine.get_state("m.a").invoke
    assert invoke.retry == {**retry, "delay": 1000, "maxDelay": 60000, "timeout": 30000}


def test_the_policy_must_be_an_object() -> None:
    fault = only_fault(with_retry(3))
    assert fault.path == AT
    assert fault.message == "a retry policy must be an object"
    assert fault.fix.startswith('write "retry": {"attempts": 3')


def test_misspelt_option_suggests_the_option() -> None:
    fault = only_fault(with_retry({"attempt": 3}))
    assert fault.path == f"{AT}.attempt"
    assert fault.message == "unknown retry option 'attempt'"
    assert fault.fix == 'did you mean "attempts"?'


def test_unknown_option_without_a_near_miss_shows_a_full_policy() -> None:
    fault = only_fault(with_retry({"onFailure": "x"}))
    assert fault.fix.startswith('write "retry": {')


@pytest.mark.parametrize(
    ("option", "value", "message", "fix"),
    [
        ("attempts", 0, "attempts must be a whole number >= 1", "write 3"),
        ("attempts", 2.5, "attempts must be a whole number >= 1", "write 3"),
        ("attempts", True, "attempts must be a whole number >= 1", "write 3"),
        ("backoff", "linear", "unknown backoff 'linear'", 'write "exponential" or "fixed"'),
        ("delay", "soon", "delay must be a duration", 'write "30s", "5m" or 1500 (ms)'),
        ("maxDelay", -1, "maxDelay must be a duration", 'write "30s", "5m" or 1500 (ms)'),
        ("timeout", True, "timeout must be a duration", 'write "30s", "5m" or 1500 (ms)'),
        ("multiplier", 0.5, "multiplier must be a number >= 1", "write 2"),
        ("multiplier", True, "multiplier must be a number >= 1", "write 2"),
        ("jitter", "yes", "jitter must be true or false", "write true"),
        (
            "nonRetryable",
            "ValueError",
            "nonRetryable must be a list of error type names",
            'write ["ValueError", "PaymentDeclined"]',
        ),
    ],
)
def test_bad_option_values(option: str, value: object, message: str, fix: str) -> None:
    fault = only_fault(with_retry({option: value}))
    assert (fault.path, fault.message, fault.fix) == (f"{AT}.{option}", message, fix)


def test_every_bad_option_is_reported() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(
            with_retry({"attempts": 0, "backoff": "x", "jitter": 1}), actors={"step": print}
        )
    assert [f.path for f in info.value.faults] == [
        f"{AT}.attempts",
        f"{AT}.backoff",
        f"{AT}.jitter",
    ]


def test_retry_only_on_an_invoke() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"GO": {"target": "a", "statewright": {"retry": {}}}}}},
    }
    fault = only_fault(config)
    assert fault.path == "states.a.on.GO.statewright.retry"
    assert fault.message == "unknown statewright option 'retry'"
    assert fault.fix == "the options here are roles"


def test_misspelt_retry_on_an_invoke() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"invoke": {"src": "step", "statewright": {"retyr": {}}}}},
    }
    fault = only_fault(config)
    assert fault.path == "states.a.invoke.statewright.retyr"
    assert fault.fix == 'did you mean "retry"?'


@pytest.mark.parametrize("timeout", [0, "0ms", "0s"])
def test_a_timeout_of_zero_is_refused_with_its_path(timeout: object) -> None:
    fault = only_fault(with_retry({"timeout": timeout}))
    assert fault.path == f"{AT}.timeout"
    assert fault.message == "timeout must be more than 0 ms"
    assert fault.fix == "remove it for no limit"


@pytest.mark.parametrize("key", ["delay", "maxDelay", "timeout"])
@pytest.mark.parametrize("value", [1e300, "1000000d", "2000000w", 10**30])
def test_a_duration_past_1000_years_is_refused_with_its_path(key: str, value: object) -> None:
    fault = only_fault(with_retry({key: value}))
    assert fault.path == f"{AT}.{key}"
    assert fault.message == f"{key} cannot be longer than 1000 years"
    assert fault.fix.startswith('write "30s"')


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_duration_that_is_no_finite_number_is_refused_with_its_path(value: float) -> None:
    fault = only_fault(with_retry({"delay": value}))
    assert fault.path == f"{AT}.delay"
    assert fault.message == "delay must be a duration"


def test_a_duration_of_1000_years_is_kept() -> None:
    machine = Machine.from_config(with_retry({"maxDelay": MAX_DELAY_MS}), actors={"step": print})
    (invoke,) = machine.get_state("m.a").invoke
    assert invoke.retry == {"maxDelay": MAX_DELAY_MS}
