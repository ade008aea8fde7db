"""`Engine`: start instances and send them events, each transition committed whole.

    engine = Engine.open("sqlite:///app.db")
    engine.register(machine)
    order = engine.start("order", input={"orderId": "A-1", "amount": 2500})
    entry = engine.send(order.id, {"type": "APPROVE", "by": "ann"}, actor="ann")

`send` loads the instance, runs the chart's pure `transition`, and commits in ONE database
transaction the new snapshot (version + 1), the audit row and the rows its effects create or
delete (timers with absolute due times, steps to run, outbox messages). Nothing is executed
before the commit. Where a durable engine must differ from XState it does so here, and
docs/xstate-differences.md lists each difference:

- an event that enables no transition (no handler, and no eventless transition right after
  it) is refused with `EventNotAccepted`, naming the state and the events it accepts;
- a guard or action that raises refuses the send with `TransitionFailed`: nothing is written;
- `xstate.*` events are the runtime's to deliver (timers, step results), not the callers'.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from statewright.chart import Machine
from statewright.engine.async_sending import AsyncSending
from statewright.engine.bulk import Bulk
from statewright.engine.catalog import Catalog
from statewright.engine.clock import Clock, SystemClock
from statewright.engine.conflicts import SEND_ATTEMPTS
from statewright.engine.deciding import DEFAULT_TENANT
from statewright.engine.grouping import CommitGroups
from statewright.engine.heads import DEFAULT_HEAD_CACHE, HeadCache
from statewright.engine.outbox_reads import OutboxReads
from statewright.engine.payload import DEFAULT_MAX_EVENT_BYTES
from statewright.engine.pruning import Pruning
from statewright.engine.registry import Registry
from statewright.engine.schedules import Schedules
from statewright.engine.sessions import Sessions
from statewright.engine.stream import Streams
from statewright.engine.work_summary import WorkSummaries
from statewright.engine.workers import Workers
from statewright.store import open_store
from statewright.store.records import DefinitionRecord
from statewright.store.schema import open_schema
from statewright.store.url import resolve_url

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["DEFAULT_TENANT", "SEND_ATTEMPTS", "Engine"]

log = logging.getLogger("statewright.engine")


class Engine(
    AsyncSending,
    Bulk,
    Sessions,
    Catalog,
    Streams,
    Workers,
    Schedules,
    OutboxReads,
    Pruning,
    WorkSummaries,
):
    """Durable instances of registered machines on one store.

    Its methods live by concern: `sending.py` (start, send, deliver),
    `batch_sending.py` (send_many), `batch_starting.py` (start_many), `async_sending.py`
    (send_async and start_async), `work.py` (timers and
    step results, alone or in batches), `reads.py` (get, history, verify), `listing.py`
    (list, count by state), `operating.py` (accepted events, cancel, retry a step now,
    steps, timers and dead letters, redrive), `bulk.py` (send, cancel or retry over a
    filter), over
    `deciding.py` (an event run through the chart into the write to commit); `tokens.py`
    (API tokens), `sessions.py` (web console sessions), `catalog.py` (definitions,
    readiness, idempotent requests), `stream.py` (committed transitions after a cursor,
    for the live stream), `workers.py` (the workers seen), `work_summary.py` (every
    tenant's work at a glance, for the metrics) and `outbox_reads.py` (the
    pending outbox) serve the HTTP API; `pruning.py` removes finished instances' history.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        head_cache: int = DEFAULT_HEAD_CACHE,
        group_commit: bool = True,
    ) -> None:
        """Run on an open, migrated `store`; prefer `Engine.open(url)`. `head_cache` is how
        many instances' latest heads are kept to skip the read before a send (`heads.py`).
        With `group_commit`, the starts and sends of concurrent threads are committed
        together, one transaction for all (`grouping.py`); without, each commits alone."""
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.max_event_bytes = max_event_bytes
        self.registry = Registry(store, self.clock)
        self._heads = HeadCache(head_cache)
        self._commits = CommitGroups() if group_commit else None
        self._open_async_lane()

    @property
    def concurrent_commits(self) -> int:
        """How many transactions of writes the store takes at once to advantage: 1 on
        SQLite (one writer), 2 on PostgreSQL (`group_commit_leaders`). A caller that
        batches sends itself (the HTTP API's send lane) keeps at most this many batches
        committing."""
        return max(1, int(getattr(self.store, "group_commit_leaders", 1)))

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        create: bool = True,
        share: bool = False,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        head_cache: int = DEFAULT_HEAD_CACHE,
        group_commit: bool = True,
    ) -> Engine:
        """Open the store at `url` (`sqlite:///path.db` or `postgresql://user@host:port/db`;
        by default the STATEWRIGHT_URL environment variable, else `sqlite:///statewright.db`).

        An empty database gets the schema when `create` is true (a SQLite file is created
        then too, in a folder that must exist); several processes may do so at once. A
        database at an older schema version is not changed: run `statewright db migrate`.
        A database that holds another application's tables is refused unless `share` is
        true (statewright's tables then go beside them). `group_commit`: see `Engine()`.

        Raises:
            SchemaOutOfDate: the schema is older or newer than this version needs.
            ConfigError: the URL is not one of the accepted forms.
            StoreError: another application's database (and not `share`), no such SQLite
                file (and not `create`) or no such folder, a damaged or read-only file.
            StoreUnavailable: the database cannot be reached.
        """
        store = open_store(resolve_url(url), create=create)
        try:
            open_schema(store, create=create, share=share)
        except BaseException:
            store.close()
            raise
        return cls(
            store,
            clock=clock,
            max_event_bytes=max_event_bytes,
            head_cache=head_cache,
            group_commit=group_commit,
        )

    def close(self) -> None:
        """Release the store's connections. Sends and starts queued by `send_async` and
        `start_async` and not yet taken fail with `StoreError`; a batch being made is
        waited for."""
        self._close_async_lane()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- definitions --------------------------------------------------------------------------

    def register(self, machine: Machine | Mapping[str, object]) -> DefinitionRecord:
        """Store a machine's definition (a new version if it changed) and its implementations.

        Running instances stay on the version they started with. Registering the content of
        an earlier version again makes it the latest (a new version with that content): a
        rollback is one call. A plain config dict is taken as `Machine.from_config(config)`.

        Raises:
            DefinitionError: the definition has faults, is not JSON data, or needs guards,
                actions or delays this machine does not provide (nothing is stored: provide
                them with `machine.provide(...)`). Steps (`invoke.src`) may be missing: they
                are the workers' to provide.

        A definition with warnings (`Machine.warnings`, e.g. a raised event no state handles)
        is registered; each warning is logged once per engine and version at WARNING on the
        `statewright.engine` logger: `definition 'order' version 3: <path>: <message>; <fix>`.
        """
        return self.registry.register(machine)

    def provide(self, machine: Machine | Mapping[str, object]) -> None:
        """Run the stored versions of a definition with this machine's implementations, in
        this engine only, storing nothing (unlike `register`, the latest version stays what
        it is): for a process that sends, replays or checks, but must not deploy.

        Raises:
            DefinitionError: as `register`.
        """
        self.registry.provide(machine)

    def stored_as(
        self, machine: Machine | Mapping[str, object]
    ) -> tuple[DefinitionRecord | None, DefinitionRecord | None]:
        """How the store holds this machine's definition: the latest stored version with
        its content (None if none has it), and the latest stored version of its id (None if
        none is stored). Registering it would store a new version when the first is None,
        and make an earlier one the latest again when the two differ."""
        return self.registry.stored_as(machine)
