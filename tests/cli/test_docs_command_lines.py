"""The command lines the other docs show (docs/operations.md, api.md, console.md and the
README) name real commands, with options those commands take; every option they mention
in passing is one some command takes. docs/cli.md has its own tests (test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from statewright.cli import app

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "docs" / name for name in ("operations.md", "api.md", "console.md")]
DOCS.append(ROOT / "README.md")
#: A command line in a code block: at the start of a line, after `$(` or a folder.
COMMAND_LINE = re.compile(r"(?:^ *|\$\(|/bin/)(statewright [^`\n#|;&)]*)", re.MULTILINE)
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
#: Options of other programs the README's prose names.
NOT_OURS = {"--strict"}  # mypy --strict

ROOT_COMMAND: Any = typer.main.get_command(app)


def resolve(words: list[str]) -> tuple[Any, int]:
    """The command `words` name, and how many words name it."""
    command, used = ROOT_COMMAND, 0
    while getattr(command, "commands", None) and used < len(words):
        if words[used] not in command.commands:
            break
        command, used = command.commands[words[used]], used + 1
    return command, used


def options(command: Any) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def every_option(command: Any = ROOT_COMMAND) -> set[str]:
    children = getattr(command, "commands", None)
    if not children:
        return options(command)
    return set().union(*(every_option(child) for child in children.values()))


def command_lines(path: Path) -> list[str]:
    """The doc's `statewright ...` lines in code: code blocks and backticks (prose that
    merely starts with the name, "statewright runs ...", is not code)."""
    text = path.read_text(encoding="utf-8")
    fenced = "\n".join(re.findall(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL))
    indented = "\n".join(re.findall(r"^ {4}(.*)$", text, re.MULTILINE))
    backticked = re.findall(r"`(statewright [^`]*)`", text)
    found = COMMAND_LINE.findall(fenced + "\n" + indented) + backticked
    return [line.split("  #", 1)[0].strip() for line in found]


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_every_command_line_names_a_command_and_its_options(path: Path) -> None:
    lines = command_lines(path)
    assert lines, f"{path.name} shows no command line"
    for line in lines:
        words = line.split()[1:]
        command, used = resolve(words)
        assert used and not getattr(command, "commands", None), f"{path.name}: {line!r}"
        taken = options(command)
        for word in words[used:]:
            if word.strip("[").startswith("--"):
                name = word.strip("[]").split("=", 1)[0]
                assert name in taken, f"{path.name}: {line!r}: no option {name}"


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_every_option_named_is_one_a_command_takes(path: Path) -> None:
    named = set(OPTION.findall(path.read_text(encoding="utf-8"))) - NOT_OURS
    assert named - every_option() == set()


def test_a_wrong_option_is_caught() -> None:
    command, used = resolve(["worker", "--lease", "5"])
    assert used == 1 and "--lease" in options(command)
    assert "--leases" not in every_option()
