"""`PostgresStore`: the shared operations (`SqlStore`) over psycopg 3 and a connection pool.

Each operation borrows a pooled connection (kept in autocommit mode) and runs in one
transaction: a block (`connection.transaction()`: BEGIN ... COMMIT, rolled back on any
error) or, for a lone statement (a read, a claim of due work, a start or a quiet transition
written whole by one statement of `fast_paths.sql`), the statement itself, in one round
trip. READ COMMITTED is enough:
`commit_transition` updates the instance row first (`WHERE version = expected`), which
locks it, so a second writer of the same instance waits and then finds the version moved
(VersionConflict); inserts of the same new id wait for each other (`ON CONFLICT DO NOTHING`).
`json` columns are read back as text, exactly as written.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader
from psycopg_pool import PoolClosed, PoolTimeout

from statewright.errors import ConfigError, SchemaOutOfDate, StoreError, StoreUnavailable
from statewright.store.postgres.array_columns import register_column_dumpers
from statewright.store.postgres.audit_partitions import AuditPartitions
from statewright.store.postgres.commit_listener import CommitListener
from statewright.store.postgres.listener import Listener
from statewright.store.postgres.notifier import Notifier
from statewright.store.postgres.outage_pool import AWAY_WAIT_S, OutagePool
from statewright.store.postgres.plan_choice import PlanChoice
from statewright.store.postgres.pooler import POOLER_FIX, shares_sessions
from statewright.store.postgres.prune_lock import prune_advisory_lock
from statewright.store.schema import LockWaitTimedOut
from statewright.store.sql_files import include_queries, load_migrations, load_queries
from statewright.store.sql_store import SqlStore
from statewright.store.transaction import Params, Row, Transaction
from statewright.store.url import PostgresOptions, redact_url

__all__ = ["AUDIT_NOTIFY_S", "PostgresStore"]

#: The least time between two NOTIFYs for the live streams (commits meanwhile coalesce):
#: one per commit would cost the writers a third of their sequential send rate.
AUDIT_NOTIFY_S = 0.05

_PACKAGE = "statewright.store.postgres"
#: Seconds to wait for a pooled connection before reporting the database unavailable.
POOL_TIMEOUT = 10.0
#: Seconds libpq waits for the server, unless the URL says `connect_timeout`.
CONNECT_TIMEOUT = 5
#: How a connection notices that the network to the server is gone, unless the URL says
#: otherwise: TCP keepalives on an idle connection (dead after about 10 + 3 x 3 s) and, for
#: data sent and never acknowledged, `tcp_user_timeout` (ms). Without them a statement sent
#: into a cut-off network waits for the kernel's retransmissions (about 15 minutes).
NETWORK_DEFAULTS: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,
}

# The pool logs a warning per failed reconnection attempt; a worker logs each outage once
# itself (runtime/outage.py). Set this logger's level to see the pool's own lines.
if logging.getLogger("psycopg.pool").level == logging.NOTSET:
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

#: Signs, in a failed connection's message, that the server answered and refused the login.
_REFUSALS = (
    "does not exist",
    "authentication failed",
    "no pg_hba.conf entry",
    "permission denied",
    "no password supplied",
    "does not support SSL",  # sslmode=require and up, against a server without SSL
)

#: libpq's refusal of a URL parameter's value (`sslmode=bogus`, `port=99999999`,
#: `keepalives=x`), before it reaches any server: waiting for the server cannot fix it.
_BAD_VALUE = re.compile(r"\binvalid (?:\w+ value|port number|integer value)\b")

#: The server's answers when prepared statements of one client meet those of another: a
#: pooler in transaction mode shares one server connection between clients.
_POOLER_FAULTS = (psycopg.errors.DuplicatePreparedStatement, psycopg.errors.InvalidSqlStatementName)
_SERVER_CLOCK = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms"

_CHECK_SERVER = (
    "check that the server runs and accepts connections at that host and port, and the "
    "user, password and database name in the URL"
)


#: fast_paths.sql as written; its `{include:...}`s name queries of queries.sql or its own parts.
_FAST_PATHS = load_queries(_PACKAGE, "fast_paths.sql")


class PostgresStore(AuditPartitions, SqlStore):
    """The store in a PostgreSQL database, shared by many processes on many hosts.

    Open it with `statewright.store.open_store("postgresql://user@host:5432/db")`.
    Thread-safe: every operation borrows its own connection from the pool.
    """

    queries = include_queries(load_queries(_PACKAGE))
    operations = load_queries(_PACKAGE, "operations.sql")
    token_queries = load_queries(_PACKAGE, "tokens.sql")
    stream_queries = load_queries(_PACKAGE, "stream.sql")
    prune_queries = load_queries(_PACKAGE, "pruning.sql")
    partition_queries = load_queries(_PACKAGE, "partitioning.sql")
    fast_paths = include_queries(_FAST_PATHS, {**queries, **_FAST_PATHS})
    migrations = load_migrations(_PACKAGE)
    #: Groups of concurrent senders that may commit at once (`engine/grouping.py`).
    group_commit_leaders = 2

    def __init__(self, options: PostgresOptions, *, url: str | None = None) -> None:
        """Check that the server answers, then open the pool; the schema is not touched.

        Raises:
            StoreUnavailable: the server cannot be reached or refuses the login.
            ConfigError: libpq rejects a parameter of the URL.
        """
        self.url = url if url is not None else options.conninfo
        self._options = options
        # Autocommit: a lone statement (`_alone`) is its own transaction, one round trip;
        # every other operation opens its transaction explicitly (`connection.transaction()`).
        kwargs: dict[str, Any] = {"autocommit": True}
        given = _conninfo_keys(options.conninfo, self.display_url)
        defaults = {"connect_timeout": CONNECT_TIMEOUT, **NETWORK_DEFAULTS}
        kwargs.update({key: value for key, value in defaults.items() if key not in given})
        _check_server(options.conninfo, kwargs, self.display_url)
        self._connect_kwargs = kwargs
        #: When the pool last gave no connection, what a connection made without it found,
        #: and whether that one connected (`_no_connection`).
        self._diagnosed: tuple[float, StoreError, bool] | None = None
        self._listener = Listener(options.conninfo, connect_kwargs=kwargs)
        self._notifier = Notifier(options.conninfo, self.queries["notify_work"], kwargs)
        self._audit_notifier = Notifier(
            options.conninfo,
            self.stream_queries["notify_audit"],
            kwargs,
            min_interval_s=AUDIT_NOTIFY_S,
        )
        self._commits = CommitListener(options.conninfo, kwargs)
        self._plans = PlanChoice()
        self._pool = OutagePool(
            options.conninfo,
            kwargs=kwargs,
            min_size=options.pool_min,
            max_size=options.pool_max,
            configure=functools.partial(_configure, plans=self._plans),
            check=self._plans.check,
            name="statewright",
            timeout=POOL_TIMEOUT,
            open=False,
        )
        self._pool.open(wait=False)

    def wait_for_work(self, timeout_s: float) -> bool:
        """Return on a NOTIFY of new work from any process's commit (True), or after
        `timeout_s`; one idle worker listens at a time (see listener.py)."""
        return self._listener.wait(timeout_s)

    @property
    def listening(self) -> bool:
        """Whether this process holds the listening turn (see listener.py)."""
        return self._listener.holding

    def _work_committed(self) -> None:
        self._notifier.poke()  # NOTIFY beside the commit, coalesced: see notifier.py

    def _audit_committed(self) -> None:
        self._audit_notifier.poke()  # for the live streams: see commit_listener.py

    def _after_heartbeat(self) -> None:
        super()._after_heartbeat()
        self.maintain_audit_partitions()  # at most once an hour: see audit_partitions.py

    def _prune_lock(self) -> AbstractContextManager[None]:
        return prune_advisory_lock(self._pool, self.prune_queries, self.display_url, self._errors)

    def wait_for_commits(self, timeout_s: float) -> bool:
        """Return on a NOTIFY of committed transitions from any process (True), or after
        `timeout_s`; one connection per store, for the live stream (commit_listener.py)."""
        return self._commits.wait(timeout_s)

    def close(self) -> None:
        """Close the pool and its connections; the store cannot be used afterwards."""
        self._notifier.close()
        self._audit_notifier.close()
        self._commits.close()
        self._listener.close()
        self._pool.close()

    @contextmanager
    def _transaction(self, *, write: bool, what: str) -> Iterator[Transaction]:
        if write:
            self._before_write()
        with self._errors(what), self._pool.connection() as connection, connection.transaction():
            yield _PostgresTransaction(connection)

    @contextmanager
    def _alone(self, what: str) -> Iterator[psycopg.Cursor[Row]]:
        """A cursor outside any transaction block: each statement is a transaction of its
        own (autocommit), sent in one round trip instead of three (BEGIN, it, COMMIT)."""
        with (
            self._errors(what),
            self._pool.connection() as connection,
            connection.cursor(row_factory=dict_row) as cursor,
        ):
            yield cursor

    def _read_one(self, sql: str, params: Params, *, what: str) -> Row | None:
        with self._alone(what) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

    def _read_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        with self._alone(what) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _write_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        self._before_write()
        with self._alone(what) as cursor:  # one statement: atomic on its own
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _claim_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        # Planned for its values every time (bound in the client, so the server gets a plain
        # query and never a prepared statement): the one plan kept for all values
        # (`_configure`) cannot know how few due rows LIMIT takes, and with a million pending
        # timers it scanned the table on every claim (90 ms against 2 for 300k timers here).
        self._before_write()
        with (
            self._errors(what),
            self._pool.connection() as connection,
            psycopg.ClientCursor(connection, row_factory=dict_row) as cursor,
        ):
            cursor.execute(sql, params)  # the values bound here: planned for them
            return cursor.fetchall()

    def _run_alone(self, sql: str, params: Params, *, what: str) -> int:
        # The commonest write there is (a quiet send's one statement), so without the
        # layers it does not need: no dict-row cursor (it returns no rows), and the pooled
        # connection taken and given back directly rather than through `pool.connection()`,
        # whose `with connection:` only commits or rolls back a transaction, which a lone
        # statement in autocommit never leaves open (the pool still checks the connection
        # when it comes back, and drops a broken one). About 15 µs of CPU less per call.
        self._before_write()
        with self._errors(what):
            connection = self._pool.getconn()
            try:
                return connection.execute(sql, params).rowcount
            finally:
                self._pool.putconn(connection)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Pool and database errors as `StoreError`s whose message starts with `what`."""
        try:
            yield
        except PoolTimeout as error:
            raise self._no_connection(what) from error
        except PoolClosed as error:
            raise StoreError(f"{what}: the store is closed; open a new one") from error
        except psycopg.Error as error:
            translated = self._translate(error, what)
            if isinstance(translated, StoreUnavailable):
                # The server restarted or the network dropped: the idle connections are
                # most likely dead too. Replace them now, not one failed operation each.
                self._pool.away = True
                with contextlib.suppress(Exception):
                    self._pool.check()
            raise translated from error

    def _no_connection(self, what: str) -> StoreError:
        """Why the pool gave no connection in time, found by connecting once without it
        (at most once a second): the server refused the login (a lasting `StoreError`: a
        password changed, a role dropped), cannot be reached (`StoreUnavailable`; callers
        then wait only briefly for the pool until it gives a connection again), or takes
        connections while the pool has none to give (busy, or still reconnecting after an
        outage: asked to connect now)."""
        now = time.monotonic()
        waited = AWAY_WAIT_S if self._pool.away else POOL_TIMEOUT
        if self._diagnosed is None or now - self._diagnosed[0] >= 1.0:
            try:
                _connect(self._options.conninfo, self._connect_kwargs, self.display_url)
            except StoreError as refused:  # StoreUnavailable too
                self._diagnosed = (now, refused, False)
            else:
                busy = StoreUnavailable(
                    f"no connection from this process's pool within {waited:g} s, "
                    f"though {redact_url(self.display_url)} takes new connections: its "
                    f"{self._options.pool_max} connections are busy (raise ?pool_max=), or "
                    "it is reconnecting after an outage"
                )
                self._diagnosed = (now, busy, True)
                with contextlib.suppress(Exception):
                    self._pool.check()  # a connection now, not at its next attempt
        _, found, reachable = self._diagnosed
        if isinstance(found, StoreUnavailable) and not reachable:
            self._pool.away = True
        return type(found)(f"{what}: {found}")

    def server_clock_ms(self) -> int | None:
        """The server's clock now (`clock_timestamp()`), in ms since the Unix epoch."""
        row = self._read_one(_SERVER_CLOCK, {}, what="reading the server's clock")
        return int(row["now_ms"]) if row is not None else None

    def _lock_holders(self, tables: list[str], waited_s: float) -> Sequence[Mapping[str, object]]:
        params = {"tables": tables, "waited_s": waited_s}
        return self._read_all(
            self.queries["lock_holders"], params, what="reading who holds the locks"
        )

    def _reserve_work_seq(self, tx: Transaction, count: int) -> list[int]:
        return [
            int(row["value"]) for row in tx.all(self.queries["reserve_work_seq"], {"count": count})
        ]

    def _translate(self, error: psycopg.Error, what: str) -> StoreError:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        state = error.sqlstate or ""
        if isinstance(error, psycopg.errors.LockNotAvailable):
            return LockWaitTimedOut(
                f"{what}: {self.display_url}: gave up waiting for a lock ({message}); "
                "another transaction holds it: try again once it has ended"
            )
        if isinstance(error, psycopg.errors.UndefinedTable):
            return SchemaOutOfDate(
                f"{what}: {self.display_url} has no statewright schema ({message}); "
                f'run "statewright db migrate --url {self.display_url}"'
            )
        if isinstance(error, psycopg.OperationalError) and (not state or state[:2] in ("08", "57")):
            return StoreUnavailable(f"{what}: lost {self.display_url} ({message}); {_CHECK_SERVER}")
        if isinstance(error, _POOLER_FAULTS):
            return StoreError(f"{what}: {self.display_url} answered {message!r}: {POOLER_FIX}")
        if isinstance(error, psycopg.IntegrityError):
            return StoreError(
                f"{what}: the database refused the write ({message}); nothing was written"
            )
        return StoreError(f"{what}: {self.display_url}: {message}")


def _configure(connection: psycopg.Connection[Any], *, plans: PlanChoice) -> None:
    """Read `json` columns as the text that was stored, not as parsed Python values, dump
    `commit_quiet_group`'s columns with `array_columns.py`, prepare every statement, and plan
    each prepared statement once (a generic plan), unless a new table is still growing
    unanalyzed: `plan_choice.py`. Every statement looks rows up by key, so one plan fits all
    parameters, while the planner would otherwise plan the larger ones anew on every run (a
    CTE whose custom plan looks cheaper than its generic one costs more to plan than to
    run)."""
    connection.adapters.register_loader("json", TextLoader)
    register_column_dumpers(connection.adapters)
    connection.prepare_threshold = 0
    plans.configure(connection)


def _conninfo_keys(conninfo: str, display_url: str) -> set[str]:
    try:
        return set(conninfo_to_dict(conninfo))
    except psycopg.ProgrammingError as error:
        raise ConfigError(f"bad store URL {display_url!r}: {_one_line(error)}") from error


def _check_server(conninfo: str, kwargs: dict[str, Any], display_url: str) -> None:
    """Connect, so that a wrong URL fails now with the server's reason, and refuse a
    pooler in transaction mode (`pooler.py`).

    Raises:
        ConfigError: libpq rejects a parameter of the URL.
        StoreError: the server refused the login, or a pooler shares its sessions.
        StoreUnavailable: the server cannot be reached.
    """
    shared = _connect(conninfo, kwargs, display_url, both=shares_sessions)
    if shared:
        raise StoreError(
            f"{redact_url(display_url)}: two connections' statements ran on one server "
            f"session: {POOLER_FIX}"
        )


def _connect(
    conninfo: str,
    kwargs: dict[str, Any],
    display_url: str,
    *,
    both: Callable[[psycopg.Connection[Any], psycopg.Connection[Any]], bool] | None = None,
) -> bool:
    """Connect once (twice at once with `both`, returning what it says of the two), so that
    a fault fails with the server's reason.

    Raises:
        ConfigError: libpq rejects a parameter of the URL.
        StoreError: the server refused the login.
        StoreUnavailable: the server cannot be reached.
    """
    try:
        with psycopg.connect(conninfo, **kwargs) as first:
            if both is None:
                return False
            with psycopg.connect(conninfo, **kwargs) as second:
                return both(first, second)
    except psycopg.ProgrammingError as error:
        raise ConfigError(f"bad store URL {display_url!r}: {_one_line(error)}") from error
    except psycopg.Error as error:
        lines = (" ".join(line.split()) for line in str(error).splitlines())
        reason = "; ".join(line for line in lines if line) or type(error).__name__
        if _BAD_VALUE.search(reason):  # libpq refused a parameter's value: a fault of the URL
            raise ConfigError(f"bad store URL {display_url!r}: {reason}") from error
        # The server answered and refused (no such database or role, a wrong password): a
        # fault of the URL, which waiting does not fix, unlike a server that is away.
        lasting = any(sign in reason for sign in _REFUSALS)
        raise (StoreError if lasting else StoreUnavailable)(
            f"cannot reach PostgreSQL at {redact_url(display_url)}: {reason}; {_CHECK_SERVER}"
        ) from error


class _PostgresTransaction:
    """`Transaction` over one psycopg connection inside a transaction block."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def one(self, sql: str, params: Params) -> Row | None:
        with self._connection.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

    def all(self, sql: str, params: Params) -> list[Row]:
        with self._connection.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def run(self, sql: str, params: Params) -> int:
        with self._connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def run_many(self, sql: str, params: Sequence[Params]) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(sql, params)

    def run_each(self, sql: str, params: Sequence[Params]) -> list[int]:
        if not params:
            return []
        counts: list[int] = []
        with self._connection.cursor() as cursor:
            cursor.executemany(sql, params, returning=True)
            while True:
                counts.append(cursor.rowcount)
                if not cursor.nextset():
                    return counts

    def script(self, sql: str) -> None:
        self._connection.execute(sql, prepare=False)  # several statements


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
