"""Every command of the `statewright` app is documented in docs/cli.md, with an example there
and in its --help."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from statewright.cli import app

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command's words (`("db", "migrate")`), groups walked."""

    def walk(command: object, words: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        children = getattr(command, "commands", None)
        if children:
            for name, child in sorted(children.items()):
                yield from walk(child, (*words, name))
        else:
            yield words

    yield from walk(typer.main.get_command(app), ())


COMMANDS = list(command_paths())


def sections() -> dict[str, str]:
    """docs/cli.md's `## ` sections by heading."""
    found: dict[str, str] = {}
    heading = ""
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            heading = line
            found[heading] = ""
        elif heading:
            found[heading] += line + "\n"
    return found


def test_the_walk_finds_the_commands() -> None:
    assert {("start",), ("send",), ("db", "migrate"), ("worker",)} <= set(COMMANDS)


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_a_section_with_an_example(words: tuple[str, ...]) -> None:
    name = "statewright " + " ".join(words)
    matching = [body for head, body in sections().items() if head.startswith(f"## `{name}")]
    assert matching, f"docs/cli.md has no section headed ## `{name} ...`"
    example = re.compile(rf"^\s*(\$ )?{re.escape(name)}(\s|$)", re.MULTILINE)
    assert example.search(matching[0]), f"the section on {name} shows no example command line"


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(words: tuple[str, ...]) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: statewright " + " ".join(words) in result.output


def test_the_exit_codes_are_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for code in range(6):
        assert re.search(rf"^\|\s*{code}\s*\|", text, re.MULTILINE), f"exit code {code}"


@pytest.mark.parametrize(
    "group",
    sorted({words[:-1] for words in COMMANDS}),
    ids=lambda group: " ".join(("statewright", *group)),
)
def test_every_command_is_summed_up_in_one_line_of_its_groups_help(
    group: tuple[str, ...],
) -> None:
    """The list of commands shows each one's first paragraph; a sentence broken over lines
    there reads as a wrapped mess, so each summary is one line and the rest follows it."""
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*group, "--help"])
    assert result.exit_code == 0, result.output
    rows = result.output.split("Commands", 1)[1].splitlines()[1:]
    names = {words[-1] for words in COMMANDS if words[:-1] == group}
    wrapped = [row for row in rows if re.match(r"^│\s{3,}\S", row)]
    assert not wrapped, f"a summary runs over lines in `{' '.join(group)} --help`: {wrapped}"
    listed = {match[1] for row in rows if (match := re.match(r"^│ (\S+)", row))}
    assert names <= listed


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_help_paragraphs_wrap_to_the_terminal_not_to_the_source(words: tuple[str, ...]) -> None:
    """Each paragraph of a command's help fills the terminal's lines: a line break kept from
    the docstring would leave a short line in mid-paragraph ("and 2" / "naming each ...")."""
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    text = result.output.split("╭", 1)[0].split("Usage:", 1)[1]
    paragraphs = [p.splitlines() for p in re.split(r"\n\s*\n", text.split("\n", 1)[1])]
    for lines in paragraphs:
        lines = [line.strip() for line in lines if line.strip()]
        for line, after in itertools.pairwise(lines):
            fits = len(line) + 1 + len(after.split(" ", 1)[0]) <= 78
            assert not fits, f"`{' '.join(words)} --help` breaks after {line!r}"
