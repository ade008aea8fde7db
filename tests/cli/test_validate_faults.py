"""`statewright validate`: only faults are counted as faults; the implementations a definition
names and nobody provided are listed apart, whether or not the definition has faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app

runner = CliRunner()

#: One structural fault (the target "nope"); a guard, two actions and a step not provided.
BROKEN = {
    "id": "m",
    "initial": "a",
    "states": {
        "a": {
            "entry": "greet",
            "on": {"GO": {"target": "nope", "guard": "isReady", "actions": "record"}},
            "invoke": {"src": "work"},
        },
        "b": {},
    },
}

#: A misspelt duration (a fault, whatever is provided) and an entry action not provided.
MISSPELT = {
    "id": "m",
    "initial": "a",
    "states": {"a": {"entry": "greet", "after": {"1 minute": "b"}}, "b": {}},
}


def write(tmp_path: Path, config: dict[str, object]) -> str:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    return str(path)


def write_implementations(tmp_path: Path, actions: str) -> str:
    path = tmp_path / "implementations.py"
    path.write_text(f"GUARDS = {{}}\nACTIONS = {actions}\nACTORS = {{}}\nDELAYS = {{}}\n")
    return str(path)


def listed(output: str, head: str) -> list[str]:
    """The lines indented under `head` in `output`, stripped."""
    lines = output.splitlines()
    at = [line.strip() for line in lines].index(head)
    indent = len(lines[at]) - len(lines[at].lstrip())
    found = []
    for line in lines[at + 1 :]:
        if len(line) - len(line.lstrip()) <= indent:
            break
        found.append(line.strip())
    return found


def test_a_structural_fault_is_counted_without_the_missing_implementations(
    tmp_path: Path,
) -> None:
    result = runner.invoke(app, ["validate", write(tmp_path, BROKEN)])
    assert result.exit_code == 1
    assert "1 fault(s)" in result.output
    assert listed(result.output, "implementations to provide at run time:") == [
        "states.a.entry: action 'greet' is not provided",
        "states.a.on.GO.guard: guard 'isReady' is not provided",
        "states.a.on.GO.actions: action 'record' is not provided",
        "states.a.invoke.src: actor 'work' is not provided",
    ]


def test_a_misspelt_duration_is_the_one_fault_beside_a_missing_action(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", write(tmp_path, MISSPELT)])
    assert result.exit_code == 1
    assert "1 fault(s) (it cannot be registered)" in result.output
    assert 'states.a.after["1 minute"]' in result.output
    assert listed(result.output, "implementations to provide at run time:") == [
        "states.a.entry: action 'greet' is not provided"
    ]


def test_a_misspelt_duration_and_a_structural_fault_are_two_faults(tmp_path: Path) -> None:
    config = json.loads(json.dumps(MISSPELT))
    config["states"]["a"]["on"] = {"GO": "nope"}
    result = runner.invoke(app, ["validate", write(tmp_path, config)])
    assert result.exit_code == 1
    assert "2 fault(s)" in result.output
    assert listed(result.output, "implementations to provide at run time:") == [
        "states.a.entry: action 'greet' is not provided"
    ]


def test_strict_lists_the_missing_implementations_beside_a_structural_fault(
    tmp_path: Path,
) -> None:
    result = runner.invoke(app, ["validate", "--strict", write(tmp_path, BROKEN)])
    assert result.exit_code == 1
    assert "1 fault(s)" in result.output
    assert len(listed(result.output, "implementations missing:")) == 4


@pytest.mark.parametrize(
    ("actions", "faults", "still_missing"),
    [
        ("{}", "4 fault(s)", "guard 'isReady', action 'greet', action 'record'"),
        ("{'greet': print, 'record': print}", "2 fault(s)", "guard 'isReady'"),
    ],
)
def test_machines_fails_a_structural_fault_on_what_it_leaves_unprovided(
    tmp_path: Path, actions: str, faults: str, still_missing: str
) -> None:
    machines = write_implementations(tmp_path, actions)
    result = runner.invoke(app, ["validate", write(tmp_path, BROKEN), "--machines", machines])
    assert result.exit_code == 1
    assert faults in result.output
    for name in still_missing.split(", "):
        assert f"{name} is not provided" in result.output
    assert ("'greet'" in result.output) == ("'greet'" in still_missing)  # provided: not named
    # Workers provide steps: the step is listed, not counted.
    assert listed(result.output, "implementations to run on workers that provide them:") == [
        "states.a.invoke.src: actor 'work' is not provided"
    ]


def test_machines_lists_a_missing_step_beside_a_fault_register_refuses(tmp_path: Path) -> None:
    config = json.loads(json.dumps(MISSPELT))
    config["states"]["b"] = {"invoke": {"src": "work"}}
    machines = write_implementations(tmp_path, "{'greet': print}")
    result = runner.invoke(app, ["validate", write(tmp_path, config), "--machines", machines])
    assert result.exit_code == 1
    assert "1 fault(s) (Engine.register refuses it)" in result.output
    assert listed(result.output, "implementations to run on workers that provide them:") == [
        "states.b.invoke.src: actor 'work' is not provided"
    ]
