"""The public API type-checks as a user writes it: `mypy --strict` on public_api.py."""

from __future__ import annotations

from pathlib import Path

import pytest

import statewright

HERE = Path(__file__).parent


@pytest.mark.slow
def test_a_users_program_passes_mypy_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = pytest.importorskip("mypy.api")
    # The statewright under test, whatever else the environment has installed.
    monkeypatch.setenv("MYPYPATH", str(Path(statewright.__file__).parents[1]))
    out, err, status = api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "mypy"),
            "--config-file",
            "",
            "--python-version",
            "3.11",
            str(HERE / "public_api.py"),
        ]
    )
    assert status == 0, out + err


def test_a_macrostep_is_the_pair_its_type_says() -> None:
    """What the type checker is told (a `(Snapshot, effects)` pair) holds at run time."""
    machine = statewright.Machine.from_config(
        {"id": "m", "initial": "a", "states": {"a": {"after": {"1s": "b"}}, "b": {}}}
    )
    step = machine.initial_transition()
    snapshot, effects = step
    assert (snapshot, effects) == (step[0], step[1]) == (step.snapshot, step.effects)
    assert len(step) == 2
    assert list(step) == [step.snapshot, step.effects]
