"""The examples of docs/cli.md that read instances (`list`, `show`, `history`, `accepted`)
run as written in a project made by `statewright init`, after its `start` example."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"
READING = ("list", "show", "history", "accepted")

runner = CliRunner(env={"COLUMNS": "200"})


def examples(*commands: str) -> list[str]:
    """docs/cli.md's indented example lines of these commands, as written."""
    words = "|".join(map(re.escape, commands))
    pattern = re.compile(rf"^ {{4}}(statewright (?:{words}) .*)$", re.MULTILINE)
    return pattern.findall(DOCS.read_text(encoding="utf-8"))


def run(line: str) -> None:
    words = shlex.split(line.split("  #", 1)[0])
    assert words[0] == "statewright"
    result = runner.invoke(app, words[1:])
    assert result.exit_code == 0, f"{line}\n{result.output}"


def test_the_docs_show_examples_of_each_reading_command() -> None:
    found = {line.split()[1] for line in examples(*READING)}
    assert found == set(READING)


@pytest.mark.slow
def test_the_reading_examples_run_in_an_init_project(project: Path) -> None:
    run(next(line for line in examples("start") if " --id A-1 " in line))
    for line in examples(*READING):
        run(line)
