"""The command line, run in process."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app

ROOT = Path(__file__).parents[2]
runner = CliRunner()


def test_validate_prints_states_and_transitions() -> None:
    result = runner.invoke(app, ["validate", str(ROOT / "examples/order/order.json")])
    assert result.exit_code == 0, result.output
    assert "machine 'order', 16 states" in result.output
    assert "pending_approval" in result.output
    assert "APPROVE → order.payment" in result.output
    assert "actor 'chargeCard' is not provided" in result.output


def test_validate_strict_fails_on_missing_implementations() -> None:
    result = runner.invoke(app, ["validate", "--strict", str(ROOT / "examples/order/order.json")])
    assert result.exit_code == 1
    assert "chargeCard" in result.output


def test_validate_reports_every_fault_with_path_and_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "id": "m",
                "initial": "a",
                "states": {"a": {"on": {"GO": "bb"}, "intial": "x"}, "b": {}},
            }
        )
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "2 fault(s)" in result.output
    assert "states.a.on.GO" in result.output
    assert 'did you mean "b"?' in result.output
    assert "states.a.intial" in result.output


def test_validate_reports_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "no such file" in result.output


GATED = {
    "id": "gated",
    "initial": "a",
    "states": {
        "a": {"on": {"GO": {"target": "b", "guard": "isReady"}}},
        "b": {"invoke": {"src": "work", "onDone": "c"}},
        "c": {"type": "final"},
    },
}


def write_definition(tmp_path: Path, config: dict[str, object]) -> Path:
    path = tmp_path / "gated.json"
    path.write_text(json.dumps(config))
    return path


def fresh_module(folder: Path, text: str) -> str:
    """Write a module under a name no test imported before; its name."""
    name = f"impls_{uuid.uuid4().hex}"
    (folder / f"{name}.py").write_text(text)
    return name


def test_validate_fails_on_an_after_key_that_is_a_misspelt_duration(tmp_path: Path) -> None:
    config = {"id": "m", "initial": "a", "states": {"a": {"after": {"1 minute": "b"}}, "b": {}}}
    result = runner.invoke(app, ["validate", str(write_definition(tmp_path, config))])
    assert result.exit_code == 1
    assert 'states.a.after["1 minute"]' in result.output
    assert 'did you mean "1m"?' in result.output


def test_validate_fails_on_a_definition_register_cannot_store(tmp_path: Path) -> None:
    config = {"id": "m", "initial": "a", "states": {"a": {"meta": {"note": "\ud800"}}}}
    result = runner.invoke(app, ["validate", str(write_definition(tmp_path, config))])
    assert result.exit_code == 1
    assert "it cannot be registered" in result.output
    assert "lone surrogate at .states.a.meta.note" in result.output


def test_validate_checks_the_implementations_a_module_provides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = fresh_module(
        tmp_path, "FULL = {'guards': {'isReady': lambda c, e: True}}\nNONE = {}\n"
    )
    monkeypatch.chdir(tmp_path)  # the current folder is importable, as with python -m
    path = str(write_definition(tmp_path, GATED))

    missing = runner.invoke(app, ["validate", path, "--implementations", f"{module}:NONE"])
    assert missing.exit_code == 1
    assert "Engine.register refuses it" in missing.output
    assert "guard 'isReady' is not provided" in missing.output

    full = runner.invoke(app, ["validate", path, "-q", "--implementations", f"{module}:FULL"])
    assert full.exit_code == 0, full.output
    assert "to run on workers that provide them" in full.output
    assert "actor 'work' is not provided" in full.output

    strict = runner.invoke(
        app, ["validate", path, "--strict", "--implementations", f"{module}:FULL"]
    )
    assert strict.exit_code == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_here:X", "cannot import 'no_such_module_here'"),
        ("{module}:MISSING", "has no 'MISSING'"),
        ("{module}", "is not module:attr"),
        ("{module}:TEXT", "point it at a Machine"),
    ],
)
def test_validate_names_a_bad_implementations_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, message: str
) -> None:
    module = fresh_module(tmp_path, "TEXT = 'not implementations'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = spec.format(module=module)
    result = runner.invoke(
        app, ["validate", str(write_definition(tmp_path, GATED)), "--implementations", spec]
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_validate_checks_the_machine_of_a_machines_file(tmp_path: Path) -> None:
    path = write_definition(tmp_path, GATED)
    machines = tmp_path / "machines.py"
    machines.write_text(
        "from statewright import Machine\n"
        f"MACHINES = [Machine.load({str(path)!r}, guards={{'isReady': lambda c, e: True}},"
        " actors={'work': lambda i: i})]\n"
    )
    result = runner.invoke(app, ["validate", str(path), "--strict", "--machines", str(machines)])
    assert result.exit_code == 0, result.output

    other = tmp_path / "other.py"
    other.write_text("MACHINES = []\n")
    result = runner.invoke(app, ["validate", str(path), "--machines", str(other)])
    assert result.exit_code == 2
    assert "defines no machine 'gated'" in " ".join(result.output.split())


def test_demo_offline_steps_the_order_example_through_three_orders() -> None:
    result = runner.invoke(app, ["demo", "--offline", "--examples", str(ROOT / "examples")])
    assert result.exit_code == 0, result.output
    assert "escalated" in result.output
    assert "payment_failed" in result.output
    assert result.output.count("done, output") == 3
    assert "payment [tags: busy]" in result.output and "#busy" not in result.output


def test_every_command_has_help_and_is_documented() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    commands = [["validate"], ["demo"], ["verify"], ["worker"], ["db", "migrate"], ["db", "status"]]
    for command in commands:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output
        assert f"statewright {' '.join(command)}" in docs, command


@pytest.mark.parametrize("command", [["list"], ["verify"], ["bulk", "cancel"], ["prune"]])
def test_help_shows_no_value_beside_a_flag(command: list[str]) -> None:
    """A flag takes no value: its help line must not show a type as if it took one."""
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    flags = [line for line in result.output.splitlines() if "--json" in line or "--help" in line]
    assert flags and not [line for line in flags if "<bool>" in line or "BOOLEAN" in line]


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"statewright {version('statewright')}\n"


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["start", "order", "--version", "0"], "'--version'"),
        (["send", "A-1", "APPROVE", "--expected-version", "-1"], "'--expected-version'"),
        (["send", "A-1", " "], "the event type is empty"),
        (["bulk", "send", "", "--all"], "the event type is empty"),
    ],
    ids=["start-version", "expected-version", "send-event", "bulk-event"],
)
def test_a_bad_option_value_is_a_usage_error_naming_the_option_and_makes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], names: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, args)
    assert result.exit_code == 2, result.output
    assert names in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["send", "A-1", "APPROVE", "--data", '{"type": "REJECT"}'],
        ["send", "A-1", "APPROVE", "type=REJECT"],
        ["bulk", "send", "APPROVE", "type=REJECT", "--all"],
    ],
    ids=["data", "field", "bulk"],
)
def test_a_type_among_the_fields_other_than_the_event_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "the fields give type 'REJECT' but EVENT is 'APPROVE'" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["list"], ["show", "A-1"], ["bulk", "cancel", "--all"]])
def test_a_blank_tenant_is_refused_not_taken_for_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*command, "--tenant", " "])
    assert result.exit_code == 2, result.output
    assert "the tenant is blank" in result.output
    assert list(tmp_path.iterdir()) == []
