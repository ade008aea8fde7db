"""`statewright worker`: drains due work with --once; stops gracefully on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine

runner = CliRunner()

MACHINES = """
from statewright import Machine

MACHINES = [Machine.from_config({
    "id": "quick",
    "initial": "a",
    "states": {
        "a": {"after": {"0": "b"}},
        "b": {"invoke": {"id": "job", "src": "job", "onDone": "c"}},
        "c": {"type": "final"},
    },
}, actors={"job": lambda input: {"ok": True}})]
"""


def prepare(url: str, folder: Path) -> Path:
    machines = folder / "machines.py"
    machines.write_text(MACHINES)
    namespace: dict[str, object] = {}
    exec(compile(MACHINES, str(machines), "exec"), namespace)
    (machine,) = namespace["MACHINES"]  # type: ignore[misc]
    assert isinstance(machine, Machine)
    with Engine.open(url) as engine:
        engine.register(machine)
        engine.start("quick", instance_id="q-1")
    return machines


def test_once_drains_the_due_work(store_url: str, tmp_path: Path) -> None:
    machines = prepare(store_url, tmp_path)

    result = runner.invoke(
        app, ["worker", "--url", store_url, "--machines", str(machines), "--once"]
    )

    assert result.exit_code == 0, result.output
    assert "ran 2 units of due work" in result.output
    with Engine.open(store_url) as engine:
        assert engine.get("q-1").status == "done"


@pytest.mark.slow
def test_sigterm_stops_the_worker_gracefully(store_url: str, tmp_path: Path) -> None:
    machines = prepare(store_url, tmp_path)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "statewright",
            "worker",
            "--url",
            store_url,
            "--machines",
            str(machines),
            "--poll",
            "0.05",
            "--log",
            "json",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    deadline = time.monotonic() + 30
    with Engine.open(store_url) as engine:
        while engine.get("q-1").status != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.get("q-1").status == "done"
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)

    assert worker.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]  # --log json: one object a line
    messages = [line["message"] for line in lines]
    assert any("finishing the current work, then stopping" in m for m in messages), messages
    assert messages[-1] == "worker stopped"
    assert {line["logger"] for line in lines} == {"statewright.worker"}
    assert all({"time", "level"} <= set(line) for line in lines)
