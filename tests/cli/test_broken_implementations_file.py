"""An implementations file (`implementations =` in statewright.toml) that cannot be loaded
ends every command that loads it alike: exit 2 (a configuration error, docs/cli.md's table),
one line on stderr naming the file (and the line, for a syntax error) and the fix, with
`--json` the JSON error object on stdout, and nothing opened or written.

The commands come from the Typer app itself: each is run in a project whose implementations
file leaves a mark when it is imported, so a command that starts loading it is found as soon
as it is added, and must then be in `LOADS_IMPLEMENTATIONS`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_broken_project_file import COMMANDS, _arguments, _has_json
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store.url import URL_VARIABLE

runner = CliRunner(env={"COLUMNS": "200"})

#: The commands that register the project's machines, so import its implementations file.
LOADS_IMPLEMENTATIONS = {"start", "send", "bulk send", "verify", "worker", "serve"}
#: Not run here: `demo` serves its own example project until stopped, `init` makes one.
NOT_RUN = {"demo", "init"}

PROJECT = '[statewright]\nurl = "sqlite:///app.db"\ndefinitions = "definitions"\n' \
    'implementations = "implementations.py"\n'  # fmt: skip


#: Broken implementations files, each with the start of what its one line must say after
#: the file's path.
BROKEN = {
    "syntax error": ("GUARDS = {\n", ", line 1: SyntaxError: '{' was never closed; fix the file"),
    "raises": ("x = 1\nraise RuntimeError('no config')\n", ", line 2: RuntimeError: no config"),
    "missing attribute": (
        "import os\nKEY = os.no_such_thing\n",
        ", line 2: AttributeError: module 'os' has no attribute 'no_such_thing'",
    ),
    "not a dict": ("GUARDS = ['is_small']\n", ": GUARDS must be a dict of name -> function"),
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "statewright.toml").write_text(PROJECT)
    (tmp_path / "definitions").mkdir()
    return tmp_path


def test_the_commands_that_load_implementations_are_commands() -> None:
    assert set(COMMANDS) >= LOADS_IMPLEMENTATIONS | NOT_RUN


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - NOT_RUN))
def test_exactly_the_listed_commands_load_the_implementations_file(
    name: str, project: Path
) -> None:
    mark = project / "imported"
    (project / "implementations.py").write_text(
        f"open({str(mark)!r}, 'w').close()\nraise RuntimeError('broken')\n"
    )

    result = runner.invoke(app, [*name.split(), *_arguments(name)])

    assert mark.exists() == (name in LOADS_IMPLEMENTATIONS), result.output
    if name in LOADS_IMPLEMENTATIONS:
        assert result.exit_code == 2, result.output


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize("name", sorted(LOADS_IMPLEMENTATIONS))
def test_a_broken_implementations_file_exits_2_naming_it_and_writing_nothing(
    name: str, broken: str, project: Path
) -> None:
    text, says = BROKEN[broken]
    file = project / "implementations.py"
    file.write_text(text)

    result = runner.invoke(app, [*name.split(), *_arguments(name)])

    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{file}{says}"), line
    assert result.stdout == ""
    assert not (project / "app.db").exists()


@pytest.mark.parametrize("name", sorted(n for n in LOADS_IMPLEMENTATIONS if _has_json(n)))
def test_with_json_the_broken_implementations_file_is_the_json_error(
    name: str, project: Path
) -> None:
    file = project / "implementations.py"
    file.write_text("GUARDS = {\n")

    result = runner.invoke(app, [*name.split(), *_arguments(name), "--json"])

    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error["error"] == "ConfigError"
    assert error["message"] == result.stderr.strip()
    assert error["message"].startswith(f"{file}, line 1: SyntaxError")
    assert not (project / "app.db").exists()
