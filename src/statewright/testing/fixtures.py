"""pytest fixtures for the testing kit; a project turns them on in its `conftest.py`:

    pytest_plugins = ["statewright.testing.fixtures"]

    def test_escalates(harness):
        h = harness(Machine.load("definitions/order.json", actors=ACTORS))
        h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 2500})
        h.advance("48h")
        h.assert_state("A-1", "escalated")

Only this module imports pytest (statewright does not depend on it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import ParamSpec, Protocol

import pytest

from statewright.chart import Machine
from statewright.runtime.outbox import OUTBOX_LEASE_MS
from statewright.runtime.retry import RetryPolicy
from statewright.runtime.steps import DEFAULT_BATCH, DEFAULT_LEASE_MS
from statewright.runtime.worker import TIMER_LEASE_MS
from statewright.testing.harness import DEFAULT_START_MS, Harness

__all__ = ["HarnessFactory", "harness"]


class HarnessFactory(Protocol):
    """What the `harness` fixture gives: `Harness`'s own arguments, a `Harness` back."""

    def __call__(
        self,
        *machines: Machine,
        start_ms: int = DEFAULT_START_MS,
        url: str | None = None,
        batch: int = DEFAULT_BATCH,
        concurrency: int = 1,
        step_lease_ms: int = DEFAULT_LEASE_MS,
        timer_lease_ms: int = TIMER_LEASE_MS,
        outbox_lease_ms: int = OUTBOX_LEASE_MS,
        outbox_retry: RetryPolicy | Mapping[str, object] | None = None,
    ) -> Harness: ...


_P = ParamSpec("_P")


def _closing(make: Callable[_P, Harness], made: list[Harness]) -> Callable[_P, Harness]:
    """`make` with its own signature (so the type checker holds `HarnessFactory` to
    `Harness`'s), keeping what it makes in `made`."""

    def kept(*args: _P.args, **kwargs: _P.kwargs) -> Harness:
        made.append(make(*args, **kwargs))
        return made[-1]

    return kept


@pytest.fixture
def harness() -> Iterator[HarnessFactory]:
    """Make `Harness`es (`harness(machine, ...)`, the arguments of `Harness`), each closed
    when the test ends, failed or not: a second one on the same `url` is the restart of a
    process on the same database."""
    made: list[Harness] = []
    yield _closing(Harness, made)
    for each in reversed(made):
        each.close()
