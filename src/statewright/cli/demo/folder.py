"""The demo's folder (`.demo/` by default): a fresh SQLite store each run, the project file
and setup file its `serve` reads, and the API tokens of the demo's tenant.

Every run starts from an empty store: the files of the last run (store, log) are removed
first, so that the console shows only this run's traffic and the token printed is the one
that works. After a run the store stays, to look at with the command line from the folder
(`cd .demo && statewright list`).
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from statewright.cli.demo.machines import load
from statewright.engine import Engine
from statewright.errors import ConfigError

__all__ = ["TENANT", "DemoFolder", "prepare"]

#: The tenant of everything the demo starts.
TENANT = "demo"
_STORE = "demo.db"
_STALE = (_STORE, f"{_STORE}-wal", f"{_STORE}-shm", f"{_STORE}-journal", "serve.log")


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoFolder:
    """A prepared demo folder.

    Attributes:
        path: the folder (absolute).
        url: its store's URL.
        machines: its setup file (`MACHINES`, `LISTENERS`, `SCHEDULES`, `OUTBOX_RETRY`) for
            `serve`.
        log: where the server's log lines go.
        admin_token: a token of role admin in the demo's tenant, to log in to the console.
        traffic_token: a token of role operator, the traffic generator's.
        lock: the folder's lock file, held open (locked) while the demo runs.
    """

    path: Path
    url: str
    machines: Path
    log: Path
    admin_token: str
    traffic_token: str
    lock: IO[str] = field(repr=False)


def prepare(folder: Path, examples: Path) -> DemoFolder:
    """Empty `folder` of the last run's store and log, write its files, create the store
    and two tokens. The examples are loaded first: a broken one changes nothing.

    Raises:
        ConfigError, DefinitionError: an example is missing or broken (named, with the fix).
        StoreError: the folder cannot hold the store.
    """
    examples = examples.resolve()
    load(examples, TENANT)
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    lock = _lock(folder)
    for name in _STALE:
        (folder / name).unlink(missing_ok=True)
    (folder / ".gitignore").write_text("*\n", encoding="utf-8")
    machines = folder / "machines.py"
    machines.write_text(_MACHINES.format(examples=str(examples), tenant=TENANT), encoding="utf-8")
    (folder / "statewright.toml").write_text(
        _PROJECT.format(store=_STORE, tenant=TENANT), encoding="utf-8"
    )
    url = f"sqlite:///{folder / _STORE}"
    with Engine.open(url, create=True) as engine:
        _, admin = engine.create_token(tenant=TENANT, role="admin", name="console")
        _, traffic = engine.create_token(tenant=TENANT, role="operator", name="traffic")
    return DemoFolder(
        path=folder,
        url=url,
        machines=machines,
        log=folder / "serve.log",
        admin_token=admin,
        traffic_token=traffic,
        lock=lock,
    )


def _lock(folder: Path) -> IO[str]:
    """Hold the folder's lock file for this run: a second demo on the same folder would
    empty the store under the first one."""
    handle = (folder / "demo.lock").open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        pid = f" (pid {holder})" if holder.isdigit() else ""
        raise ConfigError(
            f"{folder}: a demo is running in this folder already{pid}; stop it (Ctrl-C), "
            "or give this one another --dir"
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


_MACHINES = '''"""The live demo's setup, written by `statewright demo` at each run: the order,
approval and intake examples with their Python implementations, for `statewright serve`."""

from pathlib import Path

from statewright.cli.demo.machines import OUTBOX_RETRY, load

MACHINES, LISTENERS, SCHEDULES = load(Path({examples!r}), {tenant!r})
'''

_PROJECT = """# The live demo's project, written by `statewright demo` at each run: from this
# folder, `statewright list`, `statewright show ID` and the other commands read its store.
[statewright]
url = "sqlite:///{store}"
implementations = "machines.py"
tenant = "{tenant}"
"""
