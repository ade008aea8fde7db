"""Real `statewright worker` processes: one with no machines and one with half of the steps
charge nothing for what they cannot run; a killed worker leaves charged only the runs it
started; a worker started later finishes everything. Counts are printed (run with -s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from statewright.engine import Engine
from statewright.runtime import WORKER_LOST

pytestmark = pytest.mark.slow

#: Seconds a test waits at most for the workers.
PATIENCE = 60.0

MACHINES = """
import time
from pathlib import Path

from statewright import Machine

ORDER = {{
    "id": "order",
    "initial": "charging",
    "states": {{
        "charging": {{"invoke": {{"id": "charge", "src": "chargeCard", "onDone": "shipping",
                                  "onError": "review"}}}},
        "shipping": {{"invoke": {{"id": "ship", "src": "shipOrder", "onDone": "shipped",
                                  "onError": "review"}}}},
        "review": {{}},
        "shipped": {{"type": "final"}},
    }},
}}
CALLS = Path({calls!r})


def record(src, seconds):
    def run(input):
        with CALLS.open("a") as calls:
            calls.write(src + "\\n")
        time.sleep(seconds)
        return {{"ok": True}}
    return run


ACTORS = {{"chargeCard": record("chargeCard", {charge_s}), "shipOrder": record("shipOrder", 0)}}
MACHINES = [Machine.from_config(ORDER, actors={{k: ACTORS[k] for k in {provides!r}}})]
"""


def _machines(folder: Path, name: str, provides: list[str], charge_s: float = 0) -> Path:
    path = folder / f"{name}.py"
    calls = str(folder / "calls.txt")
    path.write_text(MACHINES.format(calls=calls, provides=provides, charge_s=charge_s))
    return path


def _calls(folder: Path) -> Counter[str]:
    path = folder / "calls.txt"
    return Counter(path.read_text().split()) if path.exists() else Counter()


@pytest.fixture
def workers(store_url: str) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "statewright", "worker", "--url", store_url,
             "--poll", "0.05", *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PATIENCE)


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _start_orders(store_url: str, folder: Path, count: int) -> None:
    namespace: dict[str, object] = {}
    source = _machines(folder, "starter", [])
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    with Engine.open(store_url) as engine:
        engine.register(namespace["MACHINES"][0])  # type: ignore[index]
        for number in range(count):
            engine.start("order", instance_id=f"o-{number:03d}")


def _attempts(engine: Engine) -> Counter[str]:
    """Attempts charged to the step runs still pending or running, by source."""
    charged: Counter[str] = Counter()
    for instance in engine.list(limit=1000):
        for run in engine.store.steps(instance.tenant, instance.id):
            charged[run.src] += run.attempts
    return charged


def test_workers_missing_steps_charge_nothing_and_a_full_one_finishes(
    store_url: str, tmp_path: Path, workers: Callable[..., subprocess.Popen[str]]
) -> None:
    orders = 12
    _start_orders(store_url, tmp_path, orders)
    bare = workers()  # no --machines: provides no step
    half = workers("--machines", str(_machines(tmp_path, "half", ["chargeCard"])))
    with Engine.open(store_url) as engine:
        _wait_until(
            lambda: all(i.value == "shipping" for i in engine.list(limit=1000)),
            "every order charged by the half worker",
        )
        time.sleep(0.5)  # both keep polling: neither may take a shipOrder run
        charged = _attempts(engine)
        waiting = engine.get("o-000").waiting_for
        assert bare.poll() is None and half.poll() is None
        full = workers("--machines", str(_machines(tmp_path, "full", ["chargeCard", "shipOrder"])))
        _wait_until(
            lambda: all(i.status == "done" for i in engine.list(limit=1000)),
            "every order shipped by the full worker",
        )
        instances = engine.list(limit=1000)
        failed = sum(len(engine.step_attempts(i.id)) for i in instances)
        verified = sum(engine.verify(i.id).ok for i in instances)
    for process in (bare, half, full):
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=PATIENCE)
    calls = _calls(tmp_path)
    print(
        f"orders={orders} charged_before_full={dict(charged)} calls={dict(calls)} "
        f"failed_attempts={failed} verified={verified}"
    )
    assert charged == Counter()  # the shipOrder runs waited with no attempt charged
    assert waiting == "a worker that provides shipOrder"
    assert calls == Counter(chargeCard=orders, shipOrder=orders)
    assert failed == 0 and verified == orders


def test_a_killed_worker_leaves_charged_only_the_runs_it_started(
    store_url: str, tmp_path: Path, workers: Callable[..., subprocess.Popen[str]]
) -> None:
    orders = 10
    _start_orders(store_url, tmp_path, orders)
    slow = _machines(tmp_path, "slow", ["chargeCard", "shipOrder"], charge_s=60)
    doomed = workers("--machines", str(slow), "--concurrency", "2", "--lease", "1")
    _wait_until(lambda: _calls(tmp_path)["chargeCard"] == 2, "two charges started")
    doomed.kill()  # SIGKILL in the middle of both
    doomed.communicate(timeout=PATIENCE)
    with Engine.open(store_url) as engine:
        charged = sorted(
            run.attempts
            for i in engine.list(limit=1000)
            for run in engine.store.steps(i.tenant, i.id)
        )
        killed_at = time.monotonic()
        full = workers("--machines", str(_machines(tmp_path, "full", ["chargeCard", "shipOrder"])))
        _wait_until(
            lambda: all(i.status == "done" for i in engine.list(limit=1000)),
            "every order finished after the kill",
        )
        recovered_s = time.monotonic() - killed_at
        lost = [a for i in engine.list(limit=1000) for a in engine.step_attempts(i.id)]
    full.send_signal(signal.SIGTERM)
    _, log = full.communicate(timeout=PATIENCE)
    print(
        f"orders={orders} started_before_kill=2 charged_at_kill={sum(charged)} "
        f"lost_attempts={len(lost)} recovered_in={recovered_s:.1f}s "
        f"taken_over={log.count('lease taken over')}"
    )
    assert charged == [0] * (orders - 2) + [1, 1]
    assert [(a.attempt, a.error_type) for a in lost] == [(1, WORKER_LOST)] * 2
    assert log.count("lease taken over") == 2
