"""Three worker processes share one database (PostgreSQL, or one SQLite file on one host): no
step, timer or outbox message is handled twice (schedule ticks:
tests/runtime/test_schedules.py races three workers on each backend)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from test_worker_kill import seed_orders, spawn
from workload import every_instance

from statewright.engine import Engine

ORDERS = int(os.environ.get("STATEWRIGHT_SHARED_ORDERS", "150"))

pytestmark = pytest.mark.slow


def test_three_workers_handle_everything_exactly_once(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup, log = seed_orders(store_url, tmp_path, monkeypatch, ORDERS, "shared")

    workers = [spawn(store_url, setup, log) for _ in range(3)]
    try:
        deadline = time.monotonic() + 120
        with Engine.open(store_url) as engine:
            while time.monotonic() < deadline:
                delivered = sum(
                    1
                    for i in every_instance(engine)
                    for m in engine.store.outbox("default", i.id)
                    if m.status == "delivered"
                )
                if delivered == ORDERS:
                    break
                time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)

    charges = Counter(log.with_suffix(".charges").read_text().split())
    deliveries = Counter(log.with_suffix(".deliveries").read_text().split())
    with Engine.open(store_url) as engine:
        for instance in every_instance(engine):
            assert instance.status == "done", instance.id
            events = Counter(str(e.event["type"]) for e in engine.history(instance.id))
            assert events["xstate.done.actor.charge"] == 1
            assert events["xstate.after.300.korder.cooling"] == 1
    assert len(charges) == ORDERS and set(charges.values()) == {1}, "a step ran twice"
    assert len(deliveries) == ORDERS and set(deliveries.values()) == {1}, "a message went twice"
    print(
        f"\n3 workers, {ORDERS} orders: {sum(charges.values())} step runs, "
        f"{sum(deliveries.values())} deliveries, {ORDERS} timers, none twice"
    )
