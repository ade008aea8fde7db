"""The commands that run definitions once (`start`, `send`, `verify`) use this folder's
implementations and leave the store's versions alone: run from a folder whose definition
differs (a stale checkout), only a `start` of a changed definition registers it, saying so,
and a `start` of an earlier version is refused rather than rolling every new start back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app
from statewright.engine import Engine

runner = CliRunner()
ORDER = {"orderId": "X", "amount": 2500}  # waits for APPROVE


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def latest_version(project: Path) -> int:
    with Engine.open(f"sqlite:///{project / 'statewright.db'}") as engine:
        return engine.definition("order").version


def change_definition(project: Path, description: str) -> None:
    path = project / "definitions" / "order.json"
    config = json.loads(path.read_text())
    config["description"] = description
    path.write_text(json.dumps(config))


@pytest.fixture
def project(project: Path) -> Path:
    """The init project with an order started (version 1), then the definition changed here
    (as in a checkout other than the deployed one)."""
    started = run("start", "order", "--id", "A-1", "--input", json.dumps(ORDER))
    assert started.exit_code == 0, started.output
    assert latest_version(project) == 1
    change_definition(project, "changed in this folder")
    return project


@pytest.mark.parametrize(
    "command",
    [
        ["verify"],
        ["send", "A-1", "APPROVE"],
        ["bulk", "send", "APPROVE", "--definition", "order"],
    ],
    ids=["verify", "send", "bulk-send"],
)
def test_a_command_that_only_sends_or_checks_registers_nothing(
    project: Path, command: list[str]
) -> None:
    result = run(*command)
    assert result.exit_code == 0, result.output
    assert "registered" not in result.output
    assert latest_version(project) == 1, result.output


def test_a_start_of_a_changed_definition_registers_it_and_says_so(project: Path) -> None:
    result = run("start", "order", "--id", "A-2", "--input", json.dumps(ORDER))
    assert result.exit_code == 0, result.output
    assert latest_version(project) == 2
    assert "registered 'order' version 2 from" in result.stderr
    assert "the store's latest was 1" in result.stderr


def test_a_start_of_an_earlier_version_is_refused_naming_both(project: Path) -> None:
    assert run("start", "order", "--id", "A-2", "--input", json.dumps(ORDER)).exit_code == 0
    change_definition(project, "changed again elsewhere")  # version 3, as another checkout
    assert run("start", "order", "--id", "A-3", "--input", json.dumps(ORDER)).exit_code == 0
    assert latest_version(project) == 3
    change_definition(project, "changed in this folder")  # back to version 2's content

    result = run("start", "order", "--id", "A-4", "--input", json.dumps(ORDER))

    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "'order' here is version 2 of the store's, not its latest (3)" in message
    assert "a rollback" in message and "statewright worker" in message
    assert latest_version(project) == 3
    assert run("show", "A-4").exit_code == 3  # nothing started
