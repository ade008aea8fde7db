"""`statewright db migrate` on a PostgreSQL store already at this version's schema (a no-op),
run again and again while `statewright serve` takes starts over HTTP and a `statewright
worker` runs their timers, steps and outbox messages (real processes, real server): every
request is answered 201 without a stall, the worker and the server log no warning or
error, and every instance finishes."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_readme_api import free_port, wait_until_live
from workload import every_instance

from statewright.engine import Engine
from statewright.testing.postgres import create_schema, drop_schema

pytestmark = pytest.mark.slow

#: Seconds of load before the migrations start, while they run, and after.
WARM_S, AFTER_S = 1.5, 1.0
MIGRATIONS = 5
SENDERS = 2
#: The pause between two starts of a sender: about 80 starts a second in all.
PACE_S = 0.02
#: The longest a request may take while migrate runs: no stall (a lock held for a
#: migration, or a deadlock, holds requests for as long as it lasts; a request takes a few
#: ms on an idle machine, tens on a loaded one, and the margin is for a loaded CI machine).
STALL_S = 3.0

MACHINES = """
from statewright import Machine

MACHINES = [Machine.from_config({
    "id": "quick",
    "initial": "waiting",
    "states": {
        "waiting": {"after": {"50": "working"}},
        "working": {"invoke": {"id": "job", "src": "job", "onDone": "done"}},
        "done": {"type": "final", "entry": [
            {"type": "emit", "params": {"event": {"type": "quick.done"}}}]},
    },
}, actors={"job": lambda input: {"ok": True}})]
LISTENERS = {"quick.*": lambda message: None}
"""


@pytest.fixture
def pg_store_url(postgres_url: str) -> Iterator[str]:
    schema = f"test_{uuid.uuid4().hex[:16]}"
    url = create_schema(postgres_url, schema)
    Engine.open(url).close()  # the schema, at this version
    yield url
    drop_schema(postgres_url, schema)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as stderr:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "statewright", *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def test_a_no_op_migrate_disturbs_neither_serve_nor_a_worker(
    pg_store_url: str, tmp_path: Path
) -> None:
    url = pg_store_url
    machines = tmp_path / "machines.py"
    machines.write_text(MACHINES)
    with Engine.open(url) as engine:
        _, secret = engine.create_token(role="operator")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
    serve = _spawn(
        ["serve", "--url", url, "--port", str(port), "--machines", str(machines),
         "--no-access-log", "--rate", "0"],
        serve_log,
    )  # fmt: skip
    worker = _spawn(
        ["worker", "--url", url, "--machines", str(machines), "--poll", "0.05"], worker_log
    )
    #: (time sent, seconds taken, status) of each start
    requests: list[tuple[float, float, int]] = []
    stop = threading.Event()

    def send(sender: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}) as client:
            n = 0
            while not stop.is_set():
                n += 1
                began = time.monotonic()
                answer = client.post(
                    f"/api/v1/instances/s{sender}-{n}", json={"definition": "quick"}, timeout=30
                )
                requests.append((began, time.monotonic() - began, answer.status_code))
                time.sleep(PACE_S)

    senders = [threading.Thread(target=send, args=(n,), daemon=True) for n in range(SENDERS)]
    try:
        wait_until_live(serve, base)
        for thread in senders:
            thread.start()
        time.sleep(WARM_S)
        window_start = time.monotonic()
        runs = [
            subprocess.run(
                [sys.executable, "-m", "statewright", "db", "migrate", "--url", url],
                capture_output=True,
                text=True,
                timeout=60,
            )
            for _ in range(MIGRATIONS)
        ]
        window_end = time.monotonic()
        time.sleep(AFTER_S)
        stop.set()
        for thread in senders:
            thread.join(timeout=60)
        with Engine.open(url) as engine:
            deadline = time.monotonic() + 60
            while engine.list(status="active", limit=1):
                assert time.monotonic() < deadline, "the worker did not finish the instances"
                time.sleep(0.1)
            finished = list(every_instance(engine))
    finally:
        stop.set()
        _stop(serve)
        _stop(worker)
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "is up to date" in run.stdout and "applied" not in run.stdout
        assert run.stderr == ""
    during = [took for began, took, _ in requests if window_start <= began <= window_end]
    before = [took for began, took, _ in requests if began < window_start]
    assert [status for _, _, status in requests if status != 201] == []
    assert len(during) > 10 and len(before) > 10
    assert max(during) < STALL_S, (max(during), statistics.median(during))
    print(  # the measurement, for -s
        f"starts before migrate: {len(before)}, median {statistics.median(before) * 1000:.1f} "
        f"ms, max {max(before) * 1000:.1f} ms; during {MIGRATIONS} migrates "
        f"({window_end - window_start:.1f} s): {len(during)}, median "
        f"{statistics.median(during) * 1000:.1f} ms, max {max(during) * 1000:.1f} ms"
    )
    assert len(finished) == len(requests)
    assert {instance.status for instance in finished} == {"done"}
    for log in (serve_log, worker_log):
        lines = log.read_text().splitlines()
        bad = [line for line in lines if any(w in line for w in ("WARNING", "ERROR", "Traceback"))]
        assert bad == [], log.name
    assert "worker stopped" in worker_log.read_text()
