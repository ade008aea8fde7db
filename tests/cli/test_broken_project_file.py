"""A `statewright.toml` that cannot be used ends every command that reads it alike: exit 2
(a configuration error, docs/cli.md's table), one line on stderr naming the file, the key
and the fix, with `--json` the JSON error object on stdout, and nothing written.

The commands come from the Typer app itself, so a new command is covered as soon as it is
added: one that reads no project must be named in `READS_NO_PROJECT`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from typer._click import Command
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store.url import URL_VARIABLE

runner = CliRunner(env={"COLUMNS": "200"})

#: Commands that read no statewright.toml. `validate`, `paths` and `diagram` read it (for
#: the "x" they are given here) to find a definition by id.
READS_NO_PROJECT = {"init", "demo"}

#: Arguments a command needs to get past its own parsing to where it reads the project;
#: any other command gets "x" for each required argument.
ARGUMENTS = {
    "prune": ["--finished-before", "30d"],
    "bulk cancel": ["--all"],
    "redrive": ["--all"],
    "bulk retry": ["--all"],
    "bulk send": ["APPROVE", "--all"],
    "serve": ["--port", "0"],
    "worker": ["--once"],
}

#: Broken files, each with what its one line must say.
BROKEN = {
    "not TOML": ("[statewright\n", "cannot read it"),
    "unknown key": ('[statewright]\nurll = "sqlite:///x.db"\n', "unknown key 'urll'"),
    "wrong type": ("[statewright]\ntenant = 3\n", "tenant must be a non-empty string"),
    "bad url": ('[statewright]\nurl = "sqlite://x.db"\n', "url: bad store URL 'sqlite://x.db'"),
}  # fmt: skip


def _commands(command: Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Command]]:
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _arguments(name: str) -> list[str]:
    if name in ARGUMENTS:
        return ARGUMENTS[name]
    required = [p for p in COMMANDS[name].params if isinstance(p, TyperArgument) and p.required]
    return ["x"] * len(required)


def _has_json(name: str) -> bool:
    params = COMMANDS[name].params
    return any(isinstance(p, TyperOption) and "--json" in p.opts for p in params)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_commands_that_read_no_project_are_commands() -> None:
    assert set(COMMANDS) >= READS_NO_PROJECT
    assert set(ARGUMENTS) <= set(COMMANDS)


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize("name", sorted(set(COMMANDS) - READS_NO_PROJECT))
def test_a_broken_project_file_exits_2_naming_it_and_writing_nothing(
    name: str, broken: str, folder: Path
) -> None:
    text, says = BROKEN[broken]
    toml = folder / "statewright.toml"
    toml.write_text(text)

    result = runner.invoke(app, [*name.split(), *_arguments(name)])

    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{toml}: ") and says in line, line
    assert result.stdout == ""
    assert sorted(path.name for path in folder.iterdir()) == ["statewright.toml"]
    assert toml.read_text() == text


WITH_JSON = sorted(n for n in set(COMMANDS) - READS_NO_PROJECT if _has_json(n))


@pytest.mark.parametrize("name", WITH_JSON)
def test_with_json_the_broken_project_file_is_the_json_error(name: str, folder: Path) -> None:
    toml = folder / "statewright.toml"
    toml.write_text('[statewright]\ncolour = "red"\n')

    result = runner.invoke(app, [*name.split(), *_arguments(name), "--json"])

    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error["error"] == "ConfigError"
    assert error["message"] == result.stderr.strip()
    assert error["message"].startswith(f"{toml}: unknown key 'colour' in [statewright]")
    assert sorted(path.name for path in folder.iterdir()) == ["statewright.toml"]
