"""`statewright paths` on a machine whose start fails (its context reads an input not given,
an action raises on entry): the cause on stderr with the fix, exit 1 as `start`'s failed
transition, and no table of one state in error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.chart import Machine as ChartMachine
from statewright.cli import app
from statewright.errors import StatewrightError

runner = CliRunner()

CAUSE = "context.orderId[\"$expr\"]: expression 'input.orderId': input is null"


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("options", [[], ["--to", "paid"], ["--from", "pending_approval"]])
def test_a_start_that_fails_is_named_with_its_cause_and_input_as_the_fix(
    project: Path, options: list[str]
) -> None:
    result = run("paths", "definitions/order.json", *options)

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith("machine 'order' cannot start with no --input: ")
    assert CAUSE in message
    assert "--input '{...}'" in message
    assert "--events" not in message


def test_with_json_the_failed_start_is_the_json_error(project: Path) -> None:
    result = run("paths", "definitions/order.json", "--json")

    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)
    assert error == {"error": "PathError", "message": result.stderr.strip()}
    assert CAUSE in error["message"]


def test_a_start_that_fails_with_an_input_names_that_input(tmp_path: Path) -> None:
    definition = tmp_path / "m.json"
    definition.write_text(
        json.dumps(
            {
                "id": "m",
                "initial": "a",
                "context": {"total": {"$expr": "input.items[0].price"}},
                "states": {"a": {}},
            }
        )
    )

    result = run("paths", str(definition), "--input", '{"items": []}')

    assert result.exit_code == 1, result.output
    message = " ".join(result.stderr.split())
    assert message.startswith("machine 'm' cannot start with --input '{\"items\": []}': ")
    assert "--input '{...}'" in message


def test_the_same_machine_started_with_its_input_is_explored(project: Path) -> None:
    result = run("paths", "definitions/order.json", "--input", '{"orderId": "A-1", "amount": 2}')

    assert result.exit_code == 0, result.output
    assert "(error)" not in result.stdout
    assert "paid (done)" in result.stdout


def test_a_start_that_raises_is_named_as_a_start_that_fails(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def raising(machine: ChartMachine, input: object = None) -> object:
        raise StatewrightError("eventless: a broken expression")

    monkeypatch.setattr(ChartMachine, "initial_transition", raising)

    result = run("paths", "definitions/order.json")

    assert result.exit_code == 1, result.output
    message = result.stderr.strip()
    assert message.startswith("machine 'order' cannot start with no --input: eventless")
