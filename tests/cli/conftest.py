"""What the CLI's tests share: a project made by `statewright init` as the working folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store.url import URL_VARIABLE


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project (`statewright init`) in tmp_path/shop, as the working folder, with no
    STATEWRIGHT_URL. A test file adds what it needs by overriding it (`project(project)`)."""
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    folder = tmp_path / "shop"
    made = CliRunner().invoke(app, ["init", str(folder)])
    assert made.exit_code == 0, made.output
    monkeypatch.chdir(folder)
    return folder
