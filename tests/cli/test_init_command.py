"""`statewright init` checks every path it would write before writing any, a failed `init`
leaves nothing behind, and its next steps work in a fresh environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner()


def init(folder: Path) -> Result:
    return runner.invoke(app, ["init", str(folder)])


def test_a_file_where_init_makes_a_folder_is_refused_before_writing(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "tests").write_text("notes\n")

    result = init(folder)

    assert result.exit_code == 4
    assert result.stderr.startswith(f"{folder / 'tests'} is a file, where init makes a folder")
    assert "move it away" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert [p.name for p in folder.iterdir()] == ["tests"]


@pytest.mark.parametrize("inside", ["", "sub"])
def test_a_file_given_as_the_folder_is_refused(tmp_path: Path, inside: str) -> None:
    file = tmp_path / "afile"
    file.write_text("notes\n")

    result = init(file / inside)

    assert result.exit_code == 4
    in_the_way = f"{file} is a file, where init makes a folder (for the project)"
    assert result.stderr.startswith(in_the_way)
    assert file.read_text() == "notes\n" and sorted(tmp_path.iterdir()) == [file]


def test_one_file_in_the_way_is_named_in_the_singular(tmp_path: Path) -> None:
    (tmp_path / "definitions").mkdir()
    (tmp_path / "definitions" / "order.json").write_text("{}")

    result = init(tmp_path)

    assert result.exit_code == 4
    assert "definitions/order.json exists already" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["definitions"]


def test_a_write_that_fails_part_way_removes_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_text = Path.write_text

    def disk_full_at_the_test(path: Path, text: str, encoding: str | None = None) -> int:
        if path.name == "test_order.py":
            raise OSError(28, "No space left on device", str(path))
        return write_text(path, text, encoding=encoding)

    monkeypatch.setattr(Path, "write_text", disk_full_at_the_test)
    folder = tmp_path / "shop"

    result = init(folder)

    assert result.exit_code == 2
    assert result.stderr.startswith(f"{folder / 'tests' / 'test_order.py'}: cannot write it")
    assert "No space left on device" in result.stderr and "nothing was written" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    result = init(Path("/proc/statewright-init"))

    assert result.exit_code == 2
    assert result.stderr.startswith("/proc/statewright-init: cannot write it")
    assert "Traceback" not in result.output


def test_the_next_steps_say_where_pytest_comes_from(tmp_path: Path) -> None:
    # pytest is no dependency of statewright: a fresh environment has no `pytest` to run.
    result = init(tmp_path / "shop")

    assert result.exit_code == 0
    next_steps = " ".join(result.stdout.split()).split("next: ", 1)[1]
    assert next_steps.startswith(f"cd {tmp_path / 'shop'}; pytest")
    assert "pip install pytest" in next_steps


def test_the_orders_start_input_is_checked_by_the_schema_the_definition_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATEWRIGHT_URL", raising=False)
    assert init(tmp_path / "shop").exit_code == 0
    monkeypatch.chdir(tmp_path / "shop")

    missing = runner.invoke(app, ["start", "order", "--id", "A-1", "--input", '{"orderId": "A-1"}'])
    assert missing.exit_code == 2
    said = " ".join(missing.output.split())
    assert "amount: 'amount' is a required property" in said and "statewright.input" in said

    started = runner.invoke(
        app, ["start", "order", "--id", "A-1", "--input", '{"orderId": "A-1", "amount": 25}']
    )
    assert started.exit_code == 0, started.output
