"""`statewright validate`: warnings are printed with their path and fix, and fail only
with --strict."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from statewright.cli import app

runner = CliRunner()

#: Raises "SUBMT" (a near miss of "SUBMIT") on entry and "ZZZ" (no near miss) after a delay.
WARNED = {
    "id": "m",
    "initial": "a",
    "states": {
        "a": {
            "entry": {"type": "raise", "params": {"event": "SUBMT"}},
            "on": {"SUBMIT": "b"},
        },
        "b": {"exit": [{"type": "raise", "params": {"event": "ZZZ", "delay": 100}}]},
    },
}

CLEAN = {
    "id": "m",
    "initial": "a",
    "states": {
        "a": {"entry": {"type": "raise", "params": {"event": "SUBMIT"}}, "on": {"SUBMIT": "b"}},
        "b": {},
    },
}


def write(tmp_path: Path, config: dict[str, object]) -> str:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_validate_prints_warnings_with_path_and_fix_and_passes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", write(tmp_path, WARNED)])
    assert result.exit_code == 0, result.output
    assert "2 warnings (it loads and runs):" in result.output
    lines = [line.strip() for line in result.output.splitlines()]
    at = lines.index(
        'states.a.entry.params.event: no state handles the raised event "SUBMT": '
        "it is dropped when processed"
    )
    assert lines[at + 1] == 'fix: did you mean "SUBMIT"?'
    assert "states.b.exit[0].params.event" in result.output
    assert "SUBMIT → m.b" in result.output  # the states are still shown


def test_validate_strict_fails_on_warnings_alone(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--strict", write(tmp_path, WARNED)])
    assert result.exit_code == 1, result.output
    assert "2 warnings (failing --strict):" in result.output
    assert 'did you mean "SUBMIT"?' in result.output


def test_validate_strict_passes_a_definition_without_warnings(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--strict", write(tmp_path, CLEAN)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_validate_quiet_still_prints_warnings(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "-q", write(tmp_path, WARNED)])
    assert result.exit_code == 0, result.output
    assert 'did you mean "SUBMIT"?' in result.output
    assert "SUBMIT → m.b" not in result.output
