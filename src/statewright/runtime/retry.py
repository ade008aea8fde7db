"""Retry policies: when to run a failed step again, and when to give up.

Pure: no clock, no I/O, no global randomness. The caller supplies the random number that
jitters a delay, so a test, a replay or the virtual clock of `statewright.testing` gets the
same delays every time; `stable_rand` derives one from the step's idempotency key.

Counting attempts: attempt 1 is the first run of a step, attempt n its n-th start. An attempt
counts whatever ends it: an error, its per-attempt timeout, or the worker dying under it (its
lease expires with no result). Counting the crash is what bounds a step that kills its worker
every time; the step loop therefore counts an attempt when it claims the step, not when it
finishes. `attempts` is the total number of runs, the first included (Temporal's
`maximumAttempts`; Celery's `max_retries` counts only the retries): `attempts: 3` means the
first run and at most two retries.

The delay before attempt n + 1 after attempt n failed::

    exponential:  base = min(maxDelay, delay * multiplier ** (n - 1))
    fixed:        base = min(maxDelay, delay)
    jitter on:    a whole number of ms drawn from [base - base // 2, base] with `rand`
    jitter off:   base

Why equal jitter (half fixed, half random) and not full jitter (anywhere in [0, base])?
AWS's "Exponential Backoff And Jitter" (Marc Brooker, 2015) calls equal jitter the loser:
with many clients contending for one resource, it made slightly more calls than full jitter
and took longer to get them all through; both beat the lockstep retries of no jitter. That
measures throughput of cheap calls retried until they succeed. Here a policy has few
attempts (3 by default) and running out of them has a business consequence: the machine's
`onError` path (manual review) or the dead-letter list. With full jitter, draws near 0 spend
all three attempts of a payment within milliseconds during a two-second outage of the
provider. Equal jitter keeps at least half of every configured wait, so `delay` and
`maxDelay` still mean what a reader of the definition expects, and it still spreads a herd
of instances that failed together over half of each window.

A delay above `maxDelay` is capped to it, as in AWS's `min(cap, base * 2 ** attempt)`;
`from_json` lifts an absent `maxDelay` to `delay` when `delay` is larger than the default.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from statewright.errors import ConfigError

__all__ = [
    "Backoff",
    "GiveUpReason",
    "OUTBOX_DEFAULT",
    "RetryDecision",
    "RetryPolicy",
    "STEP_DEFAULT",
    "STEP_TIMEOUT",
    "WORKER_LOST",
    "decide",
    "next_delay_ms",
    "should_retry",
    "stable_rand",
]

Backoff = Literal["exponential", "fixed"]
#: Why a step or message is not tried again.
GiveUpReason = Literal["attempts_exhausted", "non_retryable"]

#: The error type the step loop records when an attempt outlives the policy's `timeout`.
STEP_TIMEOUT = "statewright.StepTimeout"
#: The error type the step loop records when a step's lease expired with no result (the
#: worker died or hung). It counts as an attempt and is retryable unless listed.
WORKER_LOST = "statewright.WorkerLost"

_DEFAULT_MAX_DELAY_MS = 60_000
_JSON_KEYS = (
    "attempts",
    "backoff",
    "delay",
    "maxDelay",
    "multiplier",
    "jitter",
    "timeout",
    "nonRetryable",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry; the defaults are those of a step.

    Attributes:
        attempts: total runs, the first included (>= 1). Default 3.
        backoff: "exponential" (each wait `multiplier` times the last) or "fixed".
        delay_ms: the wait after the first failure, before jitter. Default 1 s.
        max_delay_ms: the cap on any wait. Default 1 min.
        multiplier: the growth of exponential backoff (>= 1). Default 2.
        jitter: draw each wait from [base - base // 2, base] (equal jitter). Default on.
        timeout_ms: the time one attempt may take, or None for no limit. Default None.
        non_retryable: error types that end the retries at once; an entry matches the
            recorded type by its full dotted name or by its last part. Default none.

    Raises:
        ConfigError: on construction, a value out of range (naming each one).
    """

    attempts: int = 3
    backoff: Backoff = "exponential"
    delay_ms: int = 1_000
    max_delay_ms: int = _DEFAULT_MAX_DELAY_MS
    multiplier: float = 2.0
    jitter: bool = True
    timeout_ms: int | None = None
    non_retryable: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        problems = [
            f"{name} {problem}"
            for name, broken, problem in (
                ("attempts", self.attempts < 1, "must be >= 1"),
                ("backoff", self.backoff not in ("exponential", "fixed"), "is unknown"),
                ("delay_ms", self.delay_ms < 0, "must be >= 0"),
                ("max_delay_ms", self.max_delay_ms < 0, "must be >= 0"),
                ("multiplier", not (1 <= self.multiplier < math.inf), "must be >= 1"),
                ("timeout_ms", self.timeout_ms is not None and self.timeout_ms <= 0, "must be > 0"),
            )
            if broken
        ]
        if problems:
            raise ConfigError(f"bad retry policy: {'; '.join(problems)} (got {self!r})")

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None, *, where: str = "retry") -> RetryPolicy:
        """Build a policy from its stored form, the dict `chart.schema.check_retry` returns.

        Args:
            data: keys attempts, backoff, delay, maxDelay, multiplier, jitter, timeout
                (durations in ms) and nonRetryable; each absent key keeps its default.
                None gives the defaults.
            where: what the policy belongs to, for error messages (a JSON path or step id).

        Returns:
            The policy.

        Raises:
            ConfigError: a key is unknown (stored by a newer statewright) or a value is out
                of range; the message names the key and the accepted values.
        """
        if data is None:
            return cls()
        unknown = sorted(str(key) for key in data if key not in _JSON_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}: unknown retry option {unknown[0]!r}; this statewright knows "
                f"{', '.join(_JSON_KEYS)} (was the policy stored by a newer version?)"
            )
        delay = _milliseconds(data, "delay", 1_000, where)
        max_delay = _milliseconds(data, "maxDelay", max(_DEFAULT_MAX_DELAY_MS, delay), where)
        return cls(
            attempts=_whole(data, "attempts", 3, where),
            backoff=_backoff(data.get("backoff", "exponential"), where),
            delay_ms=delay,
            max_delay_ms=max_delay,
            multiplier=_multiplier(data.get("multiplier", 2.0), where),
            jitter=_flag(data.get("jitter", True), where),
            timeout_ms=_timeout(data, where),
            non_retryable=_names(data.get("nonRetryable", []), where),
        )

    def to_json(self) -> dict[str, object]:
        """Return every option under its JSON key; `from_json` reads it back equal."""
        return {
            "attempts": self.attempts,
            "backoff": self.backoff,
            "delay": self.delay_ms,
            "maxDelay": self.max_delay_ms,
            "multiplier": self.multiplier,
            "jitter": self.jitter,
            "timeout": self.timeout_ms,
            "nonRetryable": sorted(self.non_retryable),
        }


#: A step's policy when its invoke declares none: 3 attempts, 1 s doubling up to 1 min.
STEP_DEFAULT = RetryPolicy()
#: Outbox delivery: 10 attempts, 10 s doubling up to 1 h (waits 10 s, 20 s, ... 2560 s: about
#: 85 minutes in all, at least half that with jitter), 30 s per attempt, then dead letter.
OUTBOX_DEFAULT = RetryPolicy(
    attempts=10, delay_ms=10_000, max_delay_ms=3_600_000, timeout_ms=30_000
)


def next_delay_ms(policy: RetryPolicy, attempt: int, rand: float) -> int:
    """Return the wait in ms before the attempt after `attempt`, which failed.

    Args:
        policy: the retry policy.
        attempt: the attempt that failed, 1 for the first run.
        rand: a number in [0, 1) from the caller's random source; ignored without jitter.

    Returns:
        A whole number of milliseconds in [0, policy.max_delay_ms]; without jitter it never
        decreases as `attempt` grows.

    Raises:
        ValueError: `attempt` < 1, or `rand` outside [0, 1).
    """
    if attempt < 1:
        raise ValueError(f"attempt {attempt} is not an attempt; the first run is attempt 1")
    if not 0.0 <= rand < 1.0:
        raise ValueError(f"rand must be in [0, 1), not {rand!r}")
    base = _base_delay_ms(policy, attempt)
    if not policy.jitter:
        return base
    low = base - base // 2
    # int() of a product in [0, base - low + 1) is in [0, base - low]: low..base inclusive.
    return low + int(rand * (base - low + 1))


def _base_delay_ms(policy: RetryPolicy, attempt: int) -> int:
    if policy.backoff == "fixed" or policy.delay_ms == 0:
        return min(policy.max_delay_ms, policy.delay_ms)
    try:
        # float() first: an int multiplier to a huge power is a huge int, slowly computed.
        raw = policy.delay_ms * float(policy.multiplier) ** (attempt - 1)
    except OverflowError:
        raw = math.inf
    return int(min(float(policy.max_delay_ms), raw))


def should_retry(policy: RetryPolicy, attempt: int, error_type: str) -> bool:
    """Say whether to run again after attempt number `attempt` failed with `error_type`.

    Args:
        policy: the retry policy.
        attempt: the attempt that failed, 1 for the first run; a timeout or a lost worker
            counts like any other failure.
        error_type: the recorded type of the error, e.g. "payments.PaymentDeclined" (the
            step loop records `module.QualName`); `STEP_TIMEOUT` or `WORKER_LOST` for those.

    Returns:
        True if attempts remain and the type is not listed in `policy.non_retryable`.
    """
    return attempt < policy.attempts and not _is_non_retryable(policy, error_type)


def _is_non_retryable(policy: RetryPolicy, error_type: str) -> bool:
    return error_type in policy.non_retryable or (
        error_type.rpartition(".")[2] in policy.non_retryable
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryDecision:
    """What to do after a failed attempt: retry after `delay_ms`, or give up and why.

    The step loop stores it with the step run; `to_json` and `from_json` round-trip it.

    Attributes:
        attempt: the attempt that failed, 1 for the first run.
        attempts: the policy's total, for messages ("attempt 2 of 3").
        error_type: the recorded error type.
        delay_ms: the wait before attempt `attempt + 1`, or None when giving up.
        give_up: None when retrying, else "attempts_exhausted" or "non_retryable".
    """

    attempt: int
    attempts: int
    error_type: str
    delay_ms: int | None
    give_up: GiveUpReason | None

    @property
    def retry(self) -> bool:
        """True if the step runs again."""
        return self.give_up is None

    def due_at(self, failed_at_ms: int) -> int | None:
        """Return when the next attempt is due (epoch ms), or None when giving up."""
        return None if self.delay_ms is None else failed_at_ms + self.delay_ms

    def describe(self) -> str:
        """Return the decision as a sentence for the audit trail and the console."""
        head = f"attempt {self.attempt} of {self.attempts} failed with {self.error_type}"
        if self.give_up == "non_retryable":
            return f"{head}, which is not retryable; giving up"
        if self.give_up == "attempts_exhausted":
            return f"{head}; no attempts left, giving up"
        return f"{head}; retrying in {self.delay_ms} ms"

    def to_json(self) -> dict[str, object]:
        """Return the decision as a JSON object."""
        return {
            "attempt": self.attempt,
            "attempts": self.attempts,
            "errorType": self.error_type,
            "delay": self.delay_ms,
            "giveUp": self.give_up,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RetryDecision:
        """Read back what `to_json` wrote.

        Raises:
            ConfigError: `data` is not a decision `to_json` could have written.
        """
        attempt, attempts, error_type, delay, give_up = (
            data.get(key) for key in ("attempt", "attempts", "errorType", "delay", "giveUp")
        )
        if not (
            type(attempt) is int
            and type(attempts) is int
            and isinstance(error_type, str)
            and (delay is None or type(delay) is int)
            and give_up in (None, "attempts_exhausted", "non_retryable")
            and (delay is None) == (give_up is not None)
        ):
            raise ConfigError(f"not a stored retry decision: {dict(data)!r}")
        return cls(
            attempt=attempt,
            attempts=attempts,
            error_type=error_type,
            delay_ms=delay,
            give_up=give_up,
        )


def decide(policy: RetryPolicy, attempt: int, error_type: str, rand: float) -> RetryDecision:
    """Decide what follows attempt number `attempt` failing with `error_type`.

    Args:
        policy: the retry policy.
        attempt: the attempt that failed, 1 for the first run.
        error_type: the recorded error type (see `should_retry`).
        rand: a number in [0, 1) for the jitter (see `next_delay_ms`, `stable_rand`).

    Returns:
        The decision: non-retryable types give up first, then exhausted attempts.

    Raises:
        ValueError: `attempt` < 1, or `rand` outside [0, 1).
    """
    if attempt < 1:
        raise ValueError(f"attempt {attempt} is not an attempt; the first run is attempt 1")
    reason: GiveUpReason | None = None
    if _is_non_retryable(policy, error_type):
        reason = "non_retryable"
    elif attempt >= policy.attempts:
        reason = "attempts_exhausted"
    return RetryDecision(
        attempt=attempt,
        attempts=policy.attempts,
        error_type=error_type,
        delay_ms=None if reason else next_delay_ms(policy, attempt, rand),
        give_up=reason,
    )


def stable_rand(seed: str, attempt: int) -> float:
    """Return a number in [0, 1) fixed by `seed` and `attempt`, for jitter without a RNG.

    Seeded with a step's idempotency key (or an outbox message id), instances that failed
    together still get different delays, and a replay gets the same ones.
    """
    digest = hashlib.sha256(f"{seed}\x00{attempt}".encode()).digest()
    return int.from_bytes(digest[:7], "big") / float(1 << 56)


def _milliseconds(data: Mapping[str, object], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}.{key}: {value!r} is not a duration in ms; write 1500")
    if not 0 <= value < math.inf:
        raise ConfigError(f"{where}.{key}: {value!r} is not a duration in ms; write 1500")
    return round(value)


def _timeout(data: Mapping[str, object], where: str) -> int | None:
    if data.get("timeout") is None:
        return None
    timeout = _milliseconds(data, "timeout", 0, where)
    if timeout == 0:
        raise ConfigError(f"{where}.timeout: must be more than 0 ms; remove it for no limit")
    return timeout


def _whole(data: Mapping[str, object], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if type(value) is not int or value < 1:
        raise ConfigError(f"{where}.{key}: {value!r} is not a whole number >= 1; write 3")
    return value


def _backoff(value: object, where: str) -> Backoff:
    if value not in ("exponential", "fixed"):
        raise ConfigError(f'{where}.backoff: unknown {value!r}; write "exponential" or "fixed"')
    return value


def _multiplier(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}.multiplier: {value!r} is not a number >= 1; write 2")
    if not 1 <= value < math.inf:
        raise ConfigError(f"{where}.multiplier: {value!r} is not a number >= 1; write 2")
    return float(value)


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.jitter: {value!r} is not true or false; write true")
    return value


def _names(value: object, where: str) -> frozenset[str]:
    if not (isinstance(value, list) and all(isinstance(name, str) for name in value)):
        raise ConfigError(
            f"{where}.nonRetryable: {value!r} is not a list of error type names; "
            'write ["ValueError"]'
        )
    return frozenset(cast(list[str], value))
