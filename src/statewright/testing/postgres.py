"""A throwaway PostgreSQL server for tests: started in a temp folder, removed on exit.

    with TemporaryPostgres() as server:
        url = server.create_database("app_test")   # postgresql://postgres@127.0.0.1:PORT/...

It needs the server binaries (`initdb`, `pg_ctl`), found on PATH or under
/usr/lib/postgresql/*/bin (Debian: `apt-get install postgresql`). PostgreSQL refuses to run
as root, so as root every command runs as the `postgres` OS user through `runuser`. The
server listens on a free loopback port and a socket in the temp folder, trusts every local
login, and runs with `fsync=off`: fast, and fine for data that is thrown away.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import sql

from statewright.errors import StoreUnavailable
from statewright.store.url import with_query

__all__ = [
    "TemporaryPostgres",
    "create_schema",
    "drop_schema",
    "find_postgres_bin",
    "with_search_path",
]

_INSTALL = (
    "install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; macOS: "
    "brew install postgresql), or set STATEWRIGHT_TEST_POSTGRES_URL to a database to use"
)
#: Server settings for a test server: nothing it writes needs to survive a crash.
_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


def find_postgres_bin() -> Path:
    """The folder holding `initdb` and `pg_ctl`: from PATH, else the newest Debian install.

    Raises:
        StoreUnavailable: the binaries are not installed; the message says how to get them.
    """
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", path)],
    )
    for folder in reversed(candidates):
        if (Path(folder) / "pg_ctl").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    raise StoreUnavailable(f"PostgreSQL's initdb and pg_ctl were not found; {_INSTALL}")


class TemporaryPostgres:
    """A PostgreSQL server of its own, in a temp folder; a context manager.

    Attributes:
        port: the loopback TCP port it listens on.
        folder: its temp folder (data, socket and log), removed by `stop`.
    """

    def __init__(self, *, bin_dir: Path | None = None, host: str = "127.0.0.1") -> None:
        """A server to start on `host` (an address of this machine; loopback by default)."""
        self.bin_dir = bin_dir or find_postgres_bin()
        self.host = host
        self.folder = Path(tempfile.mkdtemp(prefix="statewright-pg-"))
        self.port = 0
        self._as_postgres: list[str] = []
        self._options = ""  # the server's command-line options, once started
        self._running = False
        self._paused = False  # stopped by `pause`, its data kept

    @property
    def url(self) -> str:
        """The URL of the `postgres` maintenance database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """The URL of one database of this server (login `postgres`, no password)."""
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def start(self) -> TemporaryPostgres:
        """Create the cluster and start the server; returns once it accepts connections.

        Raises:
            StoreUnavailable: a step failed; the message carries its output.
        """
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise StoreUnavailable(
                    "PostgreSQL refuses to run as root and there is no 'postgres' user; "
                    "create one (useradd postgres) or run the tests as another user"
                ) from None
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        self.port = _free_port()
        options = [f"-p {self.port}", f"-k {self.folder}", f"-c listen_addresses={self.host}"]
        options += [f"-c {setting}" for setting in _SETTINGS]
        self._options = " ".join(options)
        self._run("pg_ctl", "-D", str(data), "-o", self._options,
                  "-l", str(self.folder / "log"), "-w", "-t", "60", "start")  # fmt: skip
        self._running = True
        atexit.register(self.stop)
        return self

    def create_database(self, name: str) -> str:
        """Create a database and return its URL."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def trust_network(self, network: str) -> None:
        """Let logins from `network` (CIDR, e.g. 10.1.2.0/30) in without a password."""
        hba = self.folder / "data" / "pg_hba.conf"
        with hba.open("a") as out:
            out.write(f"host all all {network} trust\n")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "reload")

    def restart(self) -> None:
        """Restart the server (`pg_ctl restart -m fast`: sessions are cut off, the server
        shuts down cleanly and starts again); returns once it accepts connections."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"),
                  "-m", "fast", "-w", "-t", "60", "restart")  # fmt: skip

    def pause(self) -> None:
        """Stop the server at once (`pg_ctl stop -m immediate`: as if it crashed), keeping
        its data: `resume` starts it again on the same port."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        self._paused = True

    def resume(self) -> None:
        """Start the server `pause` stopped; returns once it accepts connections."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-o", self._options,
                  "-l", str(self.folder / "log"), "-w", "-t", "60", "start")  # fmt: skip
        self._paused = False

    def stop(self) -> None:
        """Stop the server at once and remove its folder; safe to call twice."""
        if self._running:
            self._running = False
            atexit.unregister(self.stop)
            if not self._paused:
                data = str(self.folder / "data")
                self._run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_postgres, str(self.bin_dir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.folder / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            output = done.stderr.strip() or done.stdout.strip()
            raise StoreUnavailable(
                f"{program} failed (exit {done.returncode}): {output}"
                + (f"\nserver log:\n{tail}" if tail else "")
            )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def create_schema(url: str, schema: str) -> str:
    """Create `schema` in the database at `url`; the URL of a connection that uses it.

    A schema per test is much cheaper than a database per test: the returned URL sets the
    connection's `search_path` (libpq `options`), so every unqualified table lands there.
    """
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return with_search_path(url, schema)


def drop_schema(url: str, schema: str) -> None:
    """Drop `schema` and everything in it from the database at `url`."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


def with_search_path(url: str, schema: str) -> str:
    """`url` with libpq `options` that make `schema` the connection's search_path."""
    query = [(key, value) for key, value in parse_qsl(urlsplit(url).query) if key != "options"]
    return with_query(url, [*query, ("options", f"-csearch_path={schema}")])
