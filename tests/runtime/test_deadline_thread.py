"""`DeadlineThread`: one thread calls many functions, each at its time, in the order of their
times; a cancelled one is never called."""

from __future__ import annotations

import os
import threading

from statewright.runtime.deadline_thread import DeadlineThread


def test_functions_are_called_in_the_order_of_their_times_and_cancelled_ones_never() -> None:
    clock = DeadlineThread("statewright-test-deadlines")
    called: list[int] = []
    done = threading.Event()
    handles = [
        clock.add(0.05 + (index % 7) / 100, lambda index=index: called.append(index))
        for index in range(60)
    ]
    clock.add(0.2, done.set)
    for index, handle in enumerate(handles):
        if index % 3:  # most of the heap: it is rebuilt without them
            clock.cancel(handle)
            clock.cancel(handle)  # twice changes nothing
    assert done.wait(2)
    kept = [index for index in range(60) if index % 3 == 0]
    assert called == sorted(kept, key=lambda index: (index % 7, index))
    clock.cancel(handles[0])  # after its call: nothing


def test_a_forked_child_calls_its_functions_from_a_thread_of_its_own() -> None:
    clock = DeadlineThread("statewright-test-fork")
    waiting = clock.add(30, lambda: None)  # the parent's thread runs, waiting for it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: it has no thread until its first add
        try:
            called = threading.Event()
            clock.add(0.05, called.set)
            os.write(write, b"1" if called.wait(2) else b"0")
        finally:
            os._exit(0)
    os.close(write)
    got = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    clock.cancel(waiting)
    assert got == b"1"


def test_stop_idle_ends_the_thread_at_once_unless_a_function_is_pending() -> None:
    clock = DeadlineThread("statewright-test-stop")

    def threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "statewright-test-stop"]

    clock.stop_idle()  # no thread yet: nothing to do
    pending = clock.add(30, lambda: None)
    clock.stop_idle()  # a live entry (another worker's exchange): left running
    assert len(threads()) == 1
    clock.cancel(pending)
    clock.stop_idle()  # only cancelled entries: it ends now, not a second later
    assert threads() == []
    called = threading.Event()
    clock.add(0.01, called.set)  # the next add starts another
    assert called.wait(2)
    clock.stop_idle()
    assert threads() == []
