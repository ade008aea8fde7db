"""docs/api.md's first example, as written: its `machines.py` beside the repository's
`examples/`, its `db migrate` and `tokens create` commands, then its requests against the app
`serve --url ... --machines machines.py` makes (in-process; the requests' method, path,
headers and bodies are read from its curl lines)."""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from statewright.api import create_app
from statewright.cli import app as cli
from statewright.cli.machines_file import load_machines
from statewright.engine import Engine
from statewright.store.url import URL_VARIABLE

ROOT = Path(__file__).parents[2]
API_DOC = ROOT / "docs" / "api.md"
TOKEN = re.compile(r"TOKEN=\$\((statewright .*)\)")

runner = CliRunner()


def first_blocks() -> tuple[str, list[str]]:
    """The doc's first Python block (machines.py) and its first shell block's command lines."""
    text = API_DOC.read_text(encoding="utf-8")
    python = text.split("```python\n", 1)[1].split("```", 1)[0]
    shell = text.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    return python, [line.split("  #", 1)[0].strip() for line in shell.splitlines()]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the repository root as far as the example reads it, as the current folder."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the machines file's folder goes first
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:  # machines.py and the example's steps
        del sys.modules[name]


def curl(line: str, token: str) -> tuple[str, str, dict[str, str], str | None]:
    words = shlex.split(line.replace("$TOKEN", token))
    assert words[0] == "curl", line
    method, url, headers, body = "GET", "", {}, None
    pairs = iter(words[1:])
    for word in pairs:
        if word == "-X":
            method = next(pairs)
        elif word == "-H":
            name, value = next(pairs).split(":", 1)
            headers[name] = value.strip()
        elif word == "-d":
            body = next(pairs)
        elif not word.startswith("-"):
            url = word
    return method, url.removeprefix("http://127.0.0.1:8000"), headers, body


@pytest.mark.slow
def test_the_first_example_of_api_md_runs_as_written(folder: Path) -> None:
    machines_py, lines = first_blocks()
    assert machines_py.startswith("# machines.py\n")
    (folder / "machines.py").write_text(machines_py, encoding="utf-8")
    migrate, token_line, serve, *requests = [line for line in lines if line]
    assert runner.invoke(cli, shlex.split(migrate)[1:]).exit_code == 0
    made = TOKEN.fullmatch(token_line)
    assert made, token_line
    created = runner.invoke(cli, shlex.split(made[1])[1:])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    words = shlex.split(serve.removesuffix("&"))
    assert words[:2] == ["statewright", "serve"]
    url, machines = words[words.index("--url") + 1], words[words.index("--machines") + 1]
    answers = []
    with Engine.open(url) as engine:
        for machine in load_machines(Path(machines)):
            engine.register(machine)
        with TestClient(create_app(engine)) as client:
            for line in requests:
                method, path, headers, body = curl(line, token)
                answers.append(client.request(method, path, headers=headers, content=body))
    started, approved = answers
    assert started.status_code == 201, started.text
    assert (started.json()["value"], started.headers["ETag"]) == ("pending_approval", '"1"')
    assert approved.status_code == 200, approved.text
    assert approved.json()["to_value"] == "payment"
