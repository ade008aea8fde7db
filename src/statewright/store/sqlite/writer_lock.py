"""Writers of one SQLite file take turns: an exclusive `flock` on a file beside it
(`<database>-write.lock`), held by every write transaction of every process from its
`BEGIN IMMEDIATE` to its end.

SQLite's own wait for its write lock (`busy_timeout`) sleeps and looks again, 1, 2, 5, 10 and
up to 100 ms apart. A process that writes in a tight loop takes the lock back between two
looks, so another process can wait seconds for it, or past the busy timeout
(`benchmarks/README.md`, "Processes writing one SQLite file": one of two processes wrote
nothing for 4 s). A wait on this lock is a wait in the kernel, which wakes the waiter when
the holder lets go. The threads of one process queue on a `threading.Lock` first, so that only
one of them waits on the file.

The wait is bounded by the busy timeout, as SQLite's is. A blocking `flock` takes no timeout,
so a contended wait runs it on a helper thread and waits for that thread's answer with one.
A wait given up leaves the helper waiting; what it then gets it lets go at once, unless
another writer of this process has come to wait meanwhile. The kernel releases the lock when
the holder's process ends, however it ends (a SIGKILL included). Where the file cannot be
created (a read-only folder), only the threads take turns and SQLite's own wait does the
rest.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

__all__ = ["WriterBusy", "WriterLock"]


class WriterBusy(Exception):
    """The write lock stayed held by others for the whole timeout."""


class WriterLock:
    """The turn to write on one SQLite file, for this process's threads and other processes.

    Use `with lock:` around a write transaction; it raises `WriterBusy` when the turn does
    not come within the timeout.
    """

    def __init__(self, database: str, timeout_s: float) -> None:
        self.path = f"{database}-write.lock"
        self._timeout_s = timeout_s
        self._threads = threading.Lock()
        try:
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            self._fd = None
        self._state = threading.Condition(threading.Lock())  # the helper's hand-over
        self._granted = threading.Event()
        self._asked = False  # the helper is to wait for the file lock
        self._helper_waiting = False  # it is waiting (or about to), asked or left over
        self._wanted = False  # a thread of this process waits for what the helper gets
        self._helper: threading.Thread | None = None
        self._closed = False

    def __enter__(self) -> None:
        deadline = time.monotonic() + self._timeout_s
        if not self._threads.acquire(timeout=self._timeout_s):
            raise WriterBusy()
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                self._wait_for_file(deadline)
            except BaseException:
                self._threads.release()
                raise

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def _wait_for_file(self, deadline: float) -> None:
        with self._state:
            if self._closed:
                raise WriterBusy()
            self._wanted = True
            if not self._helper_waiting:
                self._helper_waiting = self._asked = True
                if self._helper is None:
                    self._helper = threading.Thread(
                        target=self._help, name=f"statewright writer lock {self.path}", daemon=True
                    )
                    self._helper.start()
                self._state.notify()
        self._granted.wait(max(0.0, deadline - time.monotonic()))
        with self._state:
            self._wanted = False
            if self._granted.is_set():
                self._granted.clear()
                return
        raise WriterBusy()

    def _help(self) -> None:
        """The helper thread: wait for the file lock whenever asked; hand it to the thread
        that waits for it, or let it go if none does any more."""
        fd = self._fd
        assert fd is not None
        while True:
            with self._state:
                while not self._asked and not self._closed:
                    self._state.wait()
                if self._closed:
                    self._helper = None
                    return
                self._asked = False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:  # not expected; the waiter times out, the next asks again
                with self._state:
                    self._helper_waiting = False
                continue
            with self._state:
                self._helper_waiting = False
                if self._wanted and not self._closed:
                    self._granted.set()
                else:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                if self._closed:
                    os.close(fd)
                    self._helper = None
                    return

    def close(self) -> None:
        """Close the lock file once no thread of this process has its turn (a helper still
        waiting for the file lock closes it when it returns); later turns are taken among
        this process's threads only."""
        with self._threads, self._state:
            if self._closed:
                return
            self._closed = True
            self._state.notify()
            helper_holds_fd = self._helper_waiting and not self._asked
            if self._fd is not None and not helper_holds_fd:
                os.close(self._fd)
            self._fd = None
