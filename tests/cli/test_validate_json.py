"""`statewright validate --json`: one JSON object on stdout with the verdict, the faults,
warnings and missing implementations (each with its path, message and fix), and the same
exit status as the text."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner()

#: Raises an event no state handles (a warning), names a guard nobody provided.
WARNED = {
    "id": "m",
    "initial": "a",
    "states": {
        "a": {
            "entry": {"type": "raise", "params": {"event": "SUBMT"}},
            "on": {"SUBMIT": {"target": "b", "guard": "isReady"}},
        },
        "b": {},
    },
}

#: Targets a state it lacks.
BROKEN = {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "nowhere"}}}}


def validate(tmp_path: Path, config: dict[str, object], *args: str) -> tuple[Result, dict]:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    result = runner.invoke(app, ["validate", str(path), "--json", *args])
    return result, json.loads(result.stdout)


def test_a_valid_definition_with_a_warning_and_a_missing_guard(tmp_path: Path) -> None:
    result, said = validate(tmp_path, WARNED)

    assert result.exit_code == 0, result.output
    assert said["valid"] is True and said["machine"] == "m"
    assert said["states"] == 3  # the root with its two, as the text counts them
    assert said["faults"] == []
    (warning,) = said["warnings"]
    assert warning["path"] == "states.a.entry.params.event"
    assert "SUBMT" in warning["message"] and "SUBMIT" in warning["fix"]
    (missing,) = said["missing"]
    assert "isReady" in missing["message"]


def test_strict_makes_the_same_definition_invalid_exit_1(tmp_path: Path) -> None:
    result, said = validate(tmp_path, WARNED, "--strict")

    assert result.exit_code == 1
    assert said["valid"] is False and len(said["warnings"]) == 1 and len(said["missing"]) == 1


def test_a_fault_is_named_with_its_path_and_fix_exit_1(tmp_path: Path) -> None:
    result, said = validate(tmp_path, BROKEN)

    assert result.exit_code == 1
    assert said["valid"] is False and said["machine"] == "m" and said["states"] is None
    (fault,) = said["faults"]
    assert fault["path"].startswith("states.a.on.GO")
    assert "nowhere" in fault["message"] and fault["fix"]


def test_a_machines_file_that_cannot_load_is_a_json_error_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken_machines.py"
    broken.write_text("raise RuntimeError('no config')\n")
    result, said = validate(tmp_path, WARNED, "--machines", str(broken))

    assert result.exit_code == 2
    assert said["error"] and "no config" in said["message"]
