"""A store of many instances for `benchmarks.console`, made fast.

The three examples (order, approval, intake) are registered and a few template instances of
each are driven by the real engine into one state each (real snapshots, audit rows, timers,
pending steps, outbox messages). Each template is then copied with bulk `INSERT ... SELECT`
statements, its rows and its children's (audit, timers, steps, outbox, step attempts), under
ids spread over the whole id space (a bijective hash of the copy's number), so that a list in
id order meets every state mixed, as in a real store. No `ANALYZE` on SQLite (the store never
runs one); PostgreSQL gets the `VACUUM ANALYZE` its autovacuum would have done by then.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from statewright.engine import Engine
from statewright.store.postgres import PostgresStore

__all__ = ["TENANT", "TEMPLATES", "Made", "copy_postgres", "instance_id", "populate"]

TENANT = "acme"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: Odd, so that multiplying by it is a bijection modulo 2**32: every copy a distinct id.
_SPREAD = 2654435761

Act = Callable[[Engine, str], None]


def _send(*events: dict[str, Any]) -> Act:
    def act(engine: Engine, instance: str) -> None:
        for event in events:
            engine.deliver(instance, event, tenant=TENANT)

    return act


_PAID = {"type": "xstate.done.actor.payment", "output": {"paymentId": "pay-1"}}
_DECLINED = {"type": "xstate.error.actor.payment", "error": {"message": "card declined"}}
_PROCESSED = {"type": "xstate.done.actor.process", "output": {"summary": "ok"}}


@dataclass(frozen=True)
class Template:
    """One instance driven into a state; `share` of the store is copies of it."""

    name: str
    definition: str
    input: dict[str, Any]
    act: Act
    share: float


TEMPLATES = [
    Template("order-approval", "order", {"orderId": "o", "amount": 5000}, _send(), 0.05),
    Template("order-payment", "order", {"orderId": "o", "amount": 500}, _send(), 0.03),
    Template("order-failed", "order", {"orderId": "o", "amount": 500}, _send(_DECLINED), 0.002),
    Template("order-fulfil", "order", {"orderId": "o", "amount": 500}, _send(_PAID), 0.04),
    Template(
        "order-shipped",
        "order",
        {"orderId": "o", "amount": 500},
        _send(_PAID, {"type": "RESERVED"}, {"type": "SHIPPED", "tracking": "t-1"}),
        0.396,
    ),
    Template(
        "order-rejected", "order", {"orderId": "o", "amount": 5000}, _send({"type": "REJECT"}), 0.05
    ),
    Template(
        "order-cancelled",
        "order",
        {"orderId": "o", "amount": 500},
        _send(_DECLINED, {"type": "CANCEL"}),
        0.01,
    ),
    Template("approval-new", "approval", {"document": "d"}, _send(), 0.02),
    Template("approval-processing", "approval", {"document": "d"}, _send({"type": "SUBMIT"}), 0.02),
    Template(
        "approval-waiting",
        "approval",
        {"document": "d"},
        _send({"type": "SUBMIT"}, _PROCESSED),
        0.05,
    ),
    Template(
        "approval-failed",
        "approval",
        {"document": "d"},
        _send({"type": "SUBMIT"}, {"type": "xstate.error.actor.process", "error": {}}),
        0.002,
    ),
    Template(
        "approval-approved",
        "approval",
        {"document": "d"},
        _send({"type": "SUBMIT"}, _PROCESSED, {"type": "APPROVE"}),
        0.15,
    ),
    Template("intake-draft", "intake", {"applicant": "a"}, _send(), 0.02),
    Template("intake-review", "intake", {"applicant": "a"}, _send({"type": "SUBMIT"}), 0.06),
    Template(
        "intake-approved",
        "intake",
        {"applicant": "a"},
        _send({"type": "SUBMIT"}, {"type": "APPROVE"}),
        0.07,
    ),
    Template(
        "intake-rejected",
        "intake",
        {"applicant": "a"},
        _send({"type": "SUBMIT"}, {"type": "REJECT"}),
        0.03,
    ),
]


def instance_id(number: int) -> str:
    """The id of copy `number` (as the SQL below computes it)."""
    return f"{(number * _SPREAD) % 2**32:08x}"


@dataclass(frozen=True)
class Made:
    """What `populate` made: per template, the numbers of its copies (a range)."""

    size: int
    ranges: dict[str, range]
    seconds: float


def populate(url: str, size: int) -> Made:
    """Fill an empty store at `url` with about `size` instances of tenant `acme`."""
    began = time.perf_counter()
    with Engine.open(url) as engine:
        for name in ("order", "approval", "intake"):
            engine.register(json.loads((EXAMPLES / name / f"{name}.json").read_text()))
        for template in TEMPLATES:
            tid = f"tpl-{template.name}"
            engine.start(template.definition, input=template.input, instance_id=tid, tenant=TENANT)
            template.act(engine, tid)
    total = sum(t.share for t in TEMPLATES)
    ranges: dict[str, range] = {}
    first = 0
    for template in TEMPLATES:
        count = max(1, round(size * template.share / total))
        ranges[template.name] = range(first, first + count)
        first += count
    if url.startswith("sqlite"):
        _copy_sqlite(url.removeprefix("sqlite:///").split("?")[0], ranges)
    else:
        copy_postgres(url, ranges)
    return Made(first, ranges, time.perf_counter() - began)


_FOLD = PostgresStore.operations["fold_state_counts"]
_CHILDREN = ("audit", "timers", "steps", "outbox", "step_attempts")


def _select(columns: list[str], new_id: str, stream_seq: str | None) -> str:
    picked = []
    for column in columns:
        if column in ("id", "instance_id"):
            picked.append(new_id)
        elif column == "message_id":
            picked.append(f"t.message_id || '-' || {new_id}")
        elif column == "stream_seq" and stream_seq is not None:
            picked.append(stream_seq)
        elif column in ("created_at", "updated_at", "instance_created_at"):
            picked.append(f"t.{column} - n.x * 1000")
        else:
            picked.append(f"t.{column}")
    return ", ".join(picked)


def _copy_sqlite(path: str, ranges: dict[str, range]) -> None:
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1000000")  # 1 GB: the copies land all over the indexes
    columns = {
        table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        for table in ("instances", *_CHILDREN)
    }
    new_id = f"printf('%08x', ((:first + n.x) * {_SPREAD}) % 4294967296)"
    numbers = "WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < :count - 1)"
    (base,) = db.execute("SELECT coalesce(max(stream_seq), 0) FROM audit").fetchone()
    # Every copy's rows get numbers of their own: `rows` per copy, the most any template has.
    (rows,) = db.execute("SELECT max(seq) FROM audit").fetchone()
    for name, numbered in ranges.items():
        tid = f"tpl-{name}"
        params = {"first": numbered.start, "count": len(numbered), "tid": tid}
        db.execute("BEGIN")
        for table in ("instances", *_CHILDREN):
            key = "id" if table == "instances" else "instance_id"
            seq = f"{base} + (:first + n.x) * {rows} + t.seq" if table == "audit" else None
            cols = columns[table]
            db.execute(
                f"{numbers} INSERT INTO {table} ({', '.join(cols)}) "
                f"SELECT {_select(cols, new_id, seq)} FROM n, {table} AS t "
                f"WHERE t.tenant = '{TENANT}' AND t.{key} = :tid",
                params,
            )
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def copy_postgres(
    url: str,
    ranges: dict[str, range],
    *,
    settle: bool = True,
    prefix: str | None = None,
    trust: bool = False,
) -> None:
    """Copy each template instance `tpl-NAME` of tenant `acme` (with its children) under
    the ids of the numbers in `ranges[NAME]` (`instance_id`; with `prefix`, the prefix and
    the number in ten digits, ids in creation order), inside the server; then, when
    `settle`, fold the state counts and `VACUUM ANALYZE` (what a running worker and
    autovacuum would have done by then). With `trust`, the children's foreign keys are not
    checked row by row (`session_replication_role = replica` after the instances are
    copied; they refer to those instances by construction): several times faster for long
    histories, and the audit table has no other trigger."""
    import psycopg

    from statewright.store.url import parse_postgres_url

    with psycopg.connect(parse_postgres_url(url).conninfo, autocommit=True) as db:
        columns = {}
        for table in ("instances", *_CHILDREN):
            found = db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema() ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            columns[table] = [str(c) for (c,) in found if c != "stream_seq"]
        new_id = f"lpad(to_hex(((%(first)s + n.x)::bigint * {_SPREAD}) %% 4294967296), 8, '0')"
        if prefix is not None:
            new_id = f"'{prefix}' || lpad((%(first)s + n.x)::text, 10, '0')"
        for name, numbered in ranges.items():
            params = {"first": numbered.start, "count": len(numbered), "tid": f"tpl-{name}"}
            with db.transaction():
                for table in ("instances", *_CHILDREN):
                    key = "id" if table == "instances" else "instance_id"
                    cols = columns[table]
                    if trust and table == _CHILDREN[0]:
                        db.execute("SET LOCAL session_replication_role = replica")
                    order = " ORDER BY n.x, t.seq" if table == "audit" else ""
                    db.execute(
                        f"INSERT INTO {table} ({', '.join(cols)}) "  # type: ignore[arg-type]
                        f"SELECT {_select(cols, new_id, None)} "
                        f"FROM generate_series(0, %(count)s - 1) AS n(x), {table} AS t "
                        f"WHERE t.tenant = '{TENANT}' AND t.{key} = %(tid)s{order}",
                        params,
                    )
        if not settle:
            return
        # What a running worker's heartbeat does every 5 s: fold the count changes the copies
        # appended (the benchmark shows the first count read without it, at 1k).
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(hashtext('statewright.state_counts'))")
            db.execute(_FOLD)  # type: ignore[arg-type]
        db.execute("VACUUM ANALYZE")
