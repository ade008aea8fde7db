"""`statewright demo`'s refusals (a bad --for or a missing examples folder changes nothing),
and where it finds the examples: here, else the copy installed with statewright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.cli.demo import machines

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "examples"


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


def test_outside_a_checkout_the_demo_reads_the_examples_installed_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / "site-packages" / "examples"
    for name in machines.FILES:
        (installed / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLES / name, installed / name)
    monkeypatch.setattr(machines, "PACKAGED", installed)
    monkeypatch.setattr(machines, "_CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.chdir(tmp_path)  # no examples/ here
    assert machines.default_examples() == installed
    result = runner.invoke(app, ["demo", "--offline"])
    assert result.exit_code == 0, result.output
    assert "A-1001" in result.stdout and "CANCEL → cancelled" in result.stdout


def test_examples_here_come_before_the_installed_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machines, "PACKAGED", EXAMPLES)
    monkeypatch.chdir(EXAMPLES.parent)
    assert machines.default_examples() == Path("examples")
    monkeypatch.chdir(tmp_path)  # neither here nor installed nor a checkout: named in the error
    monkeypatch.setattr(machines, "PACKAGED", tmp_path / "none")
    monkeypatch.setattr(machines, "_CHECKOUT", tmp_path / "none")
    assert machines.default_examples() == Path("examples")
