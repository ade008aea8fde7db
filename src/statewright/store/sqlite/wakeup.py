"""Wake-ups between processes sharing one SQLite file: PostgreSQL's LISTEN/NOTIFY, on one host.

A waiting worker binds a Unix datagram socket in a folder named after the database file
(`<temp>/statewright-<hash of its real path>/`, private to the user). A commit that creates
work sends one byte to every socket there, after the commit, so the worker that wakes sees
the work. A socket nobody listens on any more (its process died) is removed by the next
sender; the last waiter to close removes the folder. Like NOTIFY it is best-effort, so
workers keep a polling fallback; where Unix sockets are missing (Windows) waiting is plain
polling.

Closing the channel while another thread waits on it (the store closed under a running
worker) must not close the socket that thread is in `select()` on: its descriptor number
may be reused at once by another file. So `close` marks the channel closed and, while a
wait is in progress, wakes it with a datagram of its own; the last waiter to leave closes
the sockets, and every later `wait` raises the store's `StoreError` (the store is closed).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import tempfile
import threading
from pathlib import Path

from statewright.errors import StoreError

__all__ = ["WakeChannel"]

_CLOSED = "waiting for work: the store is closed; open a new one"

_SUPPORTED = hasattr(socket, "AF_UNIX")


class WakeChannel:
    """Wake-ups for the processes using one database file."""

    def __init__(self, database: Path) -> None:
        digest = hashlib.sha256(str(database.resolve()).encode()).hexdigest()[:16]
        self.folder = Path(tempfile.gettempdir()) / f"statewright-{digest}"
        self._sender: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._address: Path | None = None
        # Guards the sockets against `close` from another thread: held for sends and for
        # the counting of waiters, never for a whole wait.
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._waiters = 0  # threads in `wait` (their socket stays open until they leave)

    def notify(self) -> None:
        """Wake every process waiting on this database (after a commit that created work)."""
        if not _SUPPORTED:
            return
        try:
            names = os.listdir(self.folder)
        except OSError:
            return  # no folder: nobody has ever waited
        if not names:
            return
        with self._lock:
            if self._closed.is_set():
                return  # a commit that ended as the store closed: nobody to tell any more
            if self._sender is None:
                self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sender.setblocking(False)
            for name in names:
                _send(self._sender, self.folder / name, remove_dead=True)

    def wait(self, timeout_s: float) -> bool:
        """Return on a wake-up from another process's commit (True), or after `timeout_s`.

        Raises:
            StoreError: the channel was closed (with its store), also while waiting.
        """
        timeout_s = max(0.0, timeout_s)
        with self._lock:
            if self._closed.is_set():
                raise StoreError(_CLOSED)
            listener = self._listen()
            if listener is not None:
                self._waiters += 1
        if listener is None:
            if self._closed.wait(timeout_s):  # polling; a close ends the sleep
                raise StoreError(_CLOSED)
            return False
        try:
            readable, _, _ = select.select([listener], [], [], timeout_s)
            if readable:
                with contextlib.suppress(BlockingIOError):
                    while listener.recv(64):  # several commits may have woken us: take them
                        pass
        finally:
            with self._lock:
                self._waiters -= 1
                last_out = self._closed.is_set() and self._waiters == 0
            if last_out:
                self._release()
        if self._closed.is_set():
            raise StoreError(_CLOSED)
        return bool(readable)

    def close(self) -> None:
        """Stop listening and release the sockets: at once if nobody waits, else woken, by
        the last waiter as it leaves. Later waits raise `StoreError`."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            waiting = self._waiters > 0
            if waiting and self._address is not None:
                # Wake the waiters (a full queue has woken them already).
                with (
                    contextlib.suppress(OSError),  # else it wakes at its timeout
                    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as poke,
                ):
                    poke.setblocking(False)
                    _send(poke, self._address, remove_dead=False)
        if not waiting:
            self._release()

    def _release(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            address, self._address = self._address, None
            sender, self._sender = self._sender, None
        if listener is not None:
            listener.close()
        if address is not None:
            with contextlib.suppress(OSError):
                address.unlink()
            with contextlib.suppress(OSError):
                # The last one out removes the folder (not empty: another waits). A process
                # binding in it meanwhile fails once and binds again at its next wait.
                self.folder.rmdir()
        if sender is not None:
            sender.close()

    def _listen(self) -> socket.socket | None:
        """The listening socket, bound on first use (with `_lock` held); None: poll."""
        if self._listener is not None or not _SUPPORTED:
            return self._listener
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            address = self.folder / f"{os.getpid()}-{id(self):x}"
            with contextlib.suppress(FileNotFoundError):
                address.unlink()
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            listener.bind(str(address))
        except OSError:
            return None  # e.g. a path too long for a socket: poll instead
        listener.setblocking(False)
        self._listener, self._address = listener, address
        return listener


def _send(sender: socket.socket, address: Path, *, remove_dead: bool) -> None:
    """One wake-up datagram to `address`, best-effort."""
    try:
        sender.sendto(b"w", str(address))
    except BlockingIOError:
        pass  # its queue is full: it has wake-ups waiting already
    except (ConnectionRefusedError, FileNotFoundError):
        if remove_dead:
            with contextlib.suppress(OSError):
                address.unlink()  # its process is gone
    except OSError:
        pass  # best-effort; the waiter's polling covers it
