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
import time
from dataclasses import dataclass
from pathlib import Path

from statewright.errors import SchemaOutOfDate, StoreError, StoreUnavailable

__all__ = [
    "WriteFault",
    "busy",
    "file_gone",
    "lasting_write_fault",
    "missing_file",
    "read_only_filesystem",
    "translate",
]

#: The result codes of a write that fails until a person acts (or the disk has room
#: again), with what they say in words that do not name the store: the store's readiness
#: reports them until a write succeeds.
_LASTING = (
    ("SQLITE_FULL", "the disk holding the store is full; free space on it"),
    ("SQLITE_READONLY", "the store's file is read-only; make it, its folder and disk writable"),
    ("SQLITE_IOERR", "the disk holding the store gives I/O errors; check it"),
    ("SQLITE_CORRUPT", "the store's file is damaged; restore it from a backup"),
    ("SQLITE_NOTADB", "the store's file is not a SQLite database; restore it from a backup"),
)


def lasting_write_fault(error: sqlite3.Error) -> str | None:
    """What a failed write says, if it says that the store takes no writes for now (the
    disk full, the file read-only, an I/O error, damage), in words that do not name the
    store; None for one write's bad luck (the lock busy, a constraint)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    for prefix, cause in _LASTING:
        if name.startswith(prefix):
            return cause
    return None


@dataclass(frozen=True, slots=True)
class WriteFault:
    """The last write that failed for a lasting reason (`cause`: in words that do not name
    the store), and when (epoch seconds)."""

    error: StoreError
    cause: str
    at: float

    def reported(self) -> StoreError:
        """The error readiness answers with: the failure, when it happened, what clears it."""
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.at))
        ago = max(0, round(time.time() - self.at))
        reported = type(self.error)(
            f"the store takes no writes: the last write, at {when} ({ago} s ago), failed: "
            f"{self.error} (ready again once a write succeeds)"
        )
        reported.public = (
            f"the store takes no writes: the last write, at {when}, failed: {self.cause} "
            "(ready again once a write succeeds; the server's log names the store)"
        )
        return reported


def file_gone(path: str, url: str, *, replaced: bool) -> StoreError:
    """The error of a write into a SQLite file no longer at its path (deleted or replaced
    while the process held it open): such a write would be lost with the unlinked file."""
    what = "replaced by another file" if replaced else "deleted"
    fix = (
        "this process still holds the old file, and writes into it would be lost when it "
        "ends, so none are taken: put the database back at that path (restore it from a "
        "backup, docs/operations.md) and restart this process and every other one using it"
    )
    error = StoreError(
        f"the SQLite database {path} ({url}) was {what} while this process had it open; {fix}"
    )
    error.public = (
        f"the store's SQLite file was {what} while this server had it open; {fix} (the "
        "server's log names the path)"
    )
    return error


def read_only_filesystem(path: str) -> str | None:
    """The mount point of the read-only filesystem holding `path` (or its folder, if the
    file does not exist); None if it is writable or cannot be told."""
    target = Path(path)
    if not target.exists():
        target = target.parent
    try:
        if not os.statvfs(target).f_flag & os.ST_RDONLY:
            return None
    except OSError:
        return None
    mount = target.resolve()
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    return str(mount)


def _read_only_fix(path: str, mount: str) -> str:
    name = Path(path).name
    return (
        f"the filesystem mounted at {mount} is read-only (not a matter of permissions); "
        f"remount it read-write (mount -o remount,rw {mount}) or move the database to a "
        f"writable disk; to read it as it is (a backup, a snapshot), copy {name} and its "
        f"{name}-wal file, if there is one, to a writable folder and name the copy in the URL"
    )


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
        if mount := read_only_filesystem(path):
            return StoreError(f"{what}: {where} cannot be written: {_read_only_fix(path, mount)}")
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
    if mount := read_only_filesystem(path):
        return _read_only_fix(path, mount)
    if file.exists() and not os.access(file, os.R_OK | os.W_OK):
        return "this user may not read and write it; fix the file's permissions"
    if not file.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return f"this user may not create files in {folder}; fix the folder's permissions"
    return None
