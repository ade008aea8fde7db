"""API fixtures: the app over an engine on each backend (see api_kit.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_kit import Api, make_api


@pytest.fixture
def api(store_url: str) -> Iterator[Api]:
    yield from make_api(store_url)
