"""Wake-ups between processes sharing one SQLite file: PostgreSQL's LISTEN/NOTIFY, on one host.

A waiting worker binds a Unix datagram socket in a folder named after the database file
(`<temp>/statewright-<hash of its real path>/`, private to the user). A commit that creates
work sends one byte to every socket there, after the commit, so the worker that wakes sees
the work. A socket nobody listens on any more (its process died) is removed by the next
sender; the last waiter to close removes the folder. Like NOTIFY it is best-effort, so
workers keep a polling fallback; where Unix sockets are missing (Windows) waiting is plain
polling.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import tempfile
import time
from pathlib import Path

__all__ = ["WakeChannel"]

_SUPPORTED = hasattr(socket, "AF_UNIX")


class WakeChannel:
    """Wake-ups for the processes using one database file."""

    def __init__(self, database: Path) -> None:
        digest = hashlib.sha256(str(database.resolve()).encode()).hexdigest()[:16]
        self.folder = Path(tempfile.gettempdir()) / f"statewright-{digest}"
        self._sender: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._address: Path | None = None

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
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for name in names:
            address = self.folder / name
            try:
                self._sender.sendto(b"w", str(address))
            except BlockingIOError:
                pass  # its queue is full: it has wake-ups waiting already
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    address.unlink()  # its process is gone
            except OSError:
                pass  # best-effort; the waiter's polling covers it

    def wait(self, timeout_s: float) -> bool:
        """Return on a wake-up from another process's commit (True), or after `timeout_s`."""
        timeout_s = max(0.0, timeout_s)
        listener = self._listen()
        if listener is None:
            time.sleep(timeout_s)
            return False
        readable, _, _ = select.select([listener], [], [], timeout_s)
        if readable:
            with contextlib.suppress(BlockingIOError):
                while listener.recv(64):  # several commits may have woken us: take them all
                    pass
        return bool(readable)

    def close(self) -> None:
        """Stop listening and release the sockets."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._address is not None:
            with contextlib.suppress(OSError):
                self._address.unlink()
            with contextlib.suppress(OSError):
                # The last one out removes the folder (not empty: another waits). A process
                # binding in it meanwhile fails once and binds again at its next wait.
                self.folder.rmdir()
            self._address = None
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    def _listen(self) -> socket.socket | None:
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
