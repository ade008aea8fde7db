"""Writers of one SQLite file take turns (`store/sqlite/writer_lock.py`): processes writing
at once all get through, a turn held past the busy timeout is reported and changes nothing,
a holder that dies lets the next writer in at once, one that lets go wakes a waiter of
another process, a waiter that spins takes the lock the moment it is free (one spinner at
a time, none while turns last long), and a waiter that has waited long goes before writers
that come after it.

Two `WriterLock`s on one database stand for two processes: each holds an open file of its
own, and `flock` locks belong to open files."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import StoreUnavailable
from statewright.store.sqlite import writer_lock
from statewright.store.sqlite.writer_lock import WriterBusy, WriterLock

#: Every GO flips it: each send changes the state value (the quiet update that sets it).
FLIP = {
    "id": "flip",
    "initial": "a",
    "states": {"a": {"on": {"GO": "b"}}, "b": {"on": {"GO": "a"}}},
}

#: A process that flips its own instances as fast as it can for a while, then prints how
#: many sends got through, how many failed, and the slowest one.
_SENDER = """
import json, sys, time
from statewright.engine import Engine
url, prefix, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
engine = Engine.open(url)
ids = [f"{prefix}-{n}" for n in range(20)]
for instance_id in ids:
    engine.start("flip", instance_id=instance_id)
print("ready", flush=True)
sys.stdin.readline()
sent = failed = 0
slowest = 0.0
until = time.monotonic() + seconds
while time.monotonic() < until:
    began = time.monotonic()
    try:
        engine.send(ids[sent % 20], {"type": "GO"})
        sent += 1
    except Exception as error:
        failed += 1
        last = repr(error)
    slowest = max(slowest, time.monotonic() - began)
print(json.dumps({"sent": sent, "failed": failed, "slowest": slowest}), flush=True)
"""

#: A process that holds the lock file of the database given, then sleeps until killed.
_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1] + "-write.lock", os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(600)
"""


def _engine(url: str) -> Engine:
    engine = Engine.open(url)
    engine.register(Machine.from_config(FLIP))
    return engine


def _hold(database: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.stdout.close()
    return holder


def _seconds_to_enter_after(release: Callable[[], None], enter: Callable[[], None]) -> float:
    """Run `enter` on a thread, check that it waits, run `release`, and return how long
    `enter` took to get through after that."""
    entered: list[float] = []

    def run() -> None:
        enter()
        entered.append(time.monotonic())

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.3)
    assert not entered, "it did not wait for its turn"
    released = time.monotonic()
    release()
    thread.join(timeout=20)
    assert entered, "it did not get its turn"
    return entered[0] - released


def _free(lock_file: str) -> bool:
    """Whether another open file could take the lock now."""
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # releases it if taken
    return True


def test_processes_sending_at_once_all_get_through_within_the_busy_timeout(
    tmp_path: Path,
) -> None:
    # SQLite's own wait sleeps up to 100 ms between looks at its lock, and a process that
    # writes without pause takes it back between two looks: without turns, one of these
    # senders waits past a busy timeout of 200 ms and fails.
    url = f"sqlite:///{tmp_path / 'shared.db'}?busy_timeout=200"
    _engine(url).close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    senders = [
        subprocess.Popen(
            [sys.executable, "-c", _SENDER, url, f"p{n}", "3"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(4)
    ]
    try:
        for sender in senders:
            assert sender.stdout is not None and sender.stdout.readline().strip() == "ready"
        for sender in senders:
            assert sender.stdin is not None
            sender.stdin.write("go\n")
            sender.stdin.flush()
        results = [json.loads(sender.communicate(timeout=60)[0]) for sender in senders]
    finally:
        for sender in senders:
            if sender.poll() is None:
                sender.kill()
    assert [r["failed"] for r in results] == [0, 0, 0, 0], results
    assert all(r["sent"] > 50 for r in results), results


def test_a_turn_held_past_the_busy_timeout_is_reported_and_writes_nothing(
    tmp_path: Path,
) -> None:
    database = tmp_path / "held.db"
    engine = _engine(f"sqlite:///{database}?busy_timeout=100")
    engine.start("flip", instance_id="c")
    holder = _hold(database)
    try:
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"held\.db .* stayed locked for 100 ms"):
            engine.send("c", {"type": "GO"})
        assert time.monotonic() - began >= 0.1
        assert engine.get("c").snapshot.value == "a"
        assert len(engine.history("c")) == 1
    finally:
        holder.kill()
        holder.wait()
    # A wait given up holds nothing: the lock is free once the holder is gone, and the next
    # send goes through.
    deadline = time.monotonic() + 5
    while not _free(f"{database}-write.lock"):
        assert time.monotonic() < deadline, "the abandoned wait kept the lock"
        time.sleep(0.01)
    assert engine.send("c", {"type": "GO"}).seq == 2
    engine.close()


def test_a_holder_that_dies_lets_the_waiting_writer_in_at_once(tmp_path: Path) -> None:
    database = tmp_path / "killed.db"
    engine = _engine(f"sqlite:///{database}?busy_timeout=20000")
    engine.start("flip", instance_id="c")
    holder = _hold(database)

    def kill() -> None:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()

    assert _seconds_to_enter_after(kill, lambda: engine.send("c", {"type": "GO"})) < 2.0
    assert engine.get("c").snapshot.value == "b"
    engine.close()


def test_threads_of_one_process_take_turns_and_a_thread_that_waits_too_long_gives_up(
    tmp_path: Path,
) -> None:
    lock = WriterLock(str(tmp_path / "t.db"), timeout_s=0.05)
    try:
        inside: list[int] = []
        overlap: list[bool] = []

        def write(n: int) -> None:
            for _ in range(200):
                with lock:
                    inside.append(n)
                    overlap.append(len(inside) > 1)
                    inside.remove(n)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(overlap) == 800 and not any(overlap)
        with lock:
            failed: list[BaseException] = []

            def late() -> None:
                try:
                    with lock:
                        pass
                except WriterBusy as error:
                    failed.append(error)

            waiter = threading.Thread(target=late)
            waiter.start()
            waiter.join()
            assert len(failed) == 1
        with lock:  # the lock is still usable
            pass
    finally:
        lock.close()


def test_a_folder_where_the_lock_file_cannot_be_made_leaves_threads_taking_turns(
    tmp_path: Path,
) -> None:
    lock = WriterLock(str(tmp_path / "missing" / "t.db"), timeout_s=0.05)
    try:
        with lock:
            pass
        assert not (tmp_path / "missing").exists()
    finally:
        lock.close()


#: A process that takes the turn through `WriterLock`, says so, and lets it go when told.
_TAKER = """
import sys
from statewright.store.sqlite.writer_lock import WriterLock
with WriterLock(sys.argv[1], 10.0):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.skipif(writer_lock._futex is None, reason="no futex here: waiters only look")
def test_a_writer_that_lets_go_wakes_a_waiter_of_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the waiters' own looks 30 s apart, only the doorbell can let this one in soon.
    monkeypatch.setattr(writer_lock, "RING_S", 30.0)
    database = str(tmp_path / "bell.db")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    taker = subprocess.Popen(
        [sys.executable, "-c", _TAKER, database],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    lock = WriterLock(database, timeout_s=60.0)
    try:
        assert taker.stdout is not None and taker.stdout.readline().strip() == "held"

        def let_go() -> None:
            assert taker.stdin is not None
            taker.stdin.write("go\n")
            taker.stdin.flush()

        def take_turn() -> None:
            with lock:
                pass

        assert _seconds_to_enter_after(let_go, take_turn) < 2.0
    finally:
        taker.kill()
        taker.communicate()
        lock.close()


def _held_for(lock: WriterLock, seconds: float) -> threading.Thread:
    """Take `lock` now and let it go after `seconds`, on a thread."""
    lock.__enter__()
    thread = threading.Thread(target=lambda: (time.sleep(seconds), lock.__exit__()))
    thread.start()
    return thread


def _seconds_to_take(lock: WriterLock) -> float:
    began = time.monotonic()
    with lock:
        return time.monotonic() - began


@contextlib.contextmanager
def _two_locks(database: Path) -> Iterator[tuple[WriterLock, WriterLock]]:
    """A holder's lock and a waiter's on `database`, as two processes would have them."""
    holder, waiter = WriterLock(str(database), 60.0), WriterLock(str(database), 60.0)
    try:
        yield holder, waiter
    finally:
        holder.close()
        waiter.close()


def _slow_looks(monkeypatch: pytest.MonkeyPatch, ring_s: float) -> None:
    """No doorbell, and looks `ring_s` apart: a waiter that does not spin sleeps that long."""
    monkeypatch.setattr(writer_lock, "_futex", None)
    monkeypatch.setattr(writer_lock, "RING_S", ring_s)
    monkeypatch.setattr(writer_lock, "SPIN_S", 30.0)


def test_a_waiter_that_spins_takes_the_lock_the_moment_it_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_looks(monkeypatch, ring_s=30.0)
    with _two_locks(tmp_path / "spin.db") as (holder, waiter):
        letting_go = _held_for(holder, 0.3)
        assert 0.25 < _seconds_to_take(waiter) < 5.0
        letting_go.join()


def test_only_one_waiter_spins_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_looks(monkeypatch, ring_s=1.0)
    with _two_locks(tmp_path / "spinner.db") as (holder, waiter):
        assert waiter._spinner is not None
        # Another process spins, for 10 ms more: this waiter marks itself waiting and sleeps
        # until its next look instead (by then that spinner's deadline has passed).
        waiter._spinner.value = writer_lock._tick() + 1000
        letting_go = _held_for(holder, 0.3)
        assert _seconds_to_take(waiter) >= 0.9
        letting_go.join()


def test_no_waiter_spins_while_turns_last_longer_than_a_spin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_looks(monkeypatch, ring_s=1.0)
    monkeypatch.setattr(writer_lock, "SPIN_S", 0.2)
    with _two_locks(tmp_path / "long.db") as (holder, waiter):
        _held_for(holder, 0.3).join()  # a turn of 0.3 s, as a slow flush makes them
        # The next turn is short, but the last one was longer than a spin: this waiter
        # sleeps until its next look rather than spin (it would have had the lock at 0.1 s).
        letting_go = _held_for(holder, 0.1)
        assert _seconds_to_take(waiter) >= 0.9
        letting_go.join()


@pytest.mark.skipif(writer_lock._futex is None, reason="no futex here: marks wear off slowly")
def test_a_writer_lets_a_waiter_that_has_waited_long_go_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_lock, "RING_S", 0.5)
    lock = WriterLock(str(tmp_path / "owed.db"), 60.0)
    try:
        assert lock._waiting is not None
        ticks = int(0.01 * writer_lock._TICKS_PER_S)
        # Another process has waited 10 ms (more than FAIR_S): though the lock is free, this
        # writer leaves it to that one and looks again only after a sleep.
        lock._waiting.value = writer_lock._tick() - ticks
        assert _seconds_to_take(lock) >= 0.4
        # That waiter was gone: letting go woke nobody, which wiped its mark, so the next
        # writer goes in at once.
        assert lock._waiting.value == 0
        assert _seconds_to_take(lock) < 0.3
        # A mark older than a second is a dead waiter's too, and nobody waits for it.
        lock._waiting.value = writer_lock._tick() - 200 * ticks
        assert _seconds_to_take(lock) < 0.3
    finally:
        lock.close()


def test_a_dead_waiters_mark_is_wiped_once_stale_even_without_a_doorbell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_lock, "_futex", None)  # no wake to find that nobody sleeps
    monkeypatch.setattr(writer_lock, "RING_S", 0.5)
    lock = WriterLock(str(tmp_path / "stale.db"), 60.0)
    try:
        assert lock._waiting is not None
        lock._waiting.value = writer_lock._tick() - int(1.5 * writer_lock._TICKS_PER_S)
        assert _seconds_to_take(lock) < 0.3
        assert lock._waiting.value == 0
    finally:
        lock.close()


def test_a_turn_that_fails_to_take_the_file_lock_gives_the_threads_turn_back(
    tmp_path: Path,
) -> None:
    """An error of the lock call itself (here: its file closed under it) reaches the caller,
    and the next thread of the process still gets its turn instead of hanging."""
    lock = WriterLock(str(tmp_path / "x.db"), timeout_s=1.0)
    assert lock._fd is not None
    os.close(lock._fd)
    with pytest.raises(OSError), lock:
        pass
    lock._fd = None  # only this process's threads take turns now
    entered = threading.Event()

    def other() -> None:
        with lock:
            entered.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=5)
    assert entered.is_set()
