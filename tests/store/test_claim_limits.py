"""A claim of due work takes at most `limit` rows, whatever plan PostgreSQL picks for it.

A claim reads the due rows (`LIMIT n FOR UPDATE SKIP LOCKED`) and updates them. With stale
statistics (a table that grew since autovacuum last analyzed it small), PostgreSQL planned
the update as a nested loop that ran the limited read again for each row of the table,
skipping the rows it had just claimed, so that one claim took every due row: a worker
with `--concurrency 2` was seen holding 36 step runs, each charged an attempt, most
waiting in its queue while other workers had nothing to do.
"""

from __future__ import annotations

import psycopg
import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.store import Store

pytestmark = pytest.mark.parametrize("empty_store_url", ["postgres"], indirect=True)

DUE = 30
LIMIT = 2

MACHINE = Machine.from_config(
    {
        "id": "claims",
        "initial": "waiting",
        "states": {
            "waiting": {
                "entry": [{"type": "emit", "params": {"event": {"type": "claims.begun"}}}],
                "invoke": {"src": "work", "onDone": "done"},
                "after": {"1000": "done"},
            },
            "done": {"type": "final"},
        },
    },
    actors={"work": lambda _input: None},
)


def _stale_statistics(store: Store, *tables: str) -> None:
    """Make PostgreSQL believe each table holds one row, as after an analyze of an almost
    empty table (skipped where the login may not change the catalog)."""
    with store._transaction(write=True, what="faking statistics") as tx:  # type: ignore[attr-defined]
        for table in tables:
            tx.run(f"ANALYZE {table}", {})
            try:
                tx.run(
                    "UPDATE pg_class SET reltuples = 1, relpages = 1 "
                    "WHERE oid = to_regclass(%(table)s)",
                    {"table": table},
                )
            except psycopg.errors.InsufficientPrivilege:
                pytest.skip("needs a login that may update pg_class")


def test_claims_take_at_most_their_limit_with_stale_statistics(store: Store) -> None:
    with Engine(store) as engine:
        engine.register(MACHINE)
        for index in range(DUE):
            engine.start("claims", instance_id=f"c-{index:02d}")
        _stale_statistics(store, "steps", "timers", "outbox")
        later = engine.clock.now() + 60_000
        assert len(store.claim_steps(later, 10_000, LIMIT, srcs=["work"])) == LIMIT
        assert len(store.claim_timers(later, 10_000, LIMIT)) == LIMIT
        assert len(store.due_outbox(later, LIMIT, 10_000)) == LIMIT
