"""Runtime fixtures: a virtual clock (each test module registers its own machines)."""

from __future__ import annotations

import pytest

from statewright.testing import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(1_700_000_000_000)
