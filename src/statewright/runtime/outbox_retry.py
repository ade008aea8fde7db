"""The outbox's retry policy, when a worker is given one (`Worker(outbox_retry=...)`, a
setup file's `OUTBOX_RETRY`): written as a step's `retry` in a definition (durations as
`"30s"` or ms, `nonRetryable` error types), each key left out keeping `OUTBOX_DEFAULT`'s
value, not a step's.

Every worker delivering the same messages should be given the same policy: a message's
attempts are counted in the store, and each worker decides by its own policy whether the
attempt that failed was the last.
"""

from __future__ import annotations

from collections.abc import Mapping

from statewright.chart.faults import Faults
from statewright.chart.schema import check_retry
from statewright.errors import ConfigError
from statewright.runtime.retry import OUTBOX_DEFAULT, RetryPolicy

__all__ = ["outbox_policy"]

_EXAMPLE = (
    '{"attempts": 5, "delay": "10s", "maxDelay": "1h", "timeout": "30s", '
    '"nonRetryable": ["AddressRejected"]}'
)


def outbox_policy(given: RetryPolicy | Mapping[str, object] | None, *, where: str) -> RetryPolicy:
    """The policy `given` (a `RetryPolicy`, or its configuration as a dict), or
    `OUTBOX_DEFAULT` for None.

    Raises:
        ConfigError: a key is unknown or a value wrong, named with `where` and the fix.
    """
    if given is None:
        return OUTBOX_DEFAULT
    if isinstance(given, RetryPolicy):
        return given
    if not isinstance(given, Mapping):
        raise ConfigError(
            f"{where}: the outbox's retry policy must be a dict (or a RetryPolicy), not "
            f"{type(given).__name__}; e.g. {_EXAMPLE}"
        )
    faults = Faults()
    checked = check_retry(given, where, faults)
    if faults.structural or checked is None:
        raise ConfigError("; ".join(str(fault) for fault in faults.structural))
    return RetryPolicy.from_json({**OUTBOX_DEFAULT.to_json(), **checked}, where=where)
