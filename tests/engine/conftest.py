"""Engine fixtures: a fresh engine per test on each backend, on a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests_support import START_MS, order_machine

from statewright.engine import Engine
from statewright.testing import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START_MS)


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(order_machine())
        yield opened
