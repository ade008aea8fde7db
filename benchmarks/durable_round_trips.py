"""How many round trips (PostgreSQL) and statements (SQLite) one `Engine.send` costs, counted
from the wire, not from the code.

Run from the repository root:

    .venv/bin/python -m benchmarks.durable_round_trips              # both databases
    .venv/bin/python -m benchmarks.durable_round_trips --sends 50 --no-postgres

The counter of `durable.py` on 100 instances: each is sent one event first, so that the
engine's head cache holds it (as in the throughput run, whose 1,000 instances fit), then
`--sends` more sends are traced. PostgreSQL: libpq's protocol trace of every connection the
process opens (the pool's and the notifiers'); a round trip is a request the client waits
for, one `ReadyForQuery` from the server. SQLite: `sqlite3`'s trace callback of every
connection, one line per statement run (BEGIN and COMMIT included).
"""

from __future__ import annotations

import argparse
import collections
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg

from benchmarks.durable import COUNTER, INC, durable_postgres
from statewright import Machine
from statewright.engine import Engine

INSTANCES = 100


def _engine_run(url: str, sends: int, counting: Callable[[], Any]) -> None:
    engine = Engine.open(url)
    try:
        engine.register(Machine.from_config(COUNTER))
        ids = [f"rt-{index:03d}" for index in range(INSTANCES)]
        for instance_id in ids:
            engine.start("counter", instance_id=instance_id)
            engine.send(instance_id, INC)
        with counting():
            for turn in range(sends):
                engine.send(ids[turn % INSTANCES], INC)
    finally:
        engine.close()


class _PostgresTrace:
    """libpq's protocol trace of every psycopg connection the process opens, written while
    `counting()` is on (one file per connection)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.connections: list[Any] = []
        self.files: list[Path] = []
        self.on = False

    def _start(self, connection: Any) -> None:
        path = self.folder / f"trace-{len(self.files)}.txt"
        self.files.append(path)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        connection.pgconn.trace(descriptor)
        connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    @contextmanager
    def patched(self) -> Iterator[None]:
        """Keep every connection opened meanwhile."""
        connect = psycopg.Connection.connect.__func__  # type: ignore[attr-defined]

        def kept(cls: Any, *args: Any, **kwargs: Any) -> Any:
            connection = connect(cls, *args, **kwargs)
            self.connections.append(connection)
            if self.on:
                self._start(connection)
            return connection

        with mock.patch.object(psycopg.Connection, "connect", classmethod(kept)):
            yield

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Trace the connections while the block runs; `untrace` flushes each file."""
        for connection in self.connections:
            if not connection.closed:
                self._start(connection)
        self.on = True
        yield
        self.on = False
        for connection in self.connections:
            if not connection.closed:
                connection.pgconn.untrace()

    def lines(self) -> Iterator[str]:
        """Every traced line of every connection."""
        for path in self.files:
            yield from path.read_text(errors="replace").splitlines()


def postgres_counts(sends: int) -> dict[str, float]:
    """Per send: round trips on PostgreSQL, and the messages that carry statements."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-trips-")))
        server = stack.enter_context(durable_postgres())
        url = server.create_database("trips")
        trace = _PostgresTrace(folder)
        with trace.patched():
            _engine_run(url, sends, trace.counting)
        lines = list(trace.lines())
    trips = 0
    kinds: collections.Counter[str] = collections.Counter()
    for line in lines:
        fields = line.split("\t")
        if len(fields) < 3:
            continue
        if fields[0] == "B" and fields[2] == "ReadyForQuery":
            trips += 1
        elif fields[0] == "F" and fields[2] in ("Query", "Parse", "Bind", "Execute", "Sync"):
            kinds[fields[2]] += 1
    per = {"round trips (ReadyForQuery)": trips / sends}
    per.update({f"  {kind}": count / sends for kind, count in kinds.most_common()})
    return per


def sqlite_counts(sends: int) -> dict[str, float]:
    """Per send: statements SQLite ran, by first word."""
    kinds: collections.Counter[str] = collections.Counter()
    counting_now = False
    original = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = original(*args, **kwargs)

        last = [""]

        def seen(statement: str) -> None:
            # A trigger's program is reported with its statement's text again: count once.
            if counting_now and statement != last[0]:
                kinds[statement.split(None, 1)[0].upper() if statement.strip() else "?"] += 1
            last[0] = statement

        connection.set_trace_callback(seen)
        return connection

    @contextmanager
    def counting() -> Iterator[None]:
        nonlocal counting_now
        counting_now = True
        yield
        counting_now = False

    with (
        tempfile.TemporaryDirectory(prefix="sw-trips-") as folder,
        mock.patch.object(sqlite3, "connect", traced),
    ):
        _engine_run(f"sqlite:///{folder}/trips.db", sends, counting)
    per = {"statements": sum(kinds.values()) / sends}
    per.update({f"  {kind}": count / sends for kind, count in kinds.most_common()})
    return per


def main(argv: Sequence[str] | None = None) -> int:
    """Count and print per send; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.durable_round_trips")
    parser.add_argument("--sends", type=int, default=200, help="sends traced (default 200)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    print(f"SQLite, per send (warm head cache, {args.sends} sends):")
    for name, value in sqlite_counts(args.sends).items():
        print(f"  {name}: {value:.2f}")
    if not args.no_postgres:
        print(f"PostgreSQL, per send (warm head cache, {args.sends} sends):")
        for name, value in postgres_counts(args.sends).items():
            print(f"  {name}: {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
