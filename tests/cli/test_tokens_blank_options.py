"""`tokens create` refuses a blank --tenant or --name (an unset shell variable, say) as a
usage error naming the option, and creates nothing: a blank tenant would silently mean the
default one, a blank name would be stored as a name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store.url import URL_VARIABLE

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'app.db'}"
    assert runner.invoke(app, ["db", "migrate", "--url", store]).exit_code == 0
    return store


def tokens(url: str) -> list[dict[str, object]]:
    listed = runner.invoke(app, ["tokens", "list", "--url", url, "--json"])
    assert listed.exit_code == 0, listed.output
    found: list[dict[str, object]] = json.loads(listed.stdout)
    return found


@pytest.mark.parametrize(
    ("option", "value"),
    [("--tenant", ""), ("--tenant", "  "), ("--name", ""), ("--name", " ")],
)
def test_a_blank_tenant_or_name_is_refused_naming_the_option(
    url: str, option: str, value: str
) -> None:
    refused = runner.invoke(app, ["tokens", "create", "--url", url, option, value])
    assert refused.exit_code == 2
    assert f"Invalid value for {option}: {value!r} is blank" in refused.stderr
    assert f"leave {option} out" in refused.stderr
    assert refused.stdout == ""  # no secret printed
    assert tokens(url) == []


def test_without_name_or_tenant_the_token_has_no_name_and_the_default_tenant(url: str) -> None:
    created = runner.invoke(app, ["tokens", "create", "--url", url, "--json"])
    assert created.exit_code == 0, created.output
    token = json.loads(created.stdout)
    assert (token["tenant"], token["name"]) == ("default", "")
    assert [t["prefix"] for t in tokens(url)] == [token["prefix"]]
