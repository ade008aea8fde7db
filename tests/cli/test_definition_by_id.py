"""`validate`, `paths` and `diagram` take a definition id in a project, as `start` does: a
PATH that is not a file or folder is looked up by id (or file stem) in statewright.toml's
definitions folder; one that matches nothing is still "no such file", with the project's
definition ids in the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner(env={"COLUMNS": "200"})

INPUT = '{"orderId": "A-1", "amount": 2}'
APPROVAL = {"id": "approval", "initial": "waiting", "states": {"waiting": {}}}


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def project(project: Path) -> Path:
    """The init project, with a second definition in a file named apart from its id."""
    (project / "definitions" / "approval-flow.json").write_text(json.dumps(APPROVAL))
    return project


@pytest.mark.parametrize("name", ["order", "approval", "approval-flow"])
def test_validate_takes_a_definition_id_or_file_stem(project: Path, name: str) -> None:
    result = run("validate", name, "--quiet")

    assert result.exit_code == 0, result.output
    machine = "order" if name == "order" else "approval"
    file = "order.json" if name == "order" else "approval-flow.json"
    assert result.stdout.startswith(f"✓ {Path('definitions') / file}: machine {machine!r}")


def test_paths_takes_a_definition_id_from_a_folder_below_the_project(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "tests")

    result = run("paths", "order", "--input", INPUT, "--json")

    assert result.exit_code == 0, result.output
    assert "paid" in [path["state"] for path in json.loads(result.stdout)]


@pytest.mark.slow
def test_diagram_takes_a_definition_id(project: Path) -> None:
    result = run("diagram", "order", "--layout-json")

    assert result.exit_code == 0, result.output
    assert "order.paying" in json.loads(result.stdout)["states"]


def test_a_folder_of_that_name_is_taken_before_the_id(project: Path) -> None:
    (project / "order").mkdir()
    (project / "order" / "machine.json").write_text(json.dumps(APPROVAL))

    result = run("validate", "order", "--quiet")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("✓ order: machine 'approval'")


@pytest.mark.parametrize("command", ["validate", "paths", "diagram"])
def test_a_name_that_is_no_definition_names_the_ids_of_the_project(
    project: Path, command: str
) -> None:
    result = run(command, "ordr")

    assert result.exit_code == 1
    assert "ordr: no such file" in result.output
    fix = "fix: check the path, or give a definition id of this project: approval, order"
    assert fix in result.output


def test_a_close_file_name_is_suggested_with_the_ids(project: Path) -> None:
    result = run("validate", "definitions/ordr.json")

    assert result.exit_code == 1
    fix = 'did you mean "definitions/order.json"? Or give a definition id of this project:'
    assert fix in result.output


def test_with_json_a_name_that_is_no_definition_is_the_json_error(project: Path) -> None:
    result = run("paths", "ordr", "--json")

    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["error"] == "DefinitionError"
    assert "a definition id of this project: approval, order" in error["faults"][0]


def test_outside_a_project_a_missing_file_is_only_a_path_to_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = run("paths", "order")

    assert result.exit_code == 1
    assert "order: no such file" in result.output
    assert "fix: check the path\n" in result.output
    assert "definition id" not in result.output
