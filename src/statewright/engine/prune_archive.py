"""The archive of a pruning run: one JSON Lines file per run, one line per instance, written
and flushed to disk (`fsync`, the file and its folder) before any of the instances it holds
is removed. A crash between the two leaves a line for an instance that is still stored; the
next run archives it again (an instance may then appear in two files, identically: a
finished instance no longer changes).

A line::

    {"format": "statewright-prune/1", "archived_at": 1767225600000, "tenant": "default",
     "id": "order-1", "instance": {...}, "audit": [{...}, ...], "timers": [...],
     "steps": [...], "outbox": [...], "step_attempts": [...], "idempotency": [...]}

Every row is as stored: its columns by name, JSON columns as the text the engine wrote.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from statewright.errors import PayloadError, StoreError
from statewright.store.transaction import Row

__all__ = ["ARCHIVE_FORMAT", "ArchiveWriter", "archive_line"]

#: The `format` of every archive line; a later layout gets a new number.
ARCHIVE_FORMAT = "statewright-prune/1"


def archive_line(
    tenant: str, instance_id: str, rows: Mapping[str, Row | list[Row]], archived_at: int
) -> bytes:
    """One instance's archive line (with its newline), from `PruneStore.instance_rows`."""
    line: dict[str, object] = {
        "format": ARCHIVE_FORMAT,
        "archived_at": archived_at,
        "tenant": tenant,
        "id": instance_id,
        **rows,
    }
    text = json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)
    return (text + "\n").encode("utf-8")


class ArchiveWriter:
    """Appends archive lines to this run's file in `folder`, created on the first write."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        """Check that `folder` can hold the archive (it is created if missing).

        Raises:
            PayloadError: `folder` is a file, or cannot be created or written.
        """
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PayloadError(
                f"--archive {str(folder)!r}: cannot create the folder ({error.strerror}); "
                "give a writable folder"
            ) from error
        if not os.access(self.folder, os.W_OK):
            raise PayloadError(
                f"--archive {str(folder)!r}: the folder is not writable; give a writable folder"
            )
        self.path: Path | None = None
        self._fd: int | None = None

    def write(self, lines: Sequence[bytes]) -> None:
        """Append `lines` and flush them to disk before returning.

        Raises:
            StoreError: the disk refused them (full, read-only): nothing may be removed.
        """
        if not lines:
            return
        try:
            fd = self._open()
            data = b"".join(lines)
            while data:
                written = os.write(fd, data)
                data = data[written:]
            os.fsync(fd)
        except OSError as error:
            raise StoreError(
                f"writing the archive {self.path} failed ({error.strerror}); nothing more was "
                "removed: free space or choose another --archive folder, then run again"
            ) from error

    def close(self) -> None:
        """Close the file (every line was flushed already)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = self.folder / f"statewright-prune-{stamp}-{os.getpid()}.jsonl"
        number = 1
        while True:
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
                break
            except FileExistsError:
                number += 1
                path = self.folder / f"statewright-prune-{stamp}-{os.getpid()}-{number}.jsonl"
        self.path = path
        # The new name itself must survive a crash too: flush the folder's entry.
        folder_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)
        return self._fd
