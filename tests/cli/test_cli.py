"""The command line, run in process."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from statewright.cli import app

ROOT = Path(__file__).parents[2]
runner = CliRunner()


def test_validate_prints_states_and_transitions() -> None:
    result = runner.invoke(app, ["validate", str(ROOT / "examples/order/order.json")])
    assert result.exit_code == 0, result.output
    assert "machine 'order', 16 states" in result.output
    assert "pending_approval" in result.output
    assert "APPROVE → order.payment" in result.output
    assert "actor 'chargeCard' is not provided" in result.output


def test_validate_strict_fails_on_missing_implementations() -> None:
    result = runner.invoke(app, ["validate", "--strict", str(ROOT / "examples/order/order.json")])
    assert result.exit_code == 1
    assert "chargeCard" in result.output


def test_validate_reports_every_fault_with_path_and_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "id": "m",
                "initial": "a",
                "states": {"a": {"on": {"GO": "bb"}, "intial": "x"}, "b": {}},
            }
        )
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "2 fault(s)" in result.output
    assert "states.a.on.GO" in result.output
    assert 'did you mean "b"?' in result.output
    assert "states.a.intial" in result.output


def test_validate_reports_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "no such file" in result.output


def test_demo_steps_the_order_example_through_three_orders() -> None:
    result = runner.invoke(app, ["demo", "--example", str(ROOT / "examples/order")])
    assert result.exit_code == 0, result.output
    assert "escalated" in result.output
    assert "payment_failed" in result.output
    assert result.output.count("done, output") == 3


def test_every_command_has_help_and_is_documented() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    commands = [["validate"], ["demo"], ["verify"], ["worker"], ["db", "migrate"], ["db", "status"]]
    for command in commands:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output
        assert f"statewright {' '.join(command)}" in docs, command
