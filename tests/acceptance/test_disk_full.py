"""SQLite on a full disk: a small tmpfs the test mounts, filled up while a worker runs.

While the disk is full, a send fails with a clear error (`StoreUnavailable` naming the full
disk and the fix) and writes nothing; the worker logs one line for the outage and keeps
running. Once space is freed, the work resumes: every order finishes, every promise holds
and `statewright verify` is clean. Needs root (to mount); skipped otherwise.
STATEWRIGHT_CHAOS_SCALE (default 1) multiplies the orders (40).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_worker_kill import check_orders, seed_orders, spawn, wait_for_orders
from workload import counter_machine

from statewright.engine import Engine
from statewright.errors import StoreUnavailable

SCALE = max(1, int(os.environ.get("STATEWRIGHT_CHAOS_SCALE", "1")))
ORDERS = 40 * SCALE
#: The tenant of the counter the test sends to (the orders are in the default tenant).
SIDE = "side"

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "8m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` for the block (unmounted afterwards)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a file into `folder` until its file system has no room left."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with contextlib.suppress(OSError):
            while os.write(descriptor, b"\0" * 4096):
                pass
        with contextlib.suppress(OSError):
            while os.write(descriptor, b"\0"):
                pass
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_fails_sends_cleanly_and_work_resumes_once_freed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        url = f"sqlite:///{disk / 'full.db'}"
        setup, log = seed_orders(url, tmp_path, monkeypatch, ORDERS, "full")
        with Engine.open(url) as engine:
            engine.register(counter_machine())
            engine.start("counter", instance_id="c-1", tenant=SIDE)
            engine.send("c-1", {"type": "INC"}, tenant=SIDE)
        with sqlite3.connect(disk / "full.db") as connection:  # the next write grows the WAL
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(disk)

        with Engine.open(url, create=False) as engine:
            before = engine.get("c-1", tenant=SIDE)
            with pytest.raises(StoreUnavailable) as info:
                engine.send("c-1", {"type": "INC"}, tenant=SIDE)
            message = str(info.value)
            assert "is full" in message and "free space" in message, message
            assert "nothing of this operation was written" in message
            after = engine.get("c-1", tenant=SIDE)
            assert (after.version, after.context) == (before.version, before.context)
            assert len(engine.history("c-1", tenant=SIDE)) == before.version

        worker_log = tmp_path / "worker.log"
        with worker_log.open("w") as stderr:
            worker = spawn(url, setup, log, stderr=stderr, lease_s=5)
            try:
                deadline = time.monotonic() + 30
                while "unavailable, retrying" not in worker_log.read_text():
                    assert time.monotonic() < deadline, worker_log.read_text()
                    assert worker.poll() is None, worker_log.read_text()
                    time.sleep(0.05)
                time.sleep(0.5)  # it keeps trying, and keeps running
                assert worker.poll() is None, worker_log.read_text()
                freed_at = time.monotonic()
                filler.unlink()
                wait_for_orders(url, 120)
                resumed_s = time.monotonic() - freed_at
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)

        results, timers, _, deliveries = check_orders(url, log, ORDERS)
        with sqlite3.connect(disk / "full.db") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        verify = subprocess.run(
            [sys.executable, "-m", "statewright", "verify", "--url", url, "--machines",
             str(setup)],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
        with Engine.open(url) as engine:
            engine.send("c-1", {"type": "INC"}, tenant=SIDE)
            assert engine.get("c-1", tenant=SIDE).context == {"n": 2}

    text = worker_log.read_text()
    assert "Traceback" not in text, text
    assert text.count("unavailable, retrying") == 1, text
    assert text.count("available again after") == 1, text
    print(
        f"\n{ORDERS} orders on a full disk: the send failed cleanly, {results} step results "
        f"applied once, {timers} timers fired once, {len(deliveries)} messages delivered; "
        f"all done {resumed_s:.1f} s after space was freed; the worker's lines:"
    )
    for line in text.splitlines():
        if "available" in line:
            print("  " + line)
