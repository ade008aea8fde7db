"""`statewright validate` checks a definition against a project's implementations file as
`init` writes it (GUARDS, ACTIONS, ACTORS, DELAYS), as docs/cli.md and --help show."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "shop"
    assert run("init", str(folder)).exit_code == 0
    monkeypatch.chdir(folder)
    return folder


def test_the_documented_example_checks_the_projects_implementations(project: Path) -> None:
    example = "statewright validate definitions/order.json --machines implementations.py"
    assert f"Example: {example}" in run("validate", "--help").stdout

    result = run(*example.split()[1:])

    assert result.exit_code == 0, result.output
    assert "machine 'order', 8 states" in result.stdout


def test_a_guard_the_implementations_file_lacks_fails_the_check(project: Path) -> None:
    implementations = project / "implementations.py"
    text = implementations.read_text().replace('GUARDS = {"isSmall": is_small}', "GUARDS = {}")
    implementations.write_text(text)

    result = run("validate", "definitions/order.json", "--machines", "implementations.py")

    assert result.exit_code == 1
    assert "guard 'isSmall' is not provided" in result.stdout


def test_a_dict_of_one_kind_is_named_as_such(project: Path) -> None:
    result = run(
        "validate", "definitions/order.json", "--implementations", "implementations:ACTORS"
    )

    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "implementations:ACTORS is a dict keyed by chargeCard, not by kind" in message
    assert "use --machines FILE" in message
