"""Writers of one SQLite file take turns: an exclusive `flock` on a file beside it
(`<database>-write.lock`), held by every write transaction of every process from its
`BEGIN IMMEDIATE` to its end.

SQLite's own wait for its write lock (`busy_timeout`) sleeps and looks again, 1, 2, 5, 10 and
up to 100 ms apart. A process that writes in a tight loop takes the lock back between two
looks, so another process can wait seconds for it, or past the busy timeout
(`benchmarks/README.md`, "Processes writing one SQLite file": one of two processes wrote
nothing for 4 s). Here the threads of one process queue on a `threading.Lock`, and the one
at the head of the queue waits for the file lock on a doorbell: a 32-bit counter in the lock
file, mapped into every process that uses it, and a word beside it that says someone waits.

- A writer that lets the lock go adds one to the counter and, if someone waits, wakes one
  sleeping waiter of any process (a Linux futex on the shared mapping); if nobody was
  asleep it clears the word, so that writers nobody waits for make no such call.
- A waiter reads the counter, tries a non-blocking `flock`, and if another holds it marks
  itself waiting, looks once more, then sleeps until the counter moves (a move since it
  read it ends the sleep at once).
- No waiter sleeps more than `RING_S` without looking (a wake can be missed in a narrow
  race, and a process that died holding the lock rang nothing: the kernel released its
  `flock`), nor waits past the busy timeout in all: then `WriterBusy`, and the store
  reports the file as locked.

The `flock` is what holds the turn, so a holder's death always frees it; the doorbell only
says when to look. Where futexes are not to be had (not Linux, or an unknown processor),
the waiter looks every `RING_S`. Where the lock file cannot be made or mapped (a read-only
folder), only the threads take turns and SQLite's own wait does the rest.
"""

from __future__ import annotations

import ctypes
import fcntl
import mmap
import os
import threading
import time
from collections.abc import Callable

__all__ = ["RING_S", "WriterBusy", "WriterLock"]

#: The longest a waiter waits on the doorbell before it looks at the lock again.
RING_S = 0.002

_FUTEX_WAIT = 0
_FUTEX_WAKE = 1
#: The futex system call's number, by processor (Linux).
_SYS_FUTEX = {"x86_64": 202, "aarch64": 98}


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _futex_call() -> tuple[Callable[..., int], int] | None:
    """libc's `syscall` and the futex's number, if this is Linux on a processor whose
    number is known."""
    system = os.uname()
    if system.sysname != "Linux" or system.machine not in _SYS_FUTEX:
        return None
    try:
        call: Callable[..., int] = ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    return call, _SYS_FUTEX[system.machine]


_futex = _futex_call()


class WriterBusy(Exception):
    """The write lock stayed held by others for the whole timeout."""


class WriterLock:
    """The turn to write on one SQLite file, for this process's threads and other processes.

    Use `with lock:` around a write transaction; it raises `WriterBusy` when the turn does
    not come within the timeout. With `across_processes=False` only this process's threads
    take turns.
    """

    def __init__(self, database: str, timeout_s: float, *, across_processes: bool = True) -> None:
        self.path = f"{database}-write.lock"
        self._timeout_s = timeout_s
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        self._bell: ctypes.c_uint32 | None = None
        self._waiting: ctypes.c_uint32 | None = None
        self._address = ctypes.c_void_p(0)  # the counter's, as the futex call takes it
        if across_processes:
            self._open()

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return
        try:
            if os.fstat(fd).st_size < 8:
                os.ftruncate(fd, 8)  # several processes may do this at once: same size
            self._map = mmap.mmap(fd, 8)
        except (OSError, ValueError):
            pass  # no doorbell: waiters look every RING_S
        else:
            self._bell = ctypes.c_uint32.from_buffer(self._map)
            self._waiting = ctypes.c_uint32.from_buffer(self._map, 4)
            self._address = ctypes.c_void_p(ctypes.addressof(self._bell))
        self._fd = fd

    def __enter__(self) -> None:
        deadline = time.monotonic() + self._timeout_s
        if not self._threads.acquire(timeout=self._timeout_s):
            raise WriterBusy()
        fd = self._fd
        if fd is None:
            return
        bell, waiting = self._bell, self._waiting
        try:
            while True:
                rung = bell.value if bell is not None else 0
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    pass
                if waiting is not None and not waiting.value:
                    waiting.value = 1  # before the bell is read again: then look once more
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WriterBusy()
                self._wait(rung, min(left, RING_S))
        except BaseException:
            self._threads.release()
            raise

    def _wait(self, rung: int, seconds: float) -> None:
        """Until the doorbell rings past `rung`, or `seconds` pass."""
        if _futex is None or self._bell is None:
            time.sleep(seconds)
            return
        call, number = _futex
        timeout = _Timespec(int(seconds), int((seconds % 1) * 1e9))
        # Returns at once if the counter is no longer `rung` (it rang meanwhile).
        call(
            number,
            self._address,
            _FUTEX_WAIT,
            ctypes.c_uint32(rung),
            ctypes.byref(timeout),
            None,
            0,
        )

    def __exit__(self, *exc: object) -> None:
        fd = self._fd
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            bell, waiting = self._bell, self._waiting
            if bell is not None:
                # After letting go, so that a waiter who read the counter before it looked
                # finds it moved. Two writers adding at once may add one: still moved.
                bell.value = (bell.value + 1) & 0xFFFFFFFF
            if waiting is not None and waiting.value and _futex is not None:
                call, number = _futex
                if call(number, self._address, _FUTEX_WAKE, 1, None, None, 0) == 0:
                    # Nobody slept on it: a waiter not yet asleep sees the counter moved
                    # and looks again; one that then sleeps looks within RING_S.
                    waiting.value = 0
        self._threads.release()

    def close(self) -> None:
        """Close the lock file once no thread of this process has its turn; later turns are
        taken among this process's threads only."""
        with self._threads:
            self._bell = self._waiting = None  # releases the mapping's buffer for close()
            if self._map is not None:
                self._map.close()
                self._map = None
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
