"""A partitioned audit table (PostgreSQL): `Engine.partition_audit` moves every row and keeps
the live stream's cursor; each instance's rows live in the partition of its creation month;
`prune` drops a partition whose instances may all go, whole, and keeps one holding an
instance that may not (its finished instances go row by row); `verify`, the lists, the
counts and the stream stay right on what remains."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from tests_support import order_machine

from statewright.engine import Engine
from statewright.errors import ConfigError, PayloadError, PruneRunning
from statewright.store.records import WorkerRecord
from statewright.testing import VirtualClock

DAY_MS = 86_400_000
MONTH_MS = 31 * DAY_MS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("empty_store_url", ["postgres"], indirect=True),
]


@pytest.fixture
def store_url(empty_store_url: str) -> str:
    """A fresh PostgreSQL store, its audit table not partitioned (whatever the suite's
    STATEWRIGHT_TEST_PARTITIONED_AUDIT): the engine creates its schema."""
    return empty_store_url


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(order_machine())
        yield opened


def finish(engine: Engine, instance_id: str, how: str = "reject") -> None:
    """Start an order and finish it: rejected (done) or cancelled (stopped)."""
    engine.start("order", instance_id=instance_id, input={"amount": 5})
    engine.send(instance_id, {"type": "NOTE", "text": "looked at"})
    if how == "reject":
        engine.send(instance_id, "REJECT")
    else:
        engine.cancel(instance_id, reason="closed")


def run_step(engine: Engine, instance_id: str) -> None:
    """Approve an order and finish its charge step: it ships (done) with a pending message."""
    engine.send(instance_id, {"type": "APPROVE", "by": "ann"})
    (step,) = [s for s in engine.store.claim_steps(engine.clock.now(), 60_000)]
    engine.finish_step(step, output={"ok": True})


def placement(store_url: str) -> dict[str, set[str]]:
    """The partitions each instance's audit rows are in; every row's instance_created_at
    checked against its instance's created_at."""
    with psycopg.connect(store_url) as connection:
        rows = connection.execute(
            "SELECT a.tableoid::regclass::text, a.instance_id, "
            "a.instance_created_at = i.created_at FROM audit AS a "
            "JOIN instances AS i ON i.tenant = a.tenant AND i.id = a.instance_id"
        ).fetchall()
    assert all(matches for _, _, matches in rows)
    found: dict[str, set[str]] = {}
    for partition, instance_id, _ in rows:
        found.setdefault(str(instance_id), set()).add(str(partition))
    return found


def counts_match_the_list(engine: Engine) -> bool:
    counted = {
        (c.definition_id, json.dumps(c.value)): c.count for c in engine.count_by_state() if c.count
    }
    listed = Counter((i.definition_id, json.dumps(i.value)) for i in engine.list(limit=1000))
    return counted == dict(listed)


def test_converting_keeps_every_row_and_the_stream_cursor(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    finish(engine, "nov-done")
    clock.advance(MONTH_MS)
    finish(engine, "dec-stopped", how="cancel")
    engine.start("order", instance_id="dec-open", input={"amount": 5})
    ids = ("nov-done", "dec-stopped", "dec-open")
    history = {i: engine.store.history("default", i) for i in ids}
    entries = engine.audit_since(0, tenant="default")
    with psycopg.connect(store_url) as connection:  # as rows written before schema 11
        connection.execute("UPDATE audit SET instance_created_at = NULL WHERE seq < 3")

    done = engine.partition_audit("month", ahead=1)

    assert not done.already and done.moved_rows == sum(len(h) for h in history.values()) == 7
    assert done.created == ("audit_p20231101", "audit_p20231201", "audit_p20240101")
    assert {i: engine.store.history("default", i) for i in ids} == history
    assert engine.audit_since(0, tenant="default") == entries
    assert placement(store_url) == {
        "nov-done": {"audit_p20231101"},
        "dec-stopped": {"audit_p20231201"},
        "dec-open": {"audit_p20231201"},
    }
    # The same engine (its pooled connections' prepared statements) writes on: the new row
    # comes after the old cursor.
    engine.send("dec-open", {"type": "NOTE", "text": "after"})
    (new,) = engine.audit_since(entries[-1].cursor, tenant="default")
    assert (new.instance_id, new.version) == ("dec-open", 2)
    assert new.cursor > entries[-1].cursor and engine.stream_horizon() >= new.cursor
    assert all(engine.verify(i).ok for i in ids)


def test_every_write_path_puts_an_instances_rows_in_its_creation_months_partition(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    engine.partition_audit("month", ahead=3)
    engine.start("order", instance_id="nov", input={"amount": 5})  # the one-statement start
    clock.advance(MONTH_MS)
    engine.start("order", instance_id="dec", input={"amount": 5})
    engine.send("nov", {"type": "NOTE", "text": "quiet"})  # the one-statement quiet send
    run_step(engine, "nov")  # a send starting a step, then a worker's step result
    clock.advance(MONTH_MS)
    engine.fire_timers(engine.store.claim_timers(clock.now(), 60_000))  # dec escalates
    engine.cancel("dec", reason="closed")
    engine.start("order", instance_id="jan", input={"amount": 5})

    assert placement(store_url) == {
        "nov": {"audit_p20231101"},
        "dec": {"audit_p20231201"},
        "jan": {"audit_p20240101"},
    }
    assert [e.version for e in engine.audit_since(0, tenant="default") if e.instance_id == "nov"]
    assert all(engine.verify(i).ok for i in ("nov", "dec", "jan"))


def test_prune_drops_a_finished_partition_and_keeps_one_with_a_running_instance(
    engine: Engine, clock: VirtualClock, store_url: str, tmp_path: Path
) -> None:
    engine.partition_audit("month", ahead=3)
    finish(engine, "nov-1")
    finish(engine, "nov-2", how="cancel")
    clock.advance(MONTH_MS)
    finish(engine, "dec-1")
    engine.start("order", instance_id="dec-running", input={"amount": 5})
    engine.send("dec-running", {"type": "APPROVE", "by": "ann"})  # a step to run
    clock.advance(MONTH_MS)
    finish(engine, "jan-1")  # in a range not over before the cutoff: row by row
    clock.advance(20 * DAY_MS)

    report = engine.prune(timedelta(days=10), archive=tmp_path)

    assert report.partitions_dropped == ("audit_p20231101",)
    assert report.partitions_kept == (
        (
            "audit_p20231201",
            "1 instance not finished before the cutoff or with an outbox message not delivered",
        ),
    )
    assert (report.instances, report.audit_rows) == (4, 3 + 3 + 3 + 3)
    assert report.held == {}
    assert [i.id for i in engine.list(limit=100)] == ["dec-running"]
    assert placement(store_url) == {"dec-running": {"audit_p20231201"}}
    assert engine.verify("dec-running").ok and counts_match_the_list(engine)
    found = engine.audit_partitions()
    assert found is not None and "audit_p20231101" not in [p.name for p in found[1]]
    # The archive holds every instance removed, the dropped partition's as the rest.
    lines = [json.loads(line) for line in Path(report.archive_files[0]).read_text().splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert sorted(by_id) == ["dec-1", "jan-1", "nov-1", "nov-2"]
    assert by_id["nov-1"].keys() == by_id["dec-1"].keys()
    assert [row["seq"] for row in by_id["nov-2"]["audit"]] == [1, 2, 3]
    assert by_id["nov-2"]["instance"]["status"] == "stopped"
    # The live stream reads on what remains, and on.
    assert {e.instance_id for e in engine.audit_since(0, tenant="default")} == {"dec-running"}
    (step,) = engine.store.claim_steps(clock.now(), 60_000)
    engine.finish_step(step, output={"ok": True})
    assert engine.audit_since(0, tenant="default")[-1].to_value == "shipped"
    # A dropped instance's id may be used again (no stale head of it is kept).
    engine.start("order", instance_id="nov-1", input={"amount": 5})
    assert engine.send("nov-1", {"type": "NOTE", "text": "again"}).seq == 2
    assert engine.verify("nov-1").ok


def test_an_undelivered_message_keeps_its_partition_and_its_instance(
    engine: Engine, clock: VirtualClock
) -> None:
    engine.partition_audit("month", ahead=3)
    finish(engine, "nov-1")
    engine.start("order", instance_id="nov-shipped", input={"amount": 5})
    run_step(engine, "nov-shipped")
    clock.advance(3 * MONTH_MS)

    report = engine.prune(timedelta(days=30))

    # November's is kept; December's, empty and over, goes.
    assert report.partitions_dropped == ("audit_p20231201",)
    assert [name for name, _ in report.partitions_kept] == ["audit_p20231101"]
    assert report.instances == 1 and report.held == {"undelivered_outbox": 1}
    assert [i.id for i in engine.list(limit=100)] == ["nov-shipped"]
    assert engine.verify("nov-shipped").ok


def test_a_dry_run_names_the_partitions_that_would_go_and_changes_nothing(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    engine.partition_audit("month", ahead=0)
    finish(engine, "nov-1")
    clock.advance(3 * MONTH_MS)
    before = placement(store_url)

    report = engine.prune(timedelta(days=30), dry_run=True)

    assert report.dry_run and report.partitions_dropped == ("audit_p20231101",)
    assert (report.instances, report.audit_rows, report.partitions_added) == (1, 3, ())
    assert placement(store_url) == before
    found = engine.audit_partitions()
    assert found is not None and [p.name for p in found[1]] == ["audit_p20231101"]


def test_partitioning_again_only_adds_partitions_ahead_and_keeps_its_interval(
    engine: Engine, clock: VirtualClock
) -> None:
    finish(engine, "nov-1")
    first = engine.partition_audit("month", ahead=0)
    clock.advance(MONTH_MS)

    again = engine.partition_audit("month", ahead=1)

    assert (first.created, first.moved_rows) == (("audit_p20231101",), 3)
    assert again.already and again.moved_rows == 0
    assert again.created == ("audit_p20231201", "audit_p20240101")
    assert engine.partition_audit("month", ahead=1).created == ()
    with pytest.raises(ConfigError, match="partitioned by month already; run again with"):
        engine.partition_audit("week")
    with pytest.raises(ConfigError, match="'year' is not one of day, week, month"):
        engine.partition_audit("year")
    with pytest.raises(PayloadError, match=r"ahead 25 is outside 0\.\.24"):
        engine.partition_audit("month", ahead=25)
    assert engine.verify("nov-1").ok


def test_partitioning_waits_for_no_prune_run(engine: Engine) -> None:
    with (
        engine.store.prune_lock(),
        Engine.open(engine.store.url) as other,
        pytest.raises(PruneRunning),
    ):
        other.partition_audit("month")
    assert engine.audit_partitions() is None


def test_a_workers_heartbeat_adds_the_partitions_missing_ahead(
    engine: Engine, clock: VirtualClock
) -> None:
    engine.partition_audit("month", ahead=0)  # November 2023 only, by the engine's clock
    worker = WorkerRecord(
        id="w1", host="h", pid=1, steps="[]", listeners="[]", started_at=0, heartbeat_at=0
    )

    engine.store.register_worker(worker)
    engine.store.register_worker(worker)  # within the hour: nothing more is tried

    found = engine.audit_partitions()
    assert found is not None
    names = [p.name for p in found[1]]
    this_month = datetime.now(UTC).strftime("audit_p%Y%m01")
    assert names[0] == "audit_p20231101" and this_month in names
    assert names == sorted(set(names)) and len(names) >= 3 + 1 + 12


def _commit_once_the_detach_waits(other: psycopg.Connection[tuple[object, ...]], url: str) -> None:
    """Commit `other` as soon as a DETACH waits for the lock `other` holds (at most 10 s)."""
    with psycopg.connect(url, autocommit=True) as watcher:
        for _ in range(2000):
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'ALTER TABLE audit DETACH%%'"
            ).fetchone()
            if waiting and int(str(waiting[0])):
                break
            time.sleep(0.005)
    other.commit()


def test_a_start_in_the_range_committed_during_the_drop_keeps_the_partition_whole(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    engine.partition_audit("month", ahead=3)
    finish(engine, "nov-1")
    clock.advance(2 * MONTH_MS)  # November's range over before the cutoff, December's not
    with psycopg.connect(store_url) as other:
        # A start dated in November, in flight while the prune reads: its instance and audit
        # row written, not committed (invisible to the prune until its DETACH waits for it).
        other.execute(
            "INSERT INTO instances SELECT tenant, 'nov-late', definition_id, "
            "definition_version, 1, snapshot, value, 'active', 'active', created_at, "
            "updated_at FROM instances WHERE id = 'nov-1'"
        )
        other.execute(
            "INSERT INTO audit (tenant, instance_id, seq, event, to_value, status, "
            "runtime_status, at, microsteps, effects, instance_created_at) SELECT tenant, "
            "'nov-late', 1, event, to_value, 'active', 'active', at, microsteps, effects, "
            "instance_created_at FROM audit WHERE instance_id = 'nov-1' AND seq = 1"
        )
        committer = threading.Thread(target=_commit_once_the_detach_waits, args=(other, store_url))
        committer.start()
        report = engine.prune(timedelta(days=30))
        committer.join()

    assert report.partitions_dropped == ()
    ((name, why),) = report.partitions_kept
    # Committed while the DETACH waited (or, on a slow machine, after its 1 s lock timeout).
    assert name == "audit_p20231101"
    assert why in ("1 instance created in its range started meanwhile",
                   "a lock on the audit table or the partition not had in time")  # fmt: skip
    assert report.instances == 1  # nov-1, row by row after the partition was kept
    assert [i.id for i in engine.list(limit=10)] == ["nov-late"]
    assert [r.seq for r in engine.store.history("default", "nov-late")] == [1]


def test_a_partition_whose_table_stays_locked_is_kept_and_pruned_row_by_row(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    engine.partition_audit("month", ahead=3)
    finish(engine, "nov-1")
    clock.advance(MONTH_MS)
    engine.start("order", instance_id="dec-open", input={"amount": 5})
    clock.advance(MONTH_MS)  # November's range over before the cutoff, December's not
    with psycopg.connect(store_url) as other:  # a long transaction writing to audit
        other.execute("LOCK TABLE audit IN ROW EXCLUSIVE MODE")
        report = engine.prune(timedelta(days=30))  # three tries, a second each

    assert report.partitions_dropped == ()
    assert report.partitions_kept == (
        ("audit_p20231101", "a lock on the audit table or the partition not had in time"),
    )
    assert report.instances == 1 and [i.id for i in engine.list(limit=10)] == ["dec-open"]
    assert placement(store_url) == {"dec-open": {"audit_p20231201"}}
    assert engine.prune(timedelta(days=30)).partitions_dropped == ("audit_p20231101",)


def test_the_partitioned_table_has_the_columns_of_the_plain_one(
    engine: Engine, store_url: str
) -> None:
    """partitioning.sql restates schema.sql's audit columns: a column added to one and not
    the other would be lost (or refused) by the conversion."""

    def columns() -> list[tuple[object, ...]]:
        with psycopg.connect(store_url) as connection:
            return connection.execute(
                "SELECT column_name, data_type, collation_name, is_identity, "
                "column_name = 'instance_created_at' OR is_nullable = 'YES' "
                "FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'audit' "
                "ORDER BY ordinal_position"
            ).fetchall()

    plain = columns()
    engine.partition_audit("month", ahead=0)
    assert columns() == plain
