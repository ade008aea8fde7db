"""`statewright worker`'s options and start: durations that make no sense are refused (exit 2,
nothing run), every error goes to stderr, and a store that cannot be reached at start is
waited for at most `--wait-for-store` (`--once`: one try), then exit 5."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine

runner = CliRunner(env={"COLUMNS": "200"})

#: Refused at once, reachable by nobody: nothing listens on port 1.
UNREACHABLE = "postgresql://127.0.0.1:1/x"

SOON = {
    "id": "soon",
    "initial": "a",
    "states": {"a": {"after": {"0": "b"}}, "b": {"type": "final"}},
}


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A store holding one instance whose timer is due now."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    with Engine.open(url) as engine:
        engine.register(Machine.from_config(SOON))
        engine.start("soon", instance_id="s-1")
    return url


def state(url: str) -> object:
    with Engine.open(url) as engine:
        return engine.get("s-1").value


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--lease", "-5"),
        ("--lease", "0.5"),
        ("--lease", "nan"),
        ("--lease", "inf"),
        ("--timer-lease", "0"),
        ("--outbox-lease", "0.5"),
        ("--poll", "-1"),
        ("--poll", "0"),
        ("--lease", "1e300"),
    ],
)
def test_a_duration_that_makes_no_sense_is_refused_naming_the_option(
    url: str, option: str, value: str
) -> None:
    result = runner.invoke(app, ["worker", "--url", url, "--once", option, value])

    assert result.exit_code == 2, result.output
    assert f"'{option}'" in result.stderr and "seconds from" in result.stderr
    assert result.stdout == ""
    assert state(url) == "a"  # the due timer did not fire


def test_the_shortest_durations_run(url: str) -> None:
    result = runner.invoke(
        app,
        ["worker", "--url", url, "--once", "--lease", "1", "--timer-lease", "1",
         "--outbox-lease", "1", "--poll", "0.01"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert state(url) == "b"


def test_a_machines_file_that_cannot_be_loaded_is_named_on_stderr(url: str) -> None:
    result = runner.invoke(app, ["worker", "--url", url, "--once", "--machines", "nope.py"])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert "nope.py: no such file" in result.stderr
    assert state(url) == "a"


def test_a_bad_url_exits_2_on_stderr() -> None:
    result = runner.invoke(app, ["worker", "--url", "mysql://x", "--once"])

    assert result.exit_code == 2 and result.stdout == ""
    assert "bad store URL 'mysql://x'" in result.stderr


def worker(*args: str) -> subprocess.CompletedProcess[str]:
    """The worker as a process: a hang fails the test (after a minute) instead of hanging it."""
    return subprocess.run(
        [sys.executable, "-m", "statewright", "worker", "--url", UNREACHABLE, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_once_on_a_store_it_cannot_reach_exits_5_without_waiting() -> None:
    done = worker("--once")

    assert done.returncode == 5, done.stderr
    (line,) = done.stderr.splitlines()  # one try: no outage logged, no retrying
    assert line.startswith(f"cannot reach PostgreSQL at {UNREACHABLE}")
    assert done.stdout == ""


@pytest.mark.slow
def test_a_store_it_cannot_reach_at_start_is_waited_for_then_exit_5() -> None:
    done = worker("--wait-for-store", "0.5")

    assert done.returncode == 5, done.stderr
    *logged, line = done.stderr.splitlines()
    assert len(logged) == 1 and "unavailable, retrying" in logged[0]  # the outage, once
    assert f"cannot reach PostgreSQL at {UNREACHABLE}" in line
    assert line.endswith("(waited 0.5 s for it at start; --wait-for-store sets how long)")
