"""A command run outside any project, with no store named (no --url, no STATEWRIGHT_URL, no
statewright.toml here or above) and no `statewright.db` in the folder: exit 5 with the fix
(a project made by init, or --url), and nothing is created in the folder."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store.url import URL_VARIABLE

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["show", "A-1"],
        ["send", "A-1", "APPROVE"],
        ["verify"],
        ["worker", "--once"],
        ["tokens", "create"],
        ["tokens", "list"],
        ["serve", "--port", "PORT"],
    ],
    ids=" ".join,
)
def test_the_fix_is_a_project_or_a_url_and_nothing_is_created(
    elsewhere: Path, command: list[str]
) -> None:
    command = [free_port() if word == "PORT" else word for word in command]
    result = runner.invoke(app, command)

    assert result.exit_code == 5, result.output
    said = " ".join(result.output.split())
    assert "no statewright.toml here or above, no --url and no STATEWRIGHT_URL" in said
    assert '"statewright init"' in said and "--url sqlite:///" in said
    assert list(elsewhere.iterdir()) == []


def test_a_store_file_in_the_folder_is_still_used_without_a_project(elsewhere: Path) -> None:
    assert runner.invoke(app, ["db", "migrate"]).exit_code == 0
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    assert (elsewhere / "statewright.db").is_file()
