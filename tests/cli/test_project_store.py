"""`serve`, `tokens` and `db` find the store as every command does: `--url`, then
STATEWRIGHT_URL, then the url of `statewright.toml` (from any folder of the project); `serve`
registers the project's definitions without `--machines`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.engine import Engine
from statewright.store.url import URL_VARIABLE

runner = CliRunner()


@pytest.fixture
def project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The init project with the tenant acme, run from one of its folders."""
    toml = project / "statewright.toml"
    toml.write_text(toml.read_text() + 'tenant = "acme"\n')
    monkeypatch.chdir(project / "definitions")  # any folder of the project
    return project


def test_db_and_tokens_use_the_projects_store_and_tenant(project: Path) -> None:
    migrated = runner.invoke(app, ["db", "migrate"])
    assert migrated.exit_code == 0, migrated.output
    assert (project / "statewright.db").is_file()
    assert not (project / "definitions" / "statewright.db").exists()
    created = runner.invoke(app, ["tokens", "create", "--role", "operator", "--json"])
    assert created.exit_code == 0, created.output
    token = json.loads(created.stdout)
    assert token["tenant"] == "acme"
    with Engine.open(f"sqlite:///{project / 'statewright.db'}", create=False) as engine:
        found = engine.authenticate(token["token"])
        assert found is not None and found.tenant == "acme"
    listed = runner.invoke(app, ["tokens", "list", "--json"])
    assert [t["prefix"] for t in json.loads(listed.stdout)] == [token["prefix"]]
    assert runner.invoke(app, ["db", "status"]).exit_code == 0


def test_url_and_environment_come_before_the_project(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert runner.invoke(app, ["db", "migrate", "--url", elsewhere]).exit_code == 0
    monkeypatch.setenv(URL_VARIABLE, elsewhere)
    created = runner.invoke(app, ["tokens", "create", "--tenant", "globex", "--json"])
    assert created.exit_code == 0, created.output
    with Engine.open(elsewhere, create=False) as engine:
        assert [t.tenant for t in engine.tokens()] == ["globex"]
    assert not (project / "statewright.db").exists()


def test_a_project_store_not_migrated_is_refused_naming_the_fix(project: Path) -> None:
    refused = runner.invoke(app, ["tokens", "create"])
    assert refused.exit_code == 5 and "statewright.db" in refused.stderr  # no such SQLite file
    served = runner.invoke(app, ["serve", "--port", "0"])
    assert served.exit_code == 5 and "statewright.db" in served.stderr  # no such SQLite file
    assert served.stdout == ""  # no banner
    assert not (project / "statewright.db").exists()


def test_serve_refuses_a_broken_project_before_opening_the_store(project: Path) -> None:
    (project / "implementations.py").write_text("GUARDS = {'isSmall': 1\n")
    served = runner.invoke(app, ["serve", "--port", "0"])
    assert served.exit_code == 2
    assert "implementations.py, line 1: SyntaxError" in served.stderr
    toml = project / "statewright.toml"
    toml.write_text(toml.read_text() + 'colour = "red"\n')
    for command in (["serve"], ["tokens", "list"], ["db", "status"]):
        refused = runner.invoke(app, command)
        assert refused.exit_code == 2 and "unknown key 'colour'" in refused.stderr, command
