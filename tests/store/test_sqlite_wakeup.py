"""SQLite's wake-ups between processes (store/sqlite/wakeup.py): a waiter returns when
another channel on the same file notifies, stale sockets are cleaned up, and a file nobody
waits on costs a notifier nothing."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from statewright.store.sqlite.wakeup import WakeChannel

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")


def test_a_notify_wakes_a_waiter_on_the_same_file(tmp_path: Path) -> None:
    waiter, notifier = WakeChannel(tmp_path / "app.db"), WakeChannel(tmp_path / "app.db")
    other = WakeChannel(tmp_path / "other.db")
    try:
        waiter.wait(0)  # binds its socket
        woken = threading.Event()

        def wait() -> None:
            waiter.wait(30)
            woken.set()

        thread = threading.Thread(target=wait)
        thread.start()
        other.notify()  # another database: not this waiter's business
        assert not woken.wait(0.2)
        notifier.notify()
        assert woken.wait(10), "the waiter slept through the notify"
        thread.join(10)
    finally:
        for channel in (waiter, notifier, other):
            channel.close()


def test_wake_ups_queued_while_working_are_taken_at_once(tmp_path: Path) -> None:
    waiter, notifier = WakeChannel(tmp_path / "app.db"), WakeChannel(tmp_path / "app.db")
    try:
        waiter.wait(0)
        for _ in range(3):
            notifier.notify()
        started = time.monotonic()
        waiter.wait(30)  # returns at once, taking all three
        assert time.monotonic() - started < 5
        started = time.monotonic()
        waiter.wait(0.05)  # nothing left: waits the timeout
        assert time.monotonic() - started >= 0.04
    finally:
        waiter.close()
        notifier.close()


def test_a_dead_waiters_socket_is_removed_by_the_next_notify(tmp_path: Path) -> None:
    channel = WakeChannel(tmp_path / "app.db")
    try:
        channel.folder.mkdir(mode=0o700, exist_ok=True)
        dead = channel.folder / "99999999-dead"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(dead))
        sock.close()  # the file stays, nobody reads it
        channel.notify()
        assert not dead.exists()
    finally:
        channel.close()


def test_closing_removes_the_waiters_socket_and_the_last_one_the_folder(tmp_path: Path) -> None:
    first, second = WakeChannel(tmp_path / "app.db"), WakeChannel(tmp_path / "app.db")
    first.wait(0)
    second.wait(0)
    assert len(list(first.folder.iterdir())) == 2
    first.close()
    assert len(list(first.folder.iterdir())) == 1  # the other still waits there
    second.close()
    assert not first.folder.exists()  # nothing left behind in the temporary folder
    WakeChannel(tmp_path / "never-waited-on.db").notify()  # no folder: nothing to do
    # A waiter that comes later makes the folder again.
    third = WakeChannel(tmp_path / "app.db")
    try:
        third.wait(0)
        assert len(list(third.folder.iterdir())) == 1
    finally:
        third.close()
