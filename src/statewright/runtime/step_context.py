"""`current_step()`: what a running step function may know about its run.

A step function is called with its input only. Inside it, `current_step()` tells it which run
it is (its stable idempotency key, to pass to the outside world so that a retried attempt is
not done twice) and whether the run was stopped meanwhile: its instance left the state that
invoked it, or another worker took the run over. A worker notices that within a second
(`CANCEL_CHECK_MS`); it then cancels an async step (its task gets `CancelledError`) and stops
waiting for a sync one, which Python cannot interrupt: a long sync step looks at
`current_step().cancelled` between pieces of work and returns early. Either way the result
of a stopped run is discarded.

    from statewright.runtime import current_step

    def charge_card(input):
        step = current_step()
        return provider.charge(input["amount"], idempotency_key=step.idempotency_key)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from statewright.errors import StatewrightError

__all__ = ["CANCEL_CHECK_MS", "StepContext", "current_step", "running"]

#: How often a worker checks that the steps it runs are still wanted (renewing their leases).
CANCEL_CHECK_MS = 1000


@dataclass(frozen=True, slots=True)
class StepContext:
    """One attempt of one step run, as its function sees it."""

    tenant: str
    instance_id: str
    invoke_id: str
    src: str
    attempt: int  # 1 for the first attempt
    idempotency_key: str  # the same for every attempt of this run
    _stopped: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def cancelled(self) -> bool:
        """Whether the run was stopped (its state was left, or it is no longer this
        worker's): the function may return early; its result will be discarded."""
        return self._stopped.is_set()

    def wait_cancelled(self, timeout_s: float | None = None) -> bool:
        """Sleep up to `timeout_s` (forever with None), waking at once if the run is
        stopped; whether it was."""
        return self._stopped.wait(timeout_s)


_current: ContextVar[StepContext | None] = ContextVar("statewright_step", default=None)


@contextmanager
def running(context: StepContext) -> Iterator[None]:
    """The block runs as the step run `context` (what `current_step()` gives inside it): a
    worker's attempt, or a step the testing `Actor` runs."""
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


def current_step() -> StepContext:
    """The step run the calling code runs in (inside a step function, on a worker or the
    testing `Actor`).

    Raises:
        StatewrightError: called outside a step function run by a worker or an `Actor`.
    """
    context = _current.get()
    if context is None:
        raise StatewrightError(
            "current_step() is called outside a step: call it inside a step function while a "
            "worker (or statewright.testing.Actor) runs it"
        )
    return context
