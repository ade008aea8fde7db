"""`--machines FILE`: imported once, able to import the modules beside it, and every way it can
fail to load is one line naming the file (and line) and the fix, with nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine

runner = CliRunner()

SETUP = """
from pathlib import Path

from statewright import Machine
from {helper} import job

with open(Path(__file__).with_suffix(".log"), "a") as imports:
    imports.write("imported\\n")

MACHINES = [Machine.from_config({{
    "id": "once",
    "initial": "a",
    "states": {{
        "a": {{"invoke": {{"src": "job", "onDone": "b"}}}},
        "b": {{"type": "final"}},
    }},
}}, actors={{"job": job}})]
"""

HELPER = """
def job(input):
    import {setup}  # the setup file, imported back: the same module, not a second run
    return {{"ran": True}}
"""


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    Engine.open(url).close()
    return url


def worker(url: str, machines: Path | str, *more: str) -> tuple[int, str]:
    result = runner.invoke(app, ["worker", "--url", url, "--machines", str(machines), *more])
    return result.exit_code, result.output


def test_the_file_runs_once_and_imports_the_modules_beside_it(url: str, tmp_path: Path) -> None:
    (tmp_path / "setup_helper_once.py").write_text(HELPER.format(setup="setup_runs_once"))
    setup = tmp_path / "setup_runs_once.py"
    setup.write_text(SETUP.format(helper="setup_helper_once"))
    with Engine.open(url) as engine:
        engine.register(
            Machine.from_config(
                {
                    "id": "once",
                    "initial": "a",
                    "states": {
                        "a": {"invoke": {"src": "job", "onDone": "b"}},
                        "b": {"type": "final"},
                    },
                }
            )
        )
        engine.start("once", instance_id="o-1")

    code, output = worker(url, setup, "--once")

    assert code == 0, output
    assert (tmp_path / "setup_runs_once.log").read_text() == "imported\n"
    with Engine.open(url) as engine:
        assert engine.get("o-1").status == "done"


def failure(url: str, machines: Path | str) -> str:
    """The worker's output for a setup file that cannot load: one line, no traceback."""
    code, output = worker(url, machines, "--once")
    assert code == 2, output  # bad input, as docs/cli.md's table says
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) == 1, output
    return output.strip()


def test_a_mistyped_path_names_the_file_and_the_near_miss(url: str, tmp_path: Path) -> None:
    (tmp_path / "machines.py").write_text("MACHINES = []\n")

    line = failure(url, tmp_path / "machine.py")

    assert line.startswith(f"{tmp_path / 'machine.py'}: no such file;")
    assert f'did you mean "{tmp_path / "machines.py"}"?' in line


def test_a_folder_is_not_a_setup_file(url: str, tmp_path: Path) -> None:
    assert "is a folder; give the Python file in it" in failure(url, tmp_path)


def test_a_syntax_error_names_the_line(url: str, tmp_path: Path) -> None:
    setup = tmp_path / "broken_syntax.py"
    setup.write_text("from statewright import Machine\n\nMACHINES = [\n")

    line = failure(url, setup)

    assert line.startswith(f"{setup}, line 3: SyntaxError:")
    assert line.endswith("fix the file")


def test_a_missing_module_names_the_import_line_and_the_fix(url: str, tmp_path: Path) -> None:
    setup = tmp_path / "missing_import.py"
    setup.write_text("MACHINES = []\nimport no_such_module_for_statewright\n")

    line = failure(url, setup)

    assert line == (
        f"{setup}, line 2: no module named 'no_such_module_for_statewright'; install it, or "
        "put no_such_module_for_statewright.py beside missing_import.py (its folder is on the "
        "import path)"
    )


def test_an_exception_at_import_names_its_line(url: str, tmp_path: Path) -> None:
    setup = tmp_path / "raises_at_import.py"
    setup.write_text("def connect():\n    raise RuntimeError('no database')\n\nconnect()\n")

    line = failure(url, setup)

    assert line == (
        f"{setup}, line 2: RuntimeError: no database (raised while importing it); fix the file"
    )


def test_an_exception_in_a_module_beside_it_names_both_lines(url: str, tmp_path: Path) -> None:
    (tmp_path / "beside_raises.py").write_text("VALUE = 1\nraise ValueError('bad config')\n")
    setup = tmp_path / "imports_raising.py"
    setup.write_text("import beside_raises\nMACHINES = []\n")

    line = failure(url, setup)

    assert line.startswith(
        f"{setup}, line 1 (in {tmp_path / 'beside_raises.py'}, line 2): ValueError: bad config"
    )


def test_a_file_without_machines_says_what_to_add(url: str, tmp_path: Path) -> None:
    setup = tmp_path / "no_machines.py"
    setup.write_text("LISTENERS = {}\n")

    assert failure(url, setup) == (
        f"{setup} defines no MACHINES list of machines; add MACHINES = [Machine.load(...), ...]"
    )


def test_malformed_listeners_are_refused(url: str, tmp_path: Path) -> None:
    setup = tmp_path / "bad_listeners.py"
    setup.write_text('MACHINES = []\nLISTENERS = {"order.*": "not a function"}\n')

    assert "LISTENERS must be a dict of event pattern -> function" in failure(url, setup)


def test_verify_reports_a_broken_file_the_same_way(url: str, tmp_path: Path) -> None:
    setup = tmp_path / "verify_missing.py"
    setup.write_text("import no_such_module_for_statewright\n")

    result = runner.invoke(app, ["verify", "--url", url, "--machines", str(setup)])

    assert result.exit_code == 2  # bad input, as docs/cli.md's table says
    assert result.stderr.strip().startswith(f"{setup}, line 1: no module named")


UNRUNNABLE = """
from statewright import Machine

MACHINES = [
    Machine.from_config(
        {
            "id": "guarded",
            "initial": "a",
            "states": {"a": {"on": {"GO": {"target": "b", "guard": "isReady"}}}, "b": {}},
        }
    )
]
"""


@pytest.mark.parametrize("command", ["worker", "verify"])
def test_a_machine_missing_a_guard_is_one_line_naming_the_file_and_the_guard(
    url: str, tmp_path: Path, command: str
) -> None:
    setup = tmp_path / f"unrunnable_{command}.py"
    setup.write_text(UNRUNNABLE)
    more = ["--once"] if command == "worker" else []

    result = runner.invoke(app, [command, "--url", url, "--machines", str(setup), *more])

    assert result.exit_code == 1, result.output
    line = " ".join(result.output.split())
    assert line.startswith(f"{setup}: "), result.output
    assert "isReady" in line
    assert "Traceback" not in result.output
    with Engine.open(url) as engine:
        assert engine.store.get_definition("guarded") is None  # nothing stored


def test_a_missing_implementations_file_names_the_project_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATEWRIGHT_URL", raising=False)
    assert runner.invoke(app, ["init", str(tmp_path / "shop")]).exit_code == 0
    toml = tmp_path / "shop" / "statewright.toml"
    toml.write_text(toml.read_text().replace('"implementations.py"', '"impl.py"'))
    monkeypatch.chdir(tmp_path / "shop")

    result = runner.invoke(app, ["worker", "--once"])

    assert result.exit_code == 2
    line = result.output.strip()
    missing = tmp_path / "shop" / "impl.py"
    assert line == f"{missing}: no such file; fix implementations = in statewright.toml"
    assert "--machines" not in line
