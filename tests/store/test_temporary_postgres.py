"""The throwaway PostgreSQL server of the testing kit: a clear error when it cannot start."""

from __future__ import annotations

import pytest

from statewright.errors import StoreUnavailable
from statewright.testing import postgres


def test_missing_binaries_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    with pytest.raises(StoreUnavailable, match="apt-get install postgresql"):
        postgres.find_postgres_bin()


def test_with_search_path_replaces_options() -> None:
    url = postgres.with_search_path("postgresql://h/db?options=-cx%3D1&sslmode=disable", "s1")
    assert url == "postgresql://h/db?sslmode=disable&options=-csearch_path%3Ds1"
