"""Workers SIGKILLed at random points while orders run (real processes, real time).

Afterwards every order is done, each step's result and each timer was applied exactly once
(as the audit log shows), every outbox message was delivered at least once, and no work is
left. Sizes are bounded for CI; STATEWRIGHT_KILL_ORDERS (default 120) and
STATEWRIGHT_KILL_WORKER_ROUNDS (default 5) make it longer.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import pytest
from workload import every_instance

from statewright.engine import Engine

ORDERS = int(os.environ.get("STATEWRIGHT_KILL_ORDERS", "120"))
ROUNDS = int(os.environ.get("STATEWRIGHT_KILL_WORKER_ROUNDS", "5"))

pytestmark = pytest.mark.slow

SETUP = """
import os
import time

from statewright import Machine

LOG = os.environ["STATEWRIGHT_KILL_LOG"]


def charge(input):
    with open(LOG + ".charges", "a") as log:  # the outside world sees every attempt
        log.write(input["order"] + "\\n")
    time.sleep(0.005)
    return {"paid": input["order"]}


def notify(message):
    with open(LOG + ".deliveries", "a") as log:
        log.write(message.id + "\\n")


MACHINES = [Machine.from_config({
    "id": "korder",
    "initial": "paying",
    "context": {"order": {"$expr": "input.order"}},
    "states": {
        "paying": {"invoke": {"id": "charge", "src": "charge",
                              "input": {"order": {"$expr": "context.order"}},
                              "onDone": "cooling"}},
        "cooling": {"after": {"300": "shipped"}},
        "shipped": {"type": "final", "entry": [
            {"type": "emit", "params": {"event": {"type": "order.shipped"}}}]},
    },
}, actors={"charge": charge})]
LISTENERS = {"order.*": notify}
"""


def spawn(
    url: str,
    setup: Path,
    log: Path,
    *,
    stderr: int | IO[str] = subprocess.DEVNULL,
    lease_s: float = 1.0,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
    short_leases: bool = False,
) -> subprocess.Popen[str]:
    """A worker process for `url` running the setup's machines, its log to `stderr`
    (`prefix`: a command to run it under, such as `ip netns exec NAME`; `short_leases`: a
    killed worker's timers and messages move after 1 and 2 s, not the defaults' 5 and 30)."""
    leases = ["--timer-lease", "1", "--outbox-lease", "2"] if short_leases else []
    return subprocess.Popen(
        [
            *prefix,
            sys.executable,
            "-m",
            "statewright",
            "worker",
            "--url",
            url,
            "--machines",
            str(setup),
            "--poll",
            "0.02",
            "--lease",
            str(lease_s),
            *leases,
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        env={
            **os.environ,
            **(env or {}),
            "PYTHONPATH": os.pathsep.join(sys.path),
            "STATEWRIGHT_KILL_LOG": str(log),
        },
    )


def seed_orders(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orders: int, log_name: str
) -> tuple[Path, Path]:
    """Write the workers' setup file, point the side-effect log at `log_name` and start
    `orders` orders; the setup file's and the log's paths."""
    setup, log = tmp_path / "setup.py", tmp_path / log_name
    setup.write_text(SETUP)
    monkeypatch.setenv("STATEWRIGHT_KILL_LOG", str(log))
    namespace: dict[str, object] = {}
    exec(compile(SETUP, str(setup), "exec"), namespace)
    with Engine.open(store_url) as engine:
        engine.register(namespace["MACHINES"][0])  # type: ignore[index]
        for index in range(orders):
            engine.start("korder", instance_id=f"k-{index:04d}", input={"order": f"k-{index:04d}"})
    return setup, log


def test_workers_killed_at_random_lose_and_double_nothing(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup, log = seed_orders(store_url, tmp_path, monkeypatch, ORDERS, "kill")

    rng = random.Random(11)
    kills = 0
    for _ in range(ROUNDS):
        workers = [spawn(store_url, setup, log, short_leases=True) for _ in range(2)]
        time.sleep(rng.uniform(0.8, 2.0))
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            kills += 1
    finisher = spawn(store_url, setup, log, short_leases=True)
    try:
        wait_for_orders(store_url, 120)
    finally:
        finisher.send_signal(signal.SIGTERM)
        finisher.wait(timeout=30)

    results, timers, charges, deliveries = check_orders(store_url, log, ORDERS)
    print(
        f"\n{ORDERS} orders, {kills} workers killed: {results} step results applied once, "
        f"{sum(charges.values())} charge attempts ({sum(charges.values()) - ORDERS} repeated "
        f"after kills), {timers} timers fired once, {len(deliveries)} messages delivered "
        f"({sum(deliveries.values()) - len(deliveries)} redelivered)"
    )


def wait_for_orders(store_url: str, timeout_s: float) -> None:
    """Wait until no order is active and every outbox message is delivered (or time out)."""
    deadline = time.monotonic() + timeout_s
    with Engine.open(store_url) as engine:
        while time.monotonic() < deadline:
            pending = engine.list(status="active", limit=1)
            undelivered = [
                m
                for i in every_instance(engine)
                for m in engine.store.outbox("default", i.id)
                if m.status != "delivered"
            ]
            if not pending and not undelivered:
                return
            time.sleep(0.2)


def check_orders(
    store_url: str, log: Path, orders: int
) -> tuple[int, int, Counter[str], Counter[str]]:
    """Assert DESIGN.md's promises over the finished orders: each is done, its step result
    and its timer were applied exactly once (the audit log), its message was delivered at
    least once, and no work is left. Returns the step results and timers counted, and the
    charges and deliveries the outside world saw."""
    charges = Counter(log.with_suffix(".charges").read_text().split())
    deliveries = Counter(log.with_suffix(".deliveries").read_text().split())
    with Engine.open(store_url) as engine:
        instances = list(every_instance(engine))
        assert len(instances) == orders
        results = timers = 0
        for instance in instances:
            assert instance.status == "done", (instance.id, instance.value)
            events = Counter(str(e.event["type"]) for e in engine.history(instance.id))
            assert events["xstate.done.actor.charge"] == 1, instance.id
            assert events["xstate.after.300.korder.cooling"] == 1, instance.id
            results += 1
            timers += 1
            assert engine.store.steps("default", instance.id) == []
            assert engine.store.pending_timers("default", instance.id) == []
            (message,) = engine.store.outbox("default", instance.id)
            assert message.status == "delivered"
            assert deliveries[message.message_id] >= 1
            assert charges[instance.id] >= 1
    return results, timers, charges, deliveries
