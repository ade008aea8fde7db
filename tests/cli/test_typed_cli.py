"""Typed events from the command line: `validate` names a bad schema's path, `send` and
`start` refuse a failing payload with exit 2 naming the field, `accepted` shows each event's
schema (in full with --json). In a project made by `statewright init`, on its SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner(env={"COLUMNS": "200"})

PAY = {
    "type": "object",
    "properties": {
        "amount": {"type": "integer", "minimum": 1},
        "note": {"type": "string", "pattern": "^[a-z]+$"},
    },
    "required": ["amount"],
}
CLAIM = {
    "id": "claim",
    "initial": "review",
    "statewright": {
        "input": {"type": "object", "required": ["customer"]},
        "events": {"PAY": PAY},
    },
    "states": {"review": {"on": {"PAY": "paid", "DROP": "paid"}}, "paid": {"type": "final"}},
}


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def project(project: Path) -> Path:
    """The init project, with the typed definition beside its example."""
    (project / "definitions" / "claim.json").write_text(json.dumps(CLAIM))
    return project


def test_validate_names_the_path_of_a_bad_schema(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(CLAIM))
    bad["statewright"]["events"]["PAY"]["properties"]["amount"]["minimum"] = "one"
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(bad))
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert (
        "statewright.events.PAY.properties.amount.minimum: not a valid JSON Schema: "
        "'one' is not of type 'number'" in " ".join(result.output.split())
    )


@pytest.mark.slow
def test_send_and_start_refuse_a_failing_payload_with_exit_2(project: Path) -> None:
    refused = run("start", "claim", "--id", "C-1", "--input", "{}", "--json")
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["errors"] == [
        {"path": "customer", "message": "'customer' is a required property"}
    ]
    assert run("start", "claim", "--id", "C-1", "--input", '{"customer": "c"}').exit_code == 0

    bad = run("send", "C-1", "PAY", "amount=0", "note=X1")
    assert bad.exit_code == 2
    said = " ".join(bad.output.split())
    assert (
        "C-1: event 'PAY' does not fit its schema: amount: 0 is less than the minimum of 1" in said
    )
    assert "note: 'X1' does not match '^[a-z]+$'" in said  # printed as is, not as markup
    as_json = json.loads(run("send", "C-1", "PAY", "note=x", "--json").stdout)
    assert as_json["error"] == "PayloadInvalid"
    assert as_json["event_type"] == "PAY"
    assert as_json["errors"] == [{"path": "amount", "message": "'amount' is a required property"}]
    shown = json.loads(run("show", "C-1", "--json").stdout)
    assert shown["version"] == 1  # nothing was written

    sent = run("send", "C-1", "PAY", "amount=3", "note=ok")
    assert sent.exit_code == 0, sent.output


@pytest.mark.slow
def test_accepted_shows_each_events_schema(project: Path) -> None:
    assert run("start", "claim", "--id", "C-1", "--input", '{"customer": "c"}').exit_code == 0
    table = run("accepted", "C-1")
    assert table.exit_code == 0, table.output
    assert "amount: integer (required), note: string" in table.stdout
    assert "(any)" in table.stdout  # DROP declares no schema
    listed = json.loads(run("accepted", "C-1", "--json").stdout)
    schemas = {event["type"]: event["schema"] for event in listed["events"]}
    assert schemas == {"PAY": PAY, "DROP": None}
