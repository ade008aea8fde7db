"""A definition naming a guard, action or delay the project's implementations file does not
provide is refused by every command that registers the project's machines, naming the
definition file and the fix a project's author makes (add it to the implementations file's
GUARDS, ACTIONS or DELAYS), not `machine.provide(...)`, which a project never calls."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_broken_implementations_file import LOADS_IMPLEMENTATIONS
from test_broken_project_file import _arguments
from typer.testing import CliRunner

from statewright.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.mark.parametrize("name", sorted(LOADS_IMPLEMENTATIONS))
def test_a_guard_the_implementations_file_lacks_is_named_with_where_to_add_it(
    name: str, project: Path
) -> None:
    implementations = project / "implementations.py"
    text = implementations.read_text()
    implementations.write_text(text.replace('"isSmall": is_small', '"isSmal": is_small'))

    result = runner.invoke(app, [*name.split(), *_arguments(name)])

    assert result.exit_code == 1, result.output
    said = result.stderr
    assert said.startswith("definitions/order.json: machine 'order' has 1 fault"), said
    assert "guard 'isSmall' is not provided" in said
    assert 'did you mean "isSmal"?' in said
    assert "add it to GUARDS in implementations.py" in said
    assert "machine.provide" not in said
    assert not (project / "statewright.db").exists()


def test_without_an_implementations_file_the_fix_is_to_name_one(project: Path) -> None:
    toml = project / "statewright.toml"
    lines = toml.read_text().splitlines()
    toml.write_text("\n".join(x for x in lines if not x.startswith("implementations")) + "\n")

    result = runner.invoke(app, ["verify"])

    assert result.exit_code == 1, result.output
    assert "guard 'isSmall' is not provided" in result.stderr
    assert 'implementations = "implementations.py"' in result.stderr
    assert "whose GUARDS dict provides it" in result.stderr
