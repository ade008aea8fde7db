"""`statewright paths`: the table, JSON, filters and the errors a user can hit."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app

ROOT = Path(__file__).parents[2]
ORDER = str(ROOT / "examples" / "order" / "order.json")
EVENTS = str(ROOT / "examples" / "order" / "sample-events.json")
INPUT = '{"orderId": "A-1", "amount": 2500}'
runner = CliRunner()


def test_paths_prints_the_shortest_path_to_every_state() -> None:
    result = runner.invoke(app, ["paths", ORDER, "--input", INPUT, "--events", EVENTS])
    assert result.exit_code == 0, result.output
    # A state is value, context, status and history: after a failed payment and a retry,
    # fulfilment is reached again with paymentError set.
    assert "order: 15 shortest path(s)" in result.output
    by_value = runner.invoke(
        app, ["paths", ORDER, "--input", INPUT, "--events", EVENTS, "--serialize", "value"]
    )
    assert "order: 10 shortest path(s)" in by_value.output
    assert "approvedBy" not in by_value.output
    with_context = runner.invoke(
        app, ["paths", ORDER, "--input", INPUT, "--to", "payment", "--context"]
    )
    assert with_context.exit_code == 0, with_context.output
    assert '"approvedBy": null' in with_context.output
    assert "escalated" in result.output
    assert "shipped (done)" in result.output
    assert "xstate.after.48h.order.pending_a" in result.output


def test_paths_json_lists_events_per_state() -> None:
    result = runner.invoke(
        app,
        [
            "paths",
            ORDER,
            "--input",
            INPUT,
            "--events",
            EVENTS,
            "--to",
            "shipped",
            "--json",
            "--serialize",
            "value",
        ],
    )
    assert result.exit_code == 0, result.output
    (path,) = json.loads(result.output)
    assert path["state"] == "shipped"
    assert path["status"] == "done"
    assert [event["type"] for event in path["events"]] == [
        "APPROVE",
        "xstate.done.actor.payment",
        "RESERVED",
        "SHIPPED",
    ]
    assert path["context"]["trackingNumber"] == "TRK-1"


def test_paths_simple_from_and_serialize(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "paths",
            ORDER,
            "--input",
            INPUT,
            "--events",
            EVENTS,
            "--json",
            "--simple",
            "--from",
            "payment_failed",
            "--to",
            "#order.cancelled",
            "--serialize",
            "value",
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert {tuple(e["type"] for e in p["events"][-1:]) for p in found} == {("CANCEL",)}
    assert all(p["state"] == "cancelled" for p in found)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--to", "shiped"], 1, "--to: machine 'order' has no state 'shiped'; did you mean"),
        (["--from", "#order.shiped"], 1, "--from: machine 'order' has no state '#order.shiped'"),
        (["--serialize", "all"], 2, "not one of full, xstate, value"),
        (["--input", "{amount"], 2, "is not JSON"),
        (["--events", "missing.json"], 2, "cannot read missing.json"),
        (["--limit", "3"], 1, "found more than 3 states"),
    ],
)
def test_paths_names_a_bad_option(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, ["paths", ORDER, "--input", INPUT, *args])
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split())


def test_paths_explores_with_the_implementations_a_module_provides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "id": "gated",
        "initial": "a",
        "states": {"a": {"on": {"GO": {"target": "b", "guard": "isReady"}}}, "b": {}},
    }
    definition = tmp_path / "gated.json"
    definition.write_text(json.dumps(config))
    module = f"impls_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text("IMPLS = {'guards': {'isReady': lambda c, e: True}}\n")
    monkeypatch.chdir(tmp_path)
    missing = runner.invoke(app, ["paths", str(definition)])
    assert missing.exit_code == 1
    assert "guard 'isReady' is not provided" in missing.output
    result = runner.invoke(
        app, ["paths", str(definition), "--json", "--implementations", f"{module}:IMPLS"]
    )
    assert result.exit_code == 0, result.output
    assert [p["state"] for p in json.loads(result.output)] == ["a", "b"]


def test_paths_is_documented() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    assert "## `statewright paths" in docs
    result = runner.invoke(app, ["paths", "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


@pytest.mark.parametrize(
    ("args", "code", "error", "message"),
    [
        ([ORDER, "--to", "shiped"], 1, "PathError", "--to: machine 'order' has no state"),
        ([ORDER, "--limit", "3"], 1, "PathError", "found more than 3 states"),
        (["nothing.json"], 1, "DefinitionError", "nothing.json: no such file"),
        ([ORDER, "--machines", "nothing.py"], 2, "ConfigError", "nothing.py: no such file"),
    ],
)
def test_with_json_an_error_is_a_json_object_on_stdout_and_a_line_on_stderr(
    args: list[str],
    code: int,
    error: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["paths", *args, "--input", INPUT, "--json"])
    assert result.exit_code == code, result.output
    refused = json.loads(result.stdout)
    assert refused["error"] == error and message in refused["message"]
    assert message in result.stderr


def test_without_json_an_error_leaves_stdout_empty() -> None:
    result = runner.invoke(app, ["paths", ORDER, "--input", INPUT, "--to", "shiped"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "--to: machine 'order' has no state 'shiped'" in result.stderr


def test_in_a_project_a_missing_implementations_file_names_the_key_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    (tmp_path / "implementations.py").unlink()
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["paths", "definitions/order.json", "--input", INPUT])

    assert result.exit_code == 2
    assert "implementations.py: no such file; fix implementations = in statewright.toml" in (
        result.stderr
    )
