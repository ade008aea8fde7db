"""Through PgBouncer, as docs/operations.md says: session pooling works, whole (steps, a
second process's commits waking the listening worker, prune's lock); transaction pooling is
refused at once with a message naming the pooler's setting, instead of failing later.

PgBouncer is started here, in front of the session's PostgreSQL server (scripts/test
installs it). Without /usr/sbin/pgbouncer the module is skipped, unless $CI is set.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from statewright import Machine, NotFound, StoreError
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.store.postgres import store as postgres_store

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

ORDER = {
    "id": "order",
    "initial": "paying",
    "states": {
        "paying": {"invoke": {"src": "charge", "onDone": "paid"}},
        "paid": {"type": "final"},
    },
}


@pytest.fixture(scope="module", autouse=True)
def _needs_pgbouncer() -> None:
    if not Path(PGBOUNCER).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{PGBOUNCER} is missing: apt-get install pgbouncer (scripts/test does)")
        pytest.skip(f"{PGBOUNCER} is missing: apt-get install pgbouncer (scripts/test does)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def pgbouncer(
    postgres_url: str, pool_mode: str, *, size: int | None = None, settings: str = ""
) -> Iterator[str]:
    """A PgBouncer in `pool_mode` with `size` server connections (and any more `settings`
    lines) in front of a fresh database of the session's server; yields the URL to reach
    that database through it."""
    server = urlsplit(postgres_url)
    database = f"bouncer_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    folder = Path(tempfile.mkdtemp(prefix="statewright-pgbouncer-"))
    port = _free_port()
    # In transaction mode one server connection: every client's transactions run on it, so
    # the prepared statements of two clients meet whatever the timing. In session mode each
    # client keeps a server connection of its own, as many as the workflow opens.
    if size is None:
        size = 1 if pool_mode == "transaction" else 40
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{database} = host={server.hostname} port={server.port} dbname={database}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder}/users.txt\npool_mode = {pool_mode}\n"
        f"default_pool_size = {size}\nlogfile = {folder}/log\npidfile = {folder}/pid\n"
        f"{settings}"
    )
    command = [PGBOUNCER, "-q", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        user = pwd.getpwnam("postgres")
        for path in (folder, *folder.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (folder / "log").read_text() if (folder / "log").exists() else ""
                    raise RuntimeError(f"PgBouncer did not start: {log}") from None
                time.sleep(0.05)
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def test_session_pooling_runs_the_whole_workflow(postgres_url: str) -> None:
    charged: list[str] = []
    machine = Machine.from_config(ORDER, actors={"charge": lambda _: charged.append("x")})
    with (
        pgbouncer(postgres_url, "session") as url,
        Engine.open(url) as engine,
        Engine.open(url) as other_process,
    ):
        engine.store.migrate()
        engine.register(machine)
        other_process.register(machine)
        for number in range(5):
            engine.start("order", instance_id=f"early-{number}")
        Worker(engine, concurrency=2).run_once()
        assert [engine.get(f"early-{n}").value for n in range(5)] == ["paid"] * 5

        # A worker that waits for work is woken by another connection's commit (LISTEN
        # and NOTIFY through the pooler), long before its one-minute poll.
        stop = threading.Event()
        worker = threading.Thread(
            target=Worker(engine).run, kwargs={"poll_ms": 60_000, "stop": stop}
        )
        worker.start()
        try:
            time.sleep(0.5)
            other_process.start("order", instance_id="late")
            deadline = time.monotonic() + 20
            while engine.get("late").value != "paid" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert engine.get("late").value == "paid"
        finally:
            stop.set()
            worker.join(30)
        assert len(charged) == 6

        time.sleep(0.01)
        pruned = engine.prune(timedelta(0))  # holds its session advisory lock throughout
        assert pruned.instances == 6
        with pytest.raises(NotFound):
            engine.get("late")


@pytest.mark.parametrize(
    ("size", "settings"),
    [(1, ""), (20, ""), (20, "server_round_robin = 1\n")],
    ids=["one-server-connection", "twenty", "twenty-in-turn"],
)
def test_transaction_pooling_is_refused_at_open_naming_the_setting(
    postgres_url: str, size: int, settings: str
) -> None:
    # One process, one engine: it might keep to one connection and never meet another
    # client's prepared statements, so the refusal must not wait for that.
    with pgbouncer(postgres_url, "transaction", size=size, settings=settings) as url:
        started = time.monotonic()
        with pytest.raises(StoreError) as refused:
            Engine.open(url).close()
        assert time.monotonic() - started < 5  # refused, not waited for as an outage
        message = str(refused.value)
        assert "pool_mode = session" in message, message
        assert "transaction mode" in message, message
        assert "bouncer_" in message, message  # the database it was given


def test_statement_pooling_is_refused_at_open(postgres_url: str) -> None:
    with pgbouncer(postgres_url, "statement") as url, pytest.raises(StoreError) as refused:
        Engine.open(url).close()
    assert "pool_mode = session" in str(refused.value)


def test_a_pooler_missed_at_open_is_refused_when_statements_meet(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the pooler had been in session mode at open and was switched since: the
    # server's refusal of the prepared statements names the setting too.
    monkeypatch.setattr(postgres_store, "shares_sessions", lambda first, second: False)
    with pgbouncer(postgres_url, "transaction") as url:
        started = time.monotonic()
        # Two processes' connections share the pooler's one server connection: their prepared
        # statements meet at once (one engine alone may use a single connection throughout).
        with pytest.raises(StoreError) as refused, Engine.open(url) as engine:
            engine.store.migrate()
            with Engine.open(url) as other:
                for _ in range(3):
                    engine.list()
                    other.list()
        assert time.monotonic() - started < 5  # refused, not waited for as an outage
        message = str(refused.value)
        assert "pool_mode = session" in message, message
        assert "transaction mode" in message, message
