"""A usage error (an unknown option, a refused value) on a command line that asks for `--json`
prints one JSON object on stdout, in the shape of every other error with `--json`, besides
Click's usage text on stderr; the exit code stays 2. Without `--json` stdout stays empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store.url import URL_VARIABLE

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder: no project, no store (a usage error never opens one)."""
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("args", "said", "parameter"),
    [
        (["list", "--json", "--limit", "0"], "Invalid value for '--limit'", {"option": "--limit"}),
        (["list", "--json", "--bogus"], "No such option: --bogus", {"option": "--bogus"}),
        (["tokens", "create", "--json", "--colour", "red"], "No such option: --colour",
         {"option": "--colour"}),
        (["tokens", "create", "--json", "--tenant", ""], "Invalid value for --tenant",
         {"option": "--tenant"}),
        (["send", "A-1", " ", "--json"], "the event type is empty", {"argument": "event"}),
        (["start", "order", "--json", "--input", "{x"], "--input is not JSON", {}),
    ],
)  # fmt: skip
def test_a_usage_error_with_json_is_a_json_object_on_stdout(
    args: list[str], said: str, parameter: dict[str, str]
) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error == {"error": "UsageError", "message": error["message"], **parameter}
    assert said in error["message"] and "\n" not in error["message"]
    assert "Usage:" in result.stderr and said in result.stderr  # Click's text, as before


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--bogus", "--json"],  # Click stops at --bogus, before it reads --json
        ["dead-letters", "--limit", "0", "--json"],
        ["tokens", "revoke", "--json"],  # the PREFIX argument is missing
    ],
)
def test_json_after_the_bad_token_still_asks_for_json(args: list[str]) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["error"] == "UsageError"


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--limit", "0"],
        ["list", "--bogus"],
        ["worker", "--json"],  # a command without --json: --json is the unknown option
        ["bogus", "--json"],  # no such command
        ["send", "A-1", "APPROVE", "--bogus", "--", "--json"],  # after --: an event field
    ],
)
def test_without_json_asked_for_a_usage_error_leaves_stdout_empty(args: list[str]) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Usage:" in result.stderr
