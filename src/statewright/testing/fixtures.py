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

from collections.abc import Iterator
from typing import Protocol

import pytest

from statewright.chart import Machine
from statewright.testing.harness import DEFAULT_START_MS, Harness

__all__ = ["HarnessFactory", "harness"]


class HarnessFactory(Protocol):
    """What the `harness` fixture gives: `Harness`'s own arguments, a `Harness` back."""

    def __call__(
        self, *machines: Machine, start_ms: int = DEFAULT_START_MS, url: str | None = None
    ) -> Harness: ...


@pytest.fixture
def harness() -> Iterator[HarnessFactory]:
    """Make `Harness`es (`harness(machine, ...)`, the arguments of `Harness`), each closed
    when the test ends, failed or not: a second one on the same `url` is the restart of a
    process on the same database."""
    made: list[Harness] = []

    def make(
        *machines: Machine, start_ms: int = DEFAULT_START_MS, url: str | None = None
    ) -> Harness:
        made.append(Harness(*machines, start_ms=start_ms, url=url))
        return made[-1]

    yield make
    for each in reversed(made):
        each.close()
