"""An `--as-of` past the store's current position is refused in the command line's words:
a usage error naming `--as-of` and `--dry-run` (not the API's `"dry_run": true`), exit 2,
and nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright import AsOfAhead, Engine
from statewright.cli import app

pytestmark = pytest.mark.slow  # each test makes a project and starts an order

runner = CliRunner(env={"COLUMNS": "200"})


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def project(project: Path) -> Path:
    """The init project, with one order waiting."""
    started = run("start", "order", "--id", "A-1", "--input", '{"orderId": "A-1", "amount": 2500}')
    assert started.exit_code == 0, started.output
    return project


@pytest.mark.parametrize(
    "command",
    [
        ["bulk", "cancel", "--all"],
        ["bulk", "send", "APPROVE", "by=ann", "--all"],
        ["bulk", "retry", "--all"],
        ["redrive", "--all"],
    ],
    ids=" ".join,
)
def test_an_as_of_ahead_is_refused_naming_the_options(project: Path, command: list[str]) -> None:
    refused = run(*command, "--as-of", "99999")
    assert refused.exit_code == 2, refused.output
    assert "--as-of: 99999 is past the store's current position" in refused.stderr
    assert "--dry-run printed" in refused.stderr and '"dry_run"' not in refused.stderr
    answer = json.loads(run(*command, "--as-of", "99999", "--json").stdout)
    assert (answer["error"], answer["option"]) == ("UsageError", "--as-of")
    shown = json.loads(run("show", "A-1", "--json").stdout)
    assert (shown["value"], shown["version"]) == ("pending_approval", 1)  # nothing changed


def test_the_engine_gives_the_positions_on_the_error(project: Path) -> None:
    with Engine.open(f"sqlite:///{project / 'statewright.db'}") as engine:
        with pytest.raises(AsOfAhead) as bulk:
            engine.bulk_cancel(as_of=99999)
        with pytest.raises(AsOfAhead) as redrive:
            engine.redrive(as_of=99999)
    assert (bulk.value.as_of, bulk.value.position) == (99999, 1)
    assert redrive.value.as_of == 99999 and redrive.value.position < 99999
