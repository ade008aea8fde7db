"""`statewright validate` checks a definition against a project's implementations file as
`init` writes it (GUARDS, ACTIONS, ACTORS, DELAYS), as docs/cli.md and --help show."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


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


FROM_PROJECT = "checked against implementations.py (statewright.toml's implementations)"


def test_in_a_project_the_definition_is_checked_against_its_implementations_file(
    project: Path,
) -> None:
    result = run("validate", "definitions/order.json")

    assert result.exit_code == 0, result.output
    assert FROM_PROJECT in result.stdout
    assert "is not provided" not in result.stdout
    assert "to provide at run time" not in result.stdout


def test_in_a_project_a_guard_its_implementations_file_lacks_is_a_fault(project: Path) -> None:
    implementations = project / "implementations.py"
    text = implementations.read_text().replace('GUARDS = {"isSmall": is_small}', "GUARDS = {}")
    implementations.write_text(text)

    result = run("validate", "definitions/order.json")

    assert result.exit_code == 1
    assert "guard 'isSmall' is not provided" in result.stdout
    assert FROM_PROJECT in result.stdout


def test_with_json_the_file_checked_against_is_named(project: Path) -> None:
    result = run("validate", "definitions/order.json", "--json")

    assert result.exit_code == 0, result.output
    said = json.loads(result.stdout)
    assert said["valid"] is True and said["missing"] == []
    assert said["checked_against"] == ["implementations.py"]


def test_implementations_given_are_checked_against_instead_of_the_projects(
    project: Path,
) -> None:
    (project / "only_guards.py").write_text("IMPLS = {'guards': {'isSmall': lambda c, e: True}}\n")

    result = run("validate", "definitions/order.json", "--implementations", "only_guards:IMPLS")

    assert result.exit_code == 0, result.output
    assert "checked against only_guards:IMPLS" in result.stdout
    assert "actor 'chargeCard' is not provided" in result.stdout
    assert "statewright.toml" not in result.stdout


def test_a_missing_implementations_file_names_the_key_to_fix(project: Path) -> None:
    (project / "implementations.py").unlink()

    result = run("validate", "definitions/order.json")

    assert result.exit_code == 2
    assert "implementations.py: no such file" in result.stderr
    assert "fix implementations = in statewright.toml" in result.stderr


def test_a_project_without_an_implementations_file_lists_them_to_provide(project: Path) -> None:
    toml = project / "statewright.toml"
    toml.write_text(toml.read_text().replace('implementations = "implementations.py"', ""))

    result = run("validate", "definitions/order.json")

    assert result.exit_code == 0, result.output
    assert "implementations to provide at run time" in result.stdout
    assert "checked against" not in result.stdout
