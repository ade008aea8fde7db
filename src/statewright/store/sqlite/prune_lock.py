"""One pruning run at a time on a SQLite file: an exclusive `flock` on a file beside it
(`<database>-prune.lock`). The kernel releases it when the holder's process ends, however
it ends (a SIGKILL included), so a crashed run never blocks the next. A SQLite file is used
from one host, so a lock of that host is enough; the lock file says who holds it."""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from statewright.errors import PruneRunning, StoreError

__all__ = ["prune_file_lock"]


@contextmanager
def prune_file_lock(database: str, url: str) -> Iterator[None]:
    """Hold the pruning lock of the SQLite file at `database` while the block runs.

    Raises:
        PruneRunning: another run holds it (nothing is changed).
        StoreError: the lock file cannot be created beside the database.
    """
    path = f"{database}-prune.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise StoreError(
            f"cannot create the pruning lock {path} ({error.strerror}); the folder of "
            f"{url} must be writable"
        ) from error
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or None
            raise PruneRunning(
                f"another prune is running on {url}"
                + (f" ({holder})" if holder else "")
                + "; one run at a time: wait for it to finish, then run again",
                holder=holder,
            ) from None
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"host {socket.gethostname()}, pid {os.getpid()}, since {since}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
