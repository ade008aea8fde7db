"""SQLite errors as statewright errors: which pass with time, and which need a person.

Transient (`StoreUnavailable`: a worker waits and tries again): the write lock held past the
busy timeout, the disk full, an I/O error, a file that cannot be opened for now. Not
transient (`StoreError`: a worker stops, naming the fix): a read-only file, a damaged file
or one that is not a database, a missing folder or no permission. Python's `sqlite3` gives
each error its SQLite result code's name (`sqlite_errorname`), which these go by.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from statewright.errors import SchemaOutOfDate, StoreError, StoreUnavailable

__all__ = ["busy", "missing_file", "translate"]


def busy(what: str, *, path: str, url: str, busy_ms: int) -> StoreUnavailable:
    """The error of a write that waited the whole busy timeout for its turn."""
    return StoreUnavailable(
        f"{what}: {path} ({url}) stayed locked for {busy_ms} ms; another process holds a long "
        "write transaction; retry, or raise ?busy_timeout="
    )


def translate(error: sqlite3.Error, *, what: str, path: str, url: str, busy_ms: int) -> StoreError:
    """The statewright error for a `sqlite3` error met while doing `what` on `path`."""
    message = str(error)
    name = getattr(error, "sqlite_errorname", "") or ""
    where = f"{path} ({url})"
    if "no such table" in message:
        return SchemaOutOfDate(
            f"{what}: {where} has no statewright schema ({message}); "
            f'run "statewright db migrate --url {url}"'
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in message:
        return busy(what, path=path, url=url, busy_ms=busy_ms)
    if name == "SQLITE_FULL" or "disk is full" in message:
        return StoreUnavailable(
            f"{what}: the disk holding {where} is full ({message}); nothing of this operation "
            "was written; free space on that disk (the work goes on once there is room)"
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in message:
        return StoreError(
            f"{what}: {where} is read-only for this user ({message}); make the file, its "
            "-wal and -shm files and its folder writable for the user running statewright"
        )
    if name == "SQLITE_NOTADB" or "file is not a database" in message:
        return StoreError(
            f"{what}: {where} is not a SQLite database ({message}); check the URL names the "
            "store's file (a typo can point at another file); if it does, the file is damaged: "
            f"stop the workers and restore it from a backup (or salvage it: sqlite3 {path} "
            ".recover)"
        )
    if name.startswith("SQLITE_CORRUPT") or "malformed" in message:
        return StoreError(
            f"{what}: {where} is damaged or not a SQLite database ({message}); stop the "
            f"workers and restore it from a backup (or salvage it: sqlite3 {path} .recover)"
        )
    if isinstance(error, sqlite3.IntegrityError):
        return StoreError(
            f"{what}: the database refused the write ({message}); nothing was written"
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in message:
        fault = _cannot_open(path)
        if fault:
            return StoreError(f"{what}: cannot open the SQLite database {where}: {fault}")
        return StoreUnavailable(
            f"{what}: cannot open the SQLite database {where}: {message}; check the disk"
        )
    if name.startswith("SQLITE_IOERR") or "disk I/O" in message:
        return StoreUnavailable(f"{what}: {where}: {message}; check the disk")
    return StoreError(f"{what}: {where}: {message}")


def missing_file(path: str, url: str) -> StoreError | None:
    """Why a SQLite database that must exist cannot be found at `path`; None if it is there."""
    file = Path(path)
    if file.is_file():
        return None
    if file.exists():
        return StoreError(f"{path} ({url}) is not a file; fix the path in the URL")
    folder = file.parent
    if not folder.is_dir():
        return StoreError(
            f"no SQLite database at {path} ({url}): its folder {folder} does not exist; "
            "fix the path in the URL"
        )
    return StoreError(
        f"no SQLite database at {path} ({url}); fix the path in the URL, or create the "
        f'database with "statewright db migrate --url {url}"'
    )


def _cannot_open(path: str) -> str | None:
    """What keeps `path` from being opened, where it is a lasting fault; else None."""
    file = Path(path)
    folder = file.parent
    if not folder.is_dir():
        return f"its folder {folder} does not exist; create it or fix the path in the URL"
    if file.is_dir():
        return "that is a folder, not a file; fix the path in the URL"
    if file.exists() and not os.access(file, os.R_OK | os.W_OK):
        return "this user may not read and write it; fix the file's permissions"
    if not file.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return f"this user may not create files in {folder}; fix the folder's permissions"
    return None
