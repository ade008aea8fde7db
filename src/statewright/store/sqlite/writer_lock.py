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
- A waiter first keeps trying the lock for `SPIN_S`, about one write transaction that does
  not flush: two processes writing in turn then hand the lock over without a sleep and a
  wake, which on a virtual machine can cost more than such a transaction. Only one waiter
  spins at a time (a third word holds the spinner's deadline), so that spinners do not
  take the processors from the holder, and none while turns last longer than a spin (a
  fourth word holds how long the last one lasted: a flush to disk, say).
- A waiter that did not get the lock so marks itself waiting (the word holds when the
  longest waiter began), looks once more, then sleeps until the counter moves (a move
  since it read it ends the sleep at once). Once a waiter has waited `FAIR_S`, writers
  that come after it neither spin nor take the lock ahead of it, so that no writer is left
  behind by two others handing the lock to each other. (Times are the monotonic clock's,
  which all processes of a machine share.)
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

__all__ = ["FAIR_S", "RING_S", "SPIN_S", "WriterBusy", "WriterLock"]

#: The longest a waiter waits on the doorbell before it looks at the lock again.
RING_S = 0.002
#: How long a waiter keeps trying the lock before it sleeps on the doorbell.
SPIN_S = 0.0001
#: How long a waiter waits before spinners stop taking the lock ahead of it.
FAIR_S = 0.002
#: A waiting mark older than this is taken for a dead waiter's and wiped.
_STALE_S = 1.0

#: The lock file's words: the doorbell's counter, when the longest waiter began (0: nobody
#: waits), the spinner's deadline (0: nobody spins), how long the last turn was held; times
#: in ticks of 10 µs, modulo 2**32 (about 12 hours).
_WORDS = 4
_TICKS_PER_S = 100_000
_MASK = 0xFFFFFFFF
_FAIR_TICKS = int(FAIR_S * _TICKS_PER_S)
_STALE_TICKS = int(_STALE_S * _TICKS_PER_S)


def _tick() -> int:
    """Now, in ticks modulo 2**32, never 0 (which means "none")."""
    return (int(time.monotonic() * _TICKS_PER_S) & _MASK) or 1


def _ticks_since(then: int) -> int:
    """Ticks from `then` to now, modulo 2**32."""
    return (_tick() - then) & _MASK


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
        self._spinner: ctypes.c_uint32 | None = None
        self._held: ctypes.c_uint32 | None = None
        self._taken = 0.0  # when this process's holder took the lock (monotonic)
        self._address = ctypes.c_void_p(0)  # the counter's, as the futex call takes it
        if across_processes:
            self._open()

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return
        try:
            if os.fstat(fd).st_size < 4 * _WORDS:
                os.ftruncate(fd, 4 * _WORDS)  # several processes may do this at once: same size
            self._map = mmap.mmap(fd, 4 * _WORDS)
        except (OSError, ValueError):
            pass  # no doorbell: waiters look every RING_S
        else:
            self._bell = ctypes.c_uint32.from_buffer(self._map)
            self._waiting = ctypes.c_uint32.from_buffer(self._map, 4)
            self._spinner = ctypes.c_uint32.from_buffer(self._map, 8)
            self._held = ctypes.c_uint32.from_buffer(self._map, 12)
            self._address = ctypes.c_void_p(ctypes.addressof(self._bell))
        self._fd = fd

    def __enter__(self) -> None:
        threads = self._threads
        if not threads.acquire(False):  # the common case first: no thread holds it
            started = time.monotonic()
            if not threads.acquire(timeout=self._timeout_s):
                raise WriterBusy()
            timeout_s = self._timeout_s - (time.monotonic() - started)
        else:
            timeout_s = self._timeout_s
        fd = self._fd
        if fd is None:
            return
        waiting = self._waiting
        if waiting is None or not waiting.value:  # nobody waits: try it once, and done
            try:
                _flock(fd, _TAKE)
            except BlockingIOError:
                pass
            except BaseException:
                threads.release()
                raise
            else:
                self._taken = time.monotonic()
                return
        self._wait_for_turn(fd, timeout_s)

    def _wait_for_turn(self, fd: int, timeout_s: float) -> None:
        """Take the lock on `fd` (this process's threads' turn is held) within `timeout_s`:
        let a waiter that has waited long go first, spin, then sleep on the doorbell."""
        deadline = time.monotonic() + timeout_s
        bell, waiting = self._bell, self._waiting
        since = 0  # when this waiter marked itself waiting, in ticks
        try:
            # Owed to a waiter who has waited long: let it in first.
            owed = waiting is not None and waiting.value != 0 and self._owed(since)
            if not owed and _take(fd):
                self._taken = time.monotonic()
                return
            spin = True
            while True:
                rung = bell.value if bell is not None else 0
                if owed:
                    owed = False
                elif self._spin(fd, deadline, since) if spin else _take(fd):
                    break
                spin = True
                if waiting is not None:
                    since = since or _tick()
                    marked = waiting.value
                    if not marked or _ticks_since(since) > _ticks_since(marked):
                        waiting.value = since  # the longest waiter's start
                        spin = False  # before the bell is read again: look once more
                        continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WriterBusy()
                self._wait(rung, min(left, RING_S))
            self._taken = time.monotonic()
        except BaseException:
            self._threads.release()
            raise
        finally:
            if since and waiting is not None and waiting.value == since:
                waiting.value = 0  # taken, or given up: no longer waiting

    def _spin(self, fd: int, deadline: float, since: int) -> bool:
        """Try the lock for `SPIN_S` (not past `deadline`), and whether it was taken: only
        once if another waiter spins or the last turn lasted longer than a spin, and no
        longer once a waiter that is not `since` has waited `FAIR_S`."""
        spinner, held = self._spinner, self._held
        spin_ticks = int(SPIN_S * _TICKS_PER_S)
        if held is not None and held.value > spin_ticks:
            return _take(fd)  # turns last longer than a spin: sleep, and be woken
        mine = 0
        if spinner is not None:
            now = _tick()
            if 0 < (spinner.value - now) & _MASK <= spin_ticks + 1:
                return _take(fd)  # another spins; a deadline further off is a dead spinner's
            mine = spinner.value = ((now + spin_ticks) & _MASK) or 1
        until = min(deadline, time.monotonic() + SPIN_S)
        try:
            while True:
                if _take(fd):
                    return True
                if time.monotonic() >= until:
                    return False
                if self._owed(since):
                    return False  # its turn: it is woken when the holder lets go
        finally:
            if mine and spinner is not None and spinner.value == mine:
                spinner.value = 0

    def _owed(self, since: int) -> bool:
        """Whether a waiter other than the one marked at `since` has waited `FAIR_S`. A mark
        older than `_STALE_S` is wiped: a dead waiter's (where there are no futexes, no wake
        wipes it), or a live one's, which marks itself again when it next looks."""
        waiting = self._waiting
        marked = waiting.value if waiting is not None else 0
        if not marked or marked == since:
            return False
        waited = _ticks_since(marked)
        if waited >= _STALE_TICKS and waiting is not None:
            waiting.value = 0
            return False
        return waited >= _FAIR_TICKS

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
            held = self._held
            if held is not None:  # (a c_uint32 keeps the low 32 bits of a longer turn)
                held.value = int((time.monotonic() - self._taken) * _TICKS_PER_S)
            _flock(fd, _RELEASE)
            bell, waiting = self._bell, self._waiting
            if bell is not None:
                # After letting go, so that a waiter who read the counter before it looked
                # finds it moved. Two writers adding at once may add one: still moved.
                bell.value = (bell.value + 1) & _MASK
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
            # Releases the mapping's buffers for close().
            self._bell = self._waiting = self._spinner = self._held = None
            if self._map is not None:
                self._map.close()
                self._map = None
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _take(fd: int) -> bool:
    """Take the lock on `fd` if it is free."""
    try:
        _flock(fd, _TAKE)
    except BlockingIOError:
        return False
    return True


_flock = fcntl.flock
_TAKE = fcntl.LOCK_EX | fcntl.LOCK_NB
_RELEASE = fcntl.LOCK_UN
