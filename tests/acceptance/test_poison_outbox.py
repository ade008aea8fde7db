"""A message whose listener kills its worker process every time (SIGKILL, as a segfault in a C
extension or the OOM killer would) ends in the dead letters after the retry policy's attempts,
as a poison step ends in onError: each claim charges an attempt, and the claim that finds them
used up by lost deliveries dead-letters it. The other messages are delivered, each once.
Real worker processes, real time, both stores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import poison_outbox_child as child
import pytest

from statewright import Machine
from statewright.engine import Engine

CHILD = Path(child.__file__)
IDS = ["poison-1"] + [f"n-{index}" for index in range(8)]

pytestmark = pytest.mark.slow


def spawn(url: str, log: Path, stderr: Path) -> subprocess.Popen[str]:
    with stderr.open("a") as err:
        return subprocess.Popen(
            [sys.executable, str(CHILD), url, str(log)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )


def pending(engine: Engine) -> list[str]:
    return [
        m.message_id
        for instance_id in IDS
        for m in engine.store.outbox("default", instance_id)
        if m.status == "pending"
    ]


def test_a_message_that_kills_its_worker_every_time_is_dead_lettered(
    store_url: str, tmp_path: Path
) -> None:
    log, stderr = tmp_path / "calls.log", tmp_path / "workers.log"
    with Engine.open(store_url) as engine:
        engine.register(Machine.from_config(child.NOTE))
        for instance_id in IDS:
            engine.start("note", instance_id=instance_id)
        # Workers one after the other, each replaced when the poison message kills it.
        killed = 0
        deadline = time.monotonic() + 60
        while pending(engine):
            assert time.monotonic() < deadline, f"still pending: {pending(engine)}"
            worker = spawn(store_url, log, stderr)
            while worker.poll() is None and pending(engine) and time.monotonic() < deadline:
                time.sleep(0.05)
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)
                continue
            assert worker.returncode == -signal.SIGKILL, stderr.read_text()
            killed += 1
            assert killed <= child.POLICY.attempts, (
                f"the poison message killed {killed} workers and is still "
                f"{pending(engine)}: its attempts are not charged"
            )
        records = {m.instance_id: m for i in IDS for m in engine.store.outbox("default", i)}
        dead_letters = [m.message_id for m in engine.store.dead_letters(100)]

    poison = records.pop("poison-1")
    assert killed == child.POLICY.attempts
    assert (poison.status, poison.attempts) == ("dead", child.POLICY.attempts)
    assert poison.last_error == (
        f"statewright.WorkerLost: its worker stopped during each of its "
        f"{child.POLICY.attempts} deliveries (killed, or lost its store for a whole lease); "
        f"see the worker logs"
    )
    assert dead_letters == [poison.message_id]
    assert {(m.status, m.attempts) for m in records.values()} == {("delivered", 1)}

    starts: dict[str, list[tuple[str, str]]] = defaultdict(list)
    ends: dict[str, int] = defaultdict(int)
    for line in log.read_text().splitlines():
        kind, pid, message_id, attempt = line.split()
        if kind == "start":
            starts[message_id].append((pid, attempt))
        else:
            ends[message_id] += 1
    # Its listener ran once per attempt, each time in another worker, and never again.
    assert [attempt for _, attempt in starts[poison.message_id]] == ["1", "2", "3"]
    assert len({pid for pid, _ in starts[poison.message_id]}) == child.POLICY.attempts
    assert ends[poison.message_id] == 0
    for message in records.values():
        assert starts[message.message_id] == [(starts[message.message_id][0][0], "1")]
        assert ends[message.message_id] == 1
    assert (
        f"message dead-lettered: poison-1 (tenant default) note.sent, message "
        f"{poison.message_id}, attempt 3 of 3: statewright.WorkerLost" in stderr.read_text()
    )
