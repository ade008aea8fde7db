"""Outages of the store: the backoff policy, the log lines, and a worker that waits one out.

The worker tests make a real outage of a SQLite file: another connection holds its write
lock (`BEGIN EXCLUSIVE`) for a while, and the worker's URL has a short busy timeout, so each
claim or commit meanwhile fails with `StoreUnavailable`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import SchemaOutOfDate, StoreError, StoreUnavailable
from statewright.runtime import Worker
from statewright.runtime.outage import MAX_BACKOFF_S, Outage, OutagePolicy, is_transient


def test_the_backoff_doubles_up_to_its_cap_and_is_jittered_into_its_upper_half() -> None:
    policy = OutagePolicy(first_s=0.1, max_s=MAX_BACKOFF_S)
    top = [policy.delay_s(n, 0.999999) for n in range(1, 12)]
    assert top[:4] == pytest.approx([0.1, 0.2, 0.4, 0.8], rel=1e-5)
    assert max(top) == pytest.approx(30.0, rel=1e-5)
    assert policy.delay_s(10_000, 0.999999) == pytest.approx(30.0, rel=1e-5)
    for failures in (1, 5, 50):
        ceiling = min(30.0, 0.1 * 2 ** (failures - 1))
        assert policy.delay_s(failures, 0.0) == pytest.approx(ceiling / 2)
        assert ceiling / 2 <= policy.delay_s(failures, 0.37) <= ceiling


def test_only_unavailability_is_transient() -> None:
    assert is_transient(StoreUnavailable("lost the server"))
    assert is_transient(ConnectionResetError())
    assert not is_transient(SchemaOutOfDate("run db migrate"))
    assert not is_transient(StoreError("damaged"))
    assert not is_transient(ValueError("a bug"))


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage("sqlite:///x.db", policy=OutagePolicy(first_s=0.001, max_s=0.002))
    caplog.set_level(logging.INFO, logger="statewright.worker")
    outage.ok()
    for _ in range(5):
        outage.failed(StoreUnavailable("claiming due timers: lost\nthe server"))
    assert outage.down
    outage.ok()
    outage.ok()
    assert not outage.down
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0] == (
        "store sqlite:///x.db unavailable, retrying (backoff up to 0.002 s): "
        "claiming due timers: lost the server"
    )
    assert lines[1].startswith("store sqlite:///x.db available again after ")
    assert lines[1].endswith(" s (5 failed tries)")
    assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_a_loop_that_succeeds_does_not_end_the_outage_of_one_that_still_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A worker's step loop and its other loop share one Outage. On a full disk reads pass
    # and writes fail: the loop that reads must not end the outage of the one that writes,
    # which would then try again at once and log an outage on every try.
    outage = Outage("db", policy=OutagePolicy(first_s=0.001, max_s=1.0), rand=lambda: 1.0)
    caplog.set_level(logging.INFO, logger="statewright.worker")
    slept: list[float] = []
    down_before_its_success: list[bool] = []
    reader_done = threading.Event()

    def writer() -> None:
        for _ in range(4):
            slept.append(outage.failed(StoreUnavailable("committing: the disk is full")))
            reader_done.wait(1)  # the reader's success comes between two failures
        down_before_its_success.append(outage.down)
        outage.ok()  # the writer's own success ends it

    def reader() -> None:
        outage.ok()
        reader_done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not slept:
        time.sleep(0.001)
    threading.Thread(target=reader).start()
    thread.join(5)
    assert down_before_its_success == [True]  # the reader's success did not end it
    lines = [record.getMessage() for record in caplog.records][:-1]
    assert lines == [
        "store db unavailable, retrying (backoff up to 1 s): committing: the disk is full"
    ]
    # Its backoff kept doubling (0.001, 0.002, 0.004, 0.008 s), not reset by the reader.
    assert slept[3] >= 0.007, slept
    assert not outage.down
    assert caplog.records[-1].getMessage().endswith("(4 failed tries)")


def test_call_retries_transient_errors_and_raises_the_others_at_once() -> None:
    outage = Outage("db", policy=OutagePolicy(first_s=0.001, max_s=0.001))
    answers: list[BaseException | str] = [StoreUnavailable("a"), StoreUnavailable("b"), "done"]

    def operation() -> str:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    assert outage.call(operation) == "done"
    assert not outage.down
    with pytest.raises(SchemaOutOfDate):
        outage.call(lambda: (_ for _ in ()).throw(SchemaOutOfDate("old")))
    stopped = Outage("db", threading.Event(), policy=OutagePolicy(first_s=0.001, max_s=0.001))
    stopped.stop.set()
    with pytest.raises(StoreUnavailable):
        stopped.call(lambda: (_ for _ in ()).throw(StoreUnavailable("gone")))


LOCK_HELD = threading.Event()


def _hold_the_lock(path: str, seconds: float) -> None:
    """Take the file's write lock on a connection of its own and keep it for `seconds`."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    LOCK_HELD.set()
    time.sleep(seconds)
    connection.execute("ROLLBACK")
    connection.close()


@pytest.mark.slow
def test_a_worker_waits_out_a_locked_file_and_commits_the_step_result_once(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    path = f"{tmp_path}/locked.db"
    url = f"sqlite:///{path}?busy_timeout=20"

    def job(input: object) -> dict[str, bool]:
        # The step locks the file away from its own worker just before it returns: the
        # result can only be committed after the outage.
        threading.Thread(target=_hold_the_lock, args=(path, 1.2), daemon=True).start()
        LOCK_HELD.wait(5)
        return {"ok": True}

    machine = Machine.from_config(
        {
            "id": "locked",
            "initial": "working",
            "states": {
                "working": {"invoke": {"id": "job", "src": "job", "onDone": "done"}},
                "done": {"type": "final"},
            },
        },
        actors={"job": job},
    )
    caplog.set_level(logging.INFO, logger="statewright.worker")
    with Engine.open(url) as engine:
        engine.register(machine)
        engine.start("locked", instance_id="l-1")
        stop = threading.Event()
        worker = Worker(engine, concurrency=2)
        thread = threading.Thread(target=worker.run, kwargs={"poll_ms": 20, "stop": stop})
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while engine.get("l-1").status != "done" and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(10)
        assert engine.get("l-1").status == "done"
        events = Counter(str(entry.event["type"]) for entry in engine.history("l-1"))
    assert events["xstate.done.actor.job"] == 1
    lines = [r.getMessage() for r in caplog.records if "store sqlite:///" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "unavailable, retrying" in lines[0] and "stayed locked" in lines[0]
    assert "available again after" in lines[1]
