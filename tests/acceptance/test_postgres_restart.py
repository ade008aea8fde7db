"""PostgreSQL restarted twice under two running workers (real processes, real server).

`pg_ctl restart -m fast` cuts every session off, twice, while two `statewright worker`
processes run a few hundred orders (a charge step, a timer, an outbox message each). The
workers ride it out: each logs one line when the server goes away and one when it is back,
they carry on, every order finishes and every promise of DESIGN.md holds (each step result
and timer applied once, each message delivered, no work left, `verify` clean). The server is
this test's own (not the session's), since it is restarted. STATEWRIGHT_CHAOS_SCALE
(default 1) multiplies the orders (500: enough that the second restart comes while they run,
as fast as two workers take them) and the restarts (2).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from test_worker_kill import check_orders, seed_orders, spawn, wait_for_orders

from statewright.testing.postgres import TemporaryPostgres

SCALE = max(1, int(os.environ.get("STATEWRIGHT_CHAOS_SCALE", "1")))
ORDERS = 500 * SCALE
RESTARTS = 2 * SCALE

pytestmark = pytest.mark.slow

_BACK = re.compile(r"^(\S+ \S+) WARNING statewright\.worker store .* available again after")


def done_count(url: str) -> int:
    """How many orders are done (-1 while the server is gone), on a connection of its own:
    a pool's connections would each fail once after a restart and then wait to reconnect,
    blind while the workers finish the orders."""
    try:
        with psycopg.connect(url, connect_timeout=2) as connection:
            row = connection.execute(
                "SELECT count(*) FROM instances WHERE status <> 'active'"
            ).fetchone()
    except psycopg.OperationalError:
        return -1
    return int(row[0]) if row else -1


def test_workers_ride_out_postgres_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TemporaryPostgres() as server:
        url = server.create_database("restarts")
        setup, log = seed_orders(url, tmp_path, monkeypatch, ORDERS, "restart")
        logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
        files = [path.open("w") for path in logs]
        workers = [spawn(url, setup, log, stderr=file, lease_s=5) for file in files]
        restarts: list[tuple[float, float]] = []  # (restart began, server back), time.time()
        progress: list[int] = []
        baseline = 0
        try:
            wait_for_start = time.monotonic() + 60
            while not all("worker started" in path.read_text() for path in logs):
                assert time.monotonic() < wait_for_start, [p.read_text() for p in logs]
                time.sleep(0.02)
            for _ in range(RESTARTS):
                # Restart while orders are in flight, once a worker is back from the last
                # restart and the orders moved on.
                deadline = time.monotonic() + 120
                while (done := done_count(url)) < baseline + 5 or not any(
                    back_again(path) for path in logs
                ):
                    assert time.monotonic() < deadline, "the workers made no progress"
                    time.sleep(0.01)
                progress.append(done)
                began = time.time()
                server.restart()
                restarts.append((began, time.time()))
                while (baseline := done_count(url)) < 0:  # this connection is back too
                    time.sleep(0.01)
            last_restart = time.monotonic()
            wait_for_orders(url, 180)
            finished_s = time.monotonic() - last_restart
            assert all(worker.poll() is None for worker in workers), "a worker exited"
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=30)
            for file in files:
                file.close()
        results, timers, charges, deliveries = check_orders(url, log, ORDERS)
        verify = subprocess.run(
            [sys.executable, "-m", "statewright", "verify", "--url", url, "--machines",
             str(setup)],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert f"{ORDERS} of {ORDERS} instances match" in verify.stdout

    texts = [path.read_text() for path in logs]
    for text in texts:
        assert "Traceback" not in text, text
        down = text.count("unavailable, retrying")
        back = text.count("available again after")
        assert down == back, text  # every outage that began ended
        assert 1 <= down <= 3 * RESTARTS, text
    assert progress[-1] < ORDERS, progress  # the last restart came while orders ran
    resumed = [recovery_after(text, restarts) for text in texts]
    print(
        f"\n{ORDERS} orders, {RESTARTS} restarts of PostgreSQL under 2 workers "
        f"(orders done before each restart: {progress}): {results} step results applied "
        f"once, {timers} timers fired once, {len(deliveries)} messages delivered "
        f"({sum(deliveries.values()) - len(deliveries)} redelivered), "
        f"{sum(charges.values()) - ORDERS} charges repeated; outages logged per worker: "
        f"{[t.count('unavailable, retrying') for t in texts]}; a worker was working again "
        f"{', '.join(f'{s:.2f}' for r in resumed for s in r)} s after the server was back; "
        f"every order done {finished_s:.1f} s after the last restart"
    )
    for began, ready in restarts:
        print(f"  restart: {stamp(began)} .. {stamp(ready)}")
    for text in texts:
        for line in text.splitlines():
            if "unavailable, retrying" in line or "available again" in line:
                print("  " + line)


def recovery_after(text: str, restarts: list[tuple[float, float]]) -> list[float]:
    """For each restart, how long after the server was back (`pg_ctl -w` returned) the
    worker logged that it was working again: its first recovery line after the restart
    began (negative: it was back before pg_ctl noticed)."""
    backs = []
    for line in text.splitlines():
        match = _BACK.match(line)
        if match:
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
            backs.append(stamp.timestamp())
    found = []
    for began, ready in restarts:
        later = [back for back in backs if back >= began]
        if later:
            found.append(min(later) - ready)
    return found


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%H:%M:%S,%f")[:-3]


def back_again(log: Path) -> bool:
    """Whether every outage the worker logged has ended (so it works again)."""
    text = log.read_text()
    return text.count("unavailable, retrying") == text.count("available again after")
