"""A worker used with `run_once` leaves no thread behind once closed (`with Worker(...)`,
`Worker.close`, `Harness.close`), and a closed worker still works."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from statewright import Engine, Machine, Worker
from statewright.testing import Harness, VirtualClock

CONFIG = {
    "id": "job",
    "initial": "working",
    "states": {
        "working": {"invoke": {"src": "work", "onDone": "done"}},
        "done": {"type": "final"},
    },
}


def work(input: Mapping[str, object]) -> int:
    return 1


MACHINE = Machine.from_config(CONFIG, actors={"work": work})


def step_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """The step threads started since `before` (other tests' workers may keep theirs)."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("statewright-step") and t not in before
    ]


def joined(before: set[threading.Thread]) -> list[threading.Thread]:
    """The step threads started since `before` that are still alive after a short wait."""
    for thread in step_threads(before):
        thread.join(timeout=5)
    return step_threads(before)


def test_closing_a_worker_stops_its_step_threads(store_url: str, clock: VirtualClock) -> None:
    before = set(threading.enumerate())
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(MACHINE)
        engine.start("job", instance_id="j-1")
        with Worker(engine) as worker:
            assert worker.run_once() == 1
            assert step_threads(before)
        assert joined(before) == []
        # Closed, it still works (with new threads), until closed again.
        engine.start("job", instance_id="j-2")
        assert worker.run_once() == 1
        worker.close()
        assert engine.get("j-2").snapshot.status == "done"
    assert joined(before) == []


def test_a_harness_runs_its_steps_in_the_calling_thread() -> None:
    before = set(threading.enumerate())
    with Harness(MACHINE) as harness:
        harness.start("job", instance_id="j-1")
        assert harness.engine.get("j-1").snapshot.status == "done"
        assert step_threads(before) == []


def test_closing_a_harness_stops_its_workers_step_threads() -> None:
    before = set(threading.enumerate())
    # concurrency=1, the Harness's default, runs steps in the calling thread: no pool.
    with Harness(MACHINE, concurrency=2) as harness:
        harness.start("job", instance_id="j-1")
        assert harness.engine.get("j-1").snapshot.status == "done"
        assert step_threads(before)
    assert joined(before) == []
