"""Retry policies: defaults, the stored form, delays with and without jitter, decisions."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statewright.chart.faults import Faults
from statewright.chart.schema import check_retry
from statewright.errors import ConfigError
from statewright.runtime.retry import (
    OUTBOX_DEFAULT,
    STEP_DEFAULT,
    STEP_TIMEOUT,
    WORKER_LOST,
    RetryDecision,
    RetryPolicy,
    decide,
    next_delay_ms,
    should_retry,
    stable_rand,
)

NO_JITTER = RetryPolicy(jitter=False)
#: The largest `rand`: with equal jitter it draws the whole base delay.
TOP = math.nextafter(1.0, 0.0)

policies = st.builds(
    RetryPolicy,
    attempts=st.integers(1, 20),
    backoff=st.sampled_from(["exponential", "fixed"]),
    delay_ms=st.integers(0, 10**7),
    max_delay_ms=st.integers(0, 10**8),
    multiplier=st.floats(1.0, 10.0),
    jitter=st.booleans(),
    timeout_ms=st.none() | st.integers(1, 10**7),
    non_retryable=st.frozensets(st.sampled_from(["ValueError", "a.b.Declined", "StepTimeout"])),
)
attempts = st.integers(1, 10**6)
rands = st.floats(0.0, 1.0, exclude_max=True)


# -- the policy and its stored form ----------------------------------------------------------


def test_defaults_are_three_attempts_exponential_from_one_second_to_one_minute() -> None:
    assert STEP_DEFAULT == RetryPolicy.from_json(None) == RetryPolicy()
    assert STEP_DEFAULT.to_json() == {
        "attempts": 3,
        "backoff": "exponential",
        "delay": 1_000,
        "maxDelay": 60_000,
        "multiplier": 2.0,
        "jitter": True,
        "timeout": None,
        "nonRetryable": [],
    }


def test_outbox_default_tries_ten_times_up_to_an_hour_with_a_timeout() -> None:
    assert (OUTBOX_DEFAULT.attempts, OUTBOX_DEFAULT.max_delay_ms) == (10, 3_600_000)
    assert OUTBOX_DEFAULT.timeout_ms == 30_000
    waits = [next_delay_ms(OUTBOX_DEFAULT, n, TOP) for n in range(1, 10)]
    assert waits == [10_000 * 2**k for k in range(9)]
    assert sum(waits) == 5_110_000  # about 85 minutes before the dead letter


def test_reads_what_the_definition_loader_stores() -> None:
    faults = Faults()
    declared = {
        "attempts": 5,
        "backoff": "fixed",
        "delay": "2s",
        "maxDelay": "1m",
        "multiplier": 3,
        "jitter": False,
        "timeout": "30s",
        "nonRetryable": ["PaymentDeclined"],
    }
    checked = check_retry(declared, "states.pay.invoke.statewright.retry", faults)
    assert checked is not None and not faults.structural
    stored = json.loads(json.dumps(dict(checked), sort_keys=True))  # as engine.writes stores it
    assert RetryPolicy.from_json(stored) == RetryPolicy(
        attempts=5,
        backoff="fixed",
        delay_ms=2_000,
        max_delay_ms=60_000,
        multiplier=3.0,
        jitter=False,
        timeout_ms=30_000,
        non_retryable=frozenset({"PaymentDeclined"}),
    )


def test_absent_keys_keep_their_defaults() -> None:
    assert RetryPolicy.from_json({"attempts": 5}) == RetryPolicy(attempts=5)


def test_a_long_delay_without_max_delay_is_not_cut_to_the_default_cap() -> None:
    policy = RetryPolicy.from_json({"delay": 300_000})
    assert policy.max_delay_ms == 300_000
    assert next_delay_ms(policy, 1, TOP) == 300_000


def test_an_explicit_max_delay_caps_even_the_first_delay() -> None:
    policy = RetryPolicy.from_json({"delay": 300_000, "maxDelay": 60_000, "jitter": False})
    assert next_delay_ms(policy, 1, 0.0) == 60_000


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({"attempts": 0}, "retry.attempts: 0 is not a whole number >= 1"),
        ({"attempts": True}, "retry.attempts: True is not a whole number"),
        ({"backoff": "linear"}, "retry.backoff: unknown 'linear'"),
        ({"delay": "1s"}, "retry.delay: '1s' is not a duration in ms"),
        ({"maxDelay": -1}, "retry.maxDelay: -1 is not a duration in ms"),
        ({"multiplier": 0.5}, "retry.multiplier: 0.5 is not a number >= 1"),
        ({"multiplier": math.nan}, "retry.multiplier: nan is not a number >= 1"),
        ({"jitter": "yes"}, "retry.jitter: 'yes' is not true or false"),
        ({"timeout": 0}, "retry.timeout: must be more than 0 ms; remove it for no limit"),
        ({"nonRetryable": "ValueError"}, "retry.nonRetryable: 'ValueError' is not a list"),
        ({"retryOn": ["X"]}, "retry: unknown retry option 'retryOn'; this statewright knows"),
    ],
)
def test_a_bad_stored_policy_is_refused_naming_the_key(
    stored: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError, match="^" + expected.replace("(", r"\(")):
        RetryPolicy.from_json(stored)


def test_the_error_names_where_the_policy_came_from() -> None:
    with pytest.raises(ConfigError, match=r"^order/charge\.attempts: "):
        RetryPolicy.from_json({"attempts": -2}, where="order/charge")


def test_a_policy_built_in_python_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="attempts must be >= 1; delay_ms must be >= 0"):
        RetryPolicy(attempts=0, delay_ms=-5)


@given(policies)
def test_the_json_round_trip_is_exact(policy: RetryPolicy) -> None:
    assert RetryPolicy.from_json(json.loads(json.dumps(policy.to_json()))) == policy


# -- delays ------------------------------------------------------------------------------------


def test_exponential_delays_double_up_to_the_cap() -> None:
    waits = [next_delay_ms(NO_JITTER, n, 0.5) for n in range(1, 10)]
    assert waits == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]


def test_fixed_delays_stay_put() -> None:
    policy = RetryPolicy(backoff="fixed", delay_ms=5_000, jitter=False)
    assert {next_delay_ms(policy, n, 0.3) for n in range(1, 50)} == {5_000}


def test_a_fractional_multiplier_gives_whole_milliseconds() -> None:
    policy = RetryPolicy(delay_ms=1_000, multiplier=1.5, jitter=False)
    assert [next_delay_ms(policy, n, 0.0) for n in (1, 2, 3, 4)] == [1_000, 1_500, 2_250, 3_375]


def test_equal_jitter_keeps_at_least_half_of_the_wait() -> None:
    policy = RetryPolicy(delay_ms=1_000)
    assert next_delay_ms(policy, 1, 0.0) == 500
    assert next_delay_ms(policy, 1, 0.5) == 750
    assert next_delay_ms(policy, 1, TOP) == 1_000
    assert next_delay_ms(policy, 3, 0.0) == 2_000


def test_an_absurd_attempt_number_is_capped_not_overflowed() -> None:
    assert next_delay_ms(NO_JITTER, 10**9, 0.0) == 60_000
    assert next_delay_ms(RetryPolicy(multiplier=10**6, jitter=False), 10**6, 0.0) == 60_000


@pytest.mark.parametrize(
    ("attempt", "rand"), [(0, 0.5), (-1, 0.5), (1, 1.0), (1, -0.1), (1, math.nan)]
)
def test_bad_arguments_are_refused(attempt: int, rand: float) -> None:
    with pytest.raises(ValueError):
        next_delay_ms(STEP_DEFAULT, attempt, rand)


@given(policies, attempts, rands)
def test_a_delay_is_never_negative_nor_above_the_cap(
    policy: RetryPolicy, attempt: int, rand: float
) -> None:
    assert 0 <= next_delay_ms(policy, attempt, rand) <= policy.max_delay_ms


@given(policies, attempts, rands)
def test_jitter_stays_between_half_and_all_of_the_base_delay(
    policy: RetryPolicy, attempt: int, rand: float
) -> None:
    base = next_delay_ms(_without_jitter(policy), attempt, rand)
    assert base - base // 2 <= next_delay_ms(_with_jitter(policy), attempt, rand) <= base


@given(policies, st.integers(1, 200), rands)
def test_base_delays_never_decrease(policy: RetryPolicy, attempt: int, rand: float) -> None:
    policy = _without_jitter(policy)
    assert next_delay_ms(policy, attempt, rand) <= next_delay_ms(policy, attempt + 1, rand)


def _without_jitter(policy: RetryPolicy) -> RetryPolicy:
    return RetryPolicy.from_json({**policy.to_json(), "jitter": False})


def _with_jitter(policy: RetryPolicy) -> RetryPolicy:
    return RetryPolicy.from_json({**policy.to_json(), "jitter": True})


# -- whether to retry, and the decision ------------------------------------------------------------


def test_attempts_counts_every_run_the_first_included() -> None:
    assert [should_retry(STEP_DEFAULT, n, "ValueError") for n in (1, 2, 3, 4)] == [
        True,
        True,
        False,
        False,
    ]
    assert not should_retry(RetryPolicy(attempts=1), 1, "ValueError")


def test_a_lost_worker_is_an_attempt_like_any_other() -> None:
    assert should_retry(STEP_DEFAULT, 2, WORKER_LOST)
    assert not should_retry(STEP_DEFAULT, 3, WORKER_LOST)


def test_non_retryable_matches_the_full_name_or_its_last_part() -> None:
    policy = RetryPolicy(non_retryable=frozenset({"PaymentDeclined", "app.errors.Fraud"}))
    assert not should_retry(policy, 1, "payments.PaymentDeclined")
    assert not should_retry(policy, 1, "PaymentDeclined")
    assert not should_retry(policy, 1, "app.errors.Fraud")
    assert should_retry(policy, 1, "other.Fraud")
    assert should_retry(policy, 1, "payments.PaymentDeclinedSoftly")
    assert not should_retry(RetryPolicy(non_retryable=frozenset({"StepTimeout"})), 1, STEP_TIMEOUT)


def test_decide_retries_with_the_jittered_delay() -> None:
    decision = decide(STEP_DEFAULT, 2, "TimeoutError", 0.0)
    assert decision == RetryDecision(
        attempt=2, attempts=3, error_type="TimeoutError", delay_ms=1_000, give_up=None
    )
    assert decision.retry
    assert decision.due_at(1_700_000_000_000) == 1_700_000_001_000
    assert decision.describe() == "attempt 2 of 3 failed with TimeoutError; retrying in 1000 ms"


def test_decide_gives_up_when_the_attempts_are_spent() -> None:
    decision = decide(STEP_DEFAULT, 3, "TimeoutError", 0.5)
    assert (decision.retry, decision.give_up, decision.delay_ms) == (
        False,
        "attempts_exhausted",
        None,
    )
    assert decision.due_at(1_000) is None
    assert (
        decision.describe()
        == "attempt 3 of 3 failed with TimeoutError; no attempts left, giving up"
    )


def test_a_non_retryable_error_gives_up_at_once_and_says_so() -> None:
    policy = RetryPolicy(non_retryable=frozenset({"PaymentDeclined"}))
    for attempt in (1, 3):
        decision = decide(policy, attempt, "pay.PaymentDeclined", 0.5)
        assert decision.give_up == "non_retryable"
    assert decision.describe().endswith("which is not retryable; giving up")


def test_decide_refuses_attempt_zero() -> None:
    with pytest.raises(ValueError, match="the first run is attempt 1"):
        decide(STEP_DEFAULT, 0, "ValueError", 0.5)


@given(policies, st.integers(1, 30), st.sampled_from(["ValueError", "x.Declined"]), rands)
def test_decisions_agree_with_should_retry_and_round_trip(
    policy: RetryPolicy, attempt: int, error_type: str, rand: float
) -> None:
    decision = decide(policy, attempt, error_type, rand)
    assert decision.retry == should_retry(policy, attempt, error_type)
    if decision.retry:
        assert decision.delay_ms == next_delay_ms(policy, attempt, rand)
    assert RetryDecision.from_json(json.loads(json.dumps(decision.to_json()))) == decision


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"attempt": 1, "attempts": 3, "errorType": "E", "delay": None, "giveUp": "bored"},
        {"attempt": 1, "attempts": 3, "errorType": "E", "delay": 5, "giveUp": "non_retryable"},
        {"attempt": "1", "attempts": 3, "errorType": "E", "delay": 5, "giveUp": None},
    ],
)
def test_a_malformed_stored_decision_is_refused(stored: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="not a stored retry decision"):
        RetryDecision.from_json(stored)


def test_stable_rand_is_deterministic_in_range_and_spread() -> None:
    draws = [stable_rand(f"order-{n}:charge", 1) for n in range(200)]
    assert all(0.0 <= draw < 1.0 for draw in draws)
    assert draws == [stable_rand(f"order-{n}:charge", 1) for n in range(200)]
    assert min(draws) < 0.1 and max(draws) > 0.9
    assert stable_rand("order-1:charge", 1) != stable_rand("order-1:charge", 2)
