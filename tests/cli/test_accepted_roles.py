"""`statewright accepted --role R` lists the events role R may send, as the engine decides
it: a transition that names roles takes one of them, one that names none takes anyone, and
`admin` sends every event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def project(project: Path) -> Path:
    """The init project, whose order's APPROVE (in pending_approval) names the role
    `approver`, with order A-1 waiting for approval."""
    definition = project / "definitions" / "order.json"
    config = json.loads(definition.read_text())
    approve = config["states"]["pending_approval"]["on"]["APPROVE"]
    approve["statewright"] = {"roles": ["approver"]}
    definition.write_text(json.dumps(config))
    order = json.dumps({"orderId": "A-1", "amount": 9000})
    started = run("start", "order", "--id", "A-1", "--input", order)
    assert started.exit_code == 0, started.output
    return project


def accepted(*role: str) -> list[str]:
    result = run("accepted", "A-1", "--json", *role)
    assert result.exit_code == 0, result.output
    return [event["type"] for event in json.loads(result.stdout)["events"]]


def test_a_role_keeps_the_events_its_transitions_name_it_for_and_those_naming_none(
    project: Path,
) -> None:
    assert accepted() == ["APPROVE", "REJECT"]
    assert accepted("--role", "approver") == ["APPROVE", "REJECT"]
    assert accepted("--role", "clerk") == ["REJECT"]


def test_admin_keeps_every_event_as_the_engine_lets_it_send_every_one(project: Path) -> None:
    assert accepted("--role", "admin") == ["APPROVE", "REJECT"]
    text = run("accepted", "A-1", "--role", "admin").stdout
    assert "APPROVE" in text and "approver" in text
