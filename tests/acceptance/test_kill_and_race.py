"""Real processes: SIGKILL in the middle of a stream of sends, and writers racing.

Sizes are bounded for CI; set STATEWRIGHT_KILL_ROUNDS (default 6) and STATEWRIGHT_RACE_SENDS
(default 150 per process) for longer runs.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workload import every_instance

from statewright.engine import Engine

WORKLOAD = Path(__file__).with_name("workload.py")
INSTANCES = 4
KILL_ROUNDS = int(os.environ.get("STATEWRIGHT_KILL_ROUNDS", "6"))
RACE_SENDS = int(os.environ.get("STATEWRIGHT_RACE_SENDS", "150"))

pytestmark = pytest.mark.slow


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKLOAD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def prepare(url: str) -> None:
    sys.path.insert(0, str(WORKLOAD.parent))
    from workload import counter_machine

    with Engine.open(url) as engine:
        engine.register(counter_machine())
        for index in range(INSTANCES):
            engine.start("counter", instance_id=f"c-{index}")


def check_consistent(url: str) -> dict[str, int]:
    """Versions gap-free, every snapshot equal to its replay, n counts the INCs."""
    versions = {}
    with Engine.open(url) as engine:
        for instance in every_instance(engine):
            history = engine.history(instance.id)
            assert [entry.seq for entry in history] == list(range(1, instance.version + 1))
            assert instance.context == {"n": instance.version - 1}
            result = engine.verify(instance.id)
            assert result.ok, result.problem
            versions[instance.id] = instance.version
    return versions


@pytest.mark.parametrize("mode", ["stream", "threads", "asyncio", "starts"])
def test_sigkill_mid_stream_loses_no_committed_transition(store_url: str, mode: str) -> None:
    """`threads`: eight threads of one engine, their commits grouped, racing on the same
    instances: whatever a group had acknowledged before the kill is stored. `asyncio`:
    eight tasks of one event loop sending through `Engine.send_async`, their sends
    committed in the lane's batches: whatever a batch had acknowledged is stored. `starts`:
    eight tasks starting instances through `Engine.start_async`, in the start lane's
    batches: every start acknowledged is stored."""
    prepare(store_url)
    rng = random.Random(7)
    committed: dict[str, int] = {}
    args = [str(INSTANCES)] if mode == "stream" else [str(INSTANCES), "8"]  # 8 threads/tasks
    # Each round of starts adds instances that every later round's check replays: half the
    # rounds keep the run's length like the others'.
    rounds = max(2, KILL_ROUNDS // 2) if mode == "starts" else KILL_ROUNDS
    for _ in range(rounds):
        child = spawn(mode, store_url, *args)
        assert child.stdout is not None
        # Killed a random while after its first commit, however long it took to start.
        first = child.stdout.readline()
        time.sleep(rng.uniform(0.1, 0.6))
        child.send_signal(signal.SIGKILL)
        # Read the rest through the same buffered pipe `readline` read ahead of: communicate()
        # reads the raw pipe, and would miss what that read-ahead holds (a line cut in two).
        out = child.stdout.read()
        _, err = child.communicate()  # stderr, and the pipes closed
        assert child.returncode == -signal.SIGKILL, err
        for line in (first + out).splitlines():
            instance_id, seq = line.split()
            committed[instance_id] = max(committed.get(instance_id, 0), int(seq))
        stored = check_consistent(store_url)
        for instance_id, seq in committed.items():
            assert stored[instance_id] >= seq, f"{instance_id}: committed {seq}, stored less"
    assert sum(committed.values()) > rounds, "the children committed too little to test"


def test_racing_writers_never_lose_an_update(store_url: str) -> None:
    prepare(store_url)
    children = [
        spawn("race", store_url, str(INSTANCES), str(RACE_SENDS), str(seed)) for seed in range(3)
    ]
    accepted: dict[str, list[int]] = {}
    conflicts = 0
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        for line in out.splitlines():
            kind, instance_id, *numbers = line.split()
            if kind == "ok":
                accepted.setdefault(instance_id, []).append(int(numbers[0]))
            else:
                conflicts += 1
                assert int(numbers[1]) > int(numbers[0])
    stored = check_consistent(store_url)
    for instance_id, seqs in accepted.items():
        assert len(seqs) == len(set(seqs)), "two writers got the same version"
        assert sorted(seqs) == list(range(2, stored[instance_id] + 1))
    assert sum(len(s) for s in accepted.values()) + conflicts == 3 * RACE_SENDS
