"""`statewright demo`'s refusals: a bad --for or a missing examples folder changes nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from statewright.cli import app

runner = CliRunner()


def test_a_bad_for_is_refused_with_the_form_to_write(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--for", "soon", "--dir", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "--for 'soon' is not a duration; write e.g. 30s, 5m or 1h" in result.output
    assert not (tmp_path / "d").exists()


def test_missing_examples_are_named_with_the_fix_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "examples" / "order").mkdir(parents=True)
    result = runner.invoke(
        app, ["demo", "--examples", str(tmp_path / "examples"), "--dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "missing order/order.json, approval/approval.json" in output
    assert "run the demo from the repository root, or give --examples" in output
    assert not (tmp_path / "d").exists()


def test_the_offline_demo_without_the_examples_names_the_fix(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--offline", "--examples", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert f"cannot load the order example from {tmp_path / 'none' / 'order'}" in result.stderr
    assert "give --examples the repository's examples folder" in result.stderr
    assert result.stdout == ""
