"""Runtime fixtures: a virtual clock (each test module registers its own machines)."""

from __future__ import annotations

import logging

import pytest

from statewright.testing import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(1_700_000_000_000)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The worker's log records, captured from INFO up."""
    caplog.set_level(logging.INFO, logger="statewright.worker")
    return caplog
