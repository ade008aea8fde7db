"""The order example runs durably: killed while it waits for approval, continued by a new
process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "examples" / "order" / "durable.py"

pytestmark = pytest.mark.slow


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_an_order_survives_its_process_being_killed(store_url: str) -> None:
    first = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "start",
            "--db",
            store_url,
            "--id",
            "A-7",
            "--amount",
            "2500",
            "--wait",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert first.stdout is not None
    assert first.stdout.readline().startswith("A-7 v1: pending_approval (waiting)")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    first.stdout.close()

    out = run("send", "--db", store_url, "--id", "A-7", "APPROVE", "by=ann")

    assert "A-7 v2: pending_approval -> payment" in out
    state = json.loads(out.splitlines()[-1])
    assert state["value"] == "payment"
    assert state["runtime_status"] == "running"
    assert state["context"]["approvedBy"] == "ann"
