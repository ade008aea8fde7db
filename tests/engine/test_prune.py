"""`Engine.prune`: only finished instances older than the cutoff go, each whole with every row
it owns; undelivered outbox messages hold their instance; the archive holds every instance
removed; one run at a time; lists, counts and `verify` stay right on what remains."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from statewright.engine import Engine
from statewright.errors import NotFound, PayloadError, PruneRunning
from statewright.store.pruning import PRUNED_TABLES
from statewright.testing import VirtualClock

DAY_MS = 86_400_000


def finish(engine: Engine, instance_id: str, how: str = "reject", tenant: str = "default") -> None:
    """Start an order and finish it: rejected (done) or cancelled (stopped)."""
    engine.start("order", instance_id=instance_id, input={"amount": 5}, tenant=tenant)
    engine.send(instance_id, {"type": "NOTE", "text": "looked at"}, tenant=tenant)
    if how == "reject":
        engine.send(instance_id, "REJECT", tenant=tenant)
    else:
        engine.cancel(instance_id, tenant=tenant, reason="closed")


def ship(engine: Engine, instance_id: str) -> None:
    """Run an order to `shipped` (done), which emits an outbox message left pending."""
    engine.start("order", instance_id=instance_id, input={"amount": 5})
    engine.send(instance_id, {"type": "APPROVE", "by": "ann"})
    (step,) = [s for s in engine.store.claim_steps(engine.clock.now(), 60_000)]
    engine.finish_step(step, output={"ok": True})
    assert engine.get(instance_id).status == "done"


def counts(engine: Engine, tenant: str = "default") -> dict[tuple[str, str], int]:
    return {
        (c.definition_id, json.dumps(c.value)): c.count
        for c in engine.count_by_state(tenant=tenant)
    }


def listed_counts(engine: Engine, tenant: str = "default") -> dict[tuple[str, str], int]:
    found = Counter(
        (i.definition_id, json.dumps(i.value)) for i in engine.list(tenant=tenant, limit=1000)
    )
    return dict(found)


def assert_gone(engine: Engine, instance_id: str, tenant: str = "default") -> None:
    with pytest.raises(NotFound):
        engine.get(instance_id, tenant=tenant)
    assert engine.store.instance_rows(tenant, instance_id) is None
    assert engine.store.history(tenant, instance_id) == []
    assert engine.store.outbox(tenant, instance_id) == []
    assert engine.store.steps(tenant, instance_id) == []
    assert engine.store.pending_timers(tenant, instance_id) == []


def test_only_finished_instances_older_than_the_cutoff_go(
    engine: Engine, clock: VirtualClock
) -> None:
    finish(engine, "done-old")
    finish(engine, "stopped-old", how="cancel")
    engine.start("order", instance_id="waiting-old", input={"amount": 5})  # a 48 h timer
    engine.start("order", instance_id="running-old", input={"amount": 5})
    engine.send("running-old", {"type": "APPROVE", "by": "ann"})  # a step to run
    clock.advance(10 * DAY_MS)
    finish(engine, "done-new")

    report = engine.prune(timedelta(days=5))

    assert (report.instances, report.audit_rows) == (2, 3 + 3)
    assert report.held == {} and not report.dry_run
    assert_gone(engine, "done-old")
    assert_gone(engine, "stopped-old")
    kept = {i.id: i for i in engine.list(limit=100)}
    assert sorted(kept) == ["done-new", "running-old", "waiting-old"]
    assert (kept["waiting-old"].runtime_status, kept["running-old"].runtime_status) == (
        "waiting",
        "running",
    )
    for instance_id in kept:
        assert engine.verify(instance_id).ok
    assert (
        counts(engine)
        == listed_counts(engine)
        == {
            ("order", '"pending"'): 1,
            ("order", '"paying"'): 1,
            ("order", '"rejected"'): 1,
        }
    )
    assert engine.count_by_state(status="done")[0].count == 1
    assert [i.id for i in engine.list(state="rejected")] == ["done-new"]


def test_a_cutoff_as_a_time_and_nothing_older(engine: Engine, clock: VirtualClock) -> None:
    finish(engine, "o-1")
    engine.start("order", instance_id="active", input={"amount": 5})
    before_it = datetime.fromtimestamp((clock.now() - 1) / 1000, tz=UTC)
    assert engine.prune(before_it).instances == 0
    after_it = datetime.fromtimestamp((clock.now() + 1) / 1000, tz=UTC)
    assert engine.prune(after_it).instances == 1
    assert_gone(engine, "o-1")


def test_an_undelivered_outbox_message_holds_its_instance(
    engine: Engine, clock: VirtualClock
) -> None:
    ship(engine, "shipped")
    clock.advance(2 * DAY_MS)
    engine.start("order", instance_id="later", input={"amount": 5})

    assert engine.prune(timedelta(days=1), dry_run=True).held == {"undelivered_outbox": 1}
    report = engine.prune(timedelta(days=1))
    assert report.instances == 0
    assert report.held == {"undelivered_outbox": 1}
    assert report.held_sample == (("default", "shipped", "undelivered_outbox"),)
    (message,) = engine.store.due_outbox(clock.now(), lease_ms=1000)
    engine.store.outbox_failed(message, error="down", next_attempt_at=0, dead=True)
    assert engine.prune(timedelta(days=1)).held == {"undelivered_outbox": 1}  # a dead letter
    assert engine.get("shipped").status == "done"

    engine.store.redrive(message.message_id, clock.now())
    (again,) = engine.store.due_outbox(clock.now(), lease_ms=1000)
    assert engine.store.outbox_delivered(again, clock.now())
    report = engine.prune(timedelta(days=1))
    assert (report.instances, report.outbox_rows, report.steps) == (1, 1, 0)
    assert report.audit_rows == 3  # start, APPROVE, the step's done event
    assert_gone(engine, "shipped")


def test_the_archive_holds_each_removed_instance_whole(
    engine: Engine, clock: VirtualClock, tmp_path: Path
) -> None:
    for index in range(5):
        finish(engine, f"o-{index}", how="reject" if index % 2 else "cancel")
    engine.start("order", instance_id="active", input={"amount": 5})
    histories = {f"o-{i}": engine.history(f"o-{i}") for i in range(5)}
    clock.advance(DAY_MS)

    report = engine.prune(timedelta(hours=1), archive=tmp_path / "archive", batch=2)

    assert report.instances == 5
    (path,) = report.archive_files
    assert Path(path).parent == tmp_path / "archive"
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(histories)
    for line in lines:
        assert line["format"] == "statewright-prune/1"
        assert set(line) >= {"instance", "tenant", "archived_at", *PRUNED_TABLES}
        assert line["instance"]["id"] == line["id"]
        assert line["instance"]["status"] in ("done", "stopped")
        history = histories[line["id"]]
        assert [row["seq"] for row in line["audit"]] == [entry.seq for entry in history]
        assert [json.loads(row["event"]) for row in line["audit"]] == [e.event for e in history]
        assert len(line["audit"]) == line["instance"]["version"]
    assert [i.id for i in engine.list()] == ["active"]


def test_a_dry_run_counts_and_changes_nothing(engine: Engine, clock: VirtualClock) -> None:
    finish(engine, "o-1")
    finish(engine, "o-2", how="cancel")
    ship(engine, "shipped")
    clock.advance(DAY_MS)

    report = engine.prune(timedelta(hours=1), dry_run=True)

    assert report.dry_run
    assert (report.instances, report.audit_rows, report.held) == (
        2,
        6,
        {"undelivered_outbox": 1},
    )
    assert len(list(engine.list())) == 3


def test_a_tenant_filter_prunes_only_that_tenant(engine: Engine, clock: VirtualClock) -> None:
    finish(engine, "o-1", tenant="acme")
    finish(engine, "o-1", tenant="globex")
    clock.advance(DAY_MS)

    assert engine.prune(timedelta(hours=1), tenant="acme").instances == 1

    assert_gone(engine, "o-1", tenant="acme")
    assert engine.get("o-1", tenant="globex").status == "done"
    assert counts(engine, "globex") == {("order", '"rejected"'): 1}
    assert counts(engine, "acme") == {}


def test_a_second_runner_is_refused_while_one_runs(
    engine: Engine, store_url: str, clock: VirtualClock
) -> None:
    for index in range(3):
        finish(engine, f"o-{index}")
    clock.advance(DAY_MS)
    engine.start("order", instance_id="later", input={"amount": 5})
    paused, resume = threading.Event(), threading.Event()
    reports = []

    def first_batch(_: object) -> None:
        paused.set()
        resume.wait(30)

    runner = threading.Thread(
        target=lambda: reports.append(
            engine.prune(timedelta(hours=1), batch=1, progress=first_batch)
        )
    )
    runner.start()
    try:
        assert paused.wait(30)
        with Engine.open(store_url, clock=clock) as other:
            with pytest.raises(PruneRunning, match="another prune is running") as refused:
                other.prune(timedelta(hours=1))
            assert refused.value.holder
            assert other.prune(timedelta(hours=1), dry_run=True).instances == 2  # no lock
    finally:
        resume.set()
        runner.join(30)
    assert reports[0].instances == 3
    with Engine.open(store_url, clock=clock) as other:
        assert other.prune(timedelta(hours=1)).instances == 0  # the lock was released


def test_the_live_stream_cursor_never_goes_back(engine: Engine, clock: VirtualClock) -> None:
    finish(engine, "o-1")
    finish(engine, "o-2")
    newest = engine.store.stream_marker().seq
    clock.advance(DAY_MS)

    dry = engine.prune(timedelta(hours=1), dry_run=True)
    report = engine.prune(timedelta(hours=1))

    assert (dry.instances, dry.audit_rows, dry.held) == (
        report.instances,
        report.audit_rows,
        report.held,
    )

    # SQLite draws the next cursor from the newest audit row: that row's instance stays.
    assert report.instances + report.held.get("stream_head", 0) == 2
    engine.start("order", instance_id="o-3", input={"amount": 5})
    assert engine.store.stream_marker().seq > newest


def test_an_instance_kept_for_the_stream_is_not_archived(
    engine: Engine, clock: VirtualClock, tmp_path: Path
) -> None:
    """The archive holds exactly the instances removed: the one kept as the newest audit
    row's owner (SQLite) is archived by the run that removes it, once."""
    finish(engine, "o-1")
    finish(engine, "o-2")
    clock.advance(DAY_MS)

    report = engine.prune(timedelta(hours=1), archive=tmp_path / "archive")

    kept = report.held.get("stream_head", 0)
    (path,) = report.archive_files
    archived = [json.loads(line)["id"] for line in Path(path).read_text().splitlines()]
    assert len(archived) == report.instances == 2 - kept
    assert sorted(archived + [i.id for i in engine.list()]) == ["o-1", "o-2"]


def test_a_pruned_instance_is_not_found_by_the_engine_that_moved_it(
    engine: Engine, clock: VirtualClock
) -> None:
    finish(engine, "o-1")
    finish(engine, "o-2")  # holds the newest audit row, on SQLite
    clock.advance(DAY_MS)
    engine.prune(timedelta(hours=1))
    with pytest.raises(NotFound):
        engine.send("o-1", "NOTE")
    with pytest.raises(NotFound):
        engine.verify("o-1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"finished_before": timedelta(days=-1)}, "negative"),
        ({"finished_before": datetime(2026, 1, 1)}, "no time zone"),
        ({"finished_before": timedelta(days=1), "batch": 0}, "batch 0"),
        ({"finished_before": timedelta(days=1), "tenant": ""}, "tenant"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    engine: Engine, clock: VirtualClock, kwargs: dict[str, object], message: str
) -> None:
    finish(engine, "o-1")
    finish(engine, "o-2")
    clock.advance(2 * DAY_MS)
    with pytest.raises(PayloadError, match=message):
        engine.prune(**kwargs)  # type: ignore[arg-type]
    assert len(list(engine.list())) == 2


def test_an_archive_folder_that_is_a_file_is_refused(
    engine: Engine, clock: VirtualClock, tmp_path: Path
) -> None:
    finish(engine, "o-1")
    finish(engine, "o-2")
    clock.advance(2 * DAY_MS)
    (tmp_path / "taken").write_text("x")
    with pytest.raises(PayloadError, match="taken"):
        engine.prune(timedelta(days=1), archive=tmp_path / "taken")
    assert len(list(engine.list())) == 2


def test_an_instance_whose_log_lacks_a_row_is_held_whole(
    engine: Engine, clock: VirtualClock
) -> None:
    finish(engine, "o-1")
    finish(engine, "o-2")
    engine.start("order", instance_id="later", input={"amount": 5})
    engine.store._run_alone(  # a damaged log, as no engine call would leave it
        "DELETE FROM audit WHERE instance_id = 'o-1' AND seq = 2", {}, what="damaging"
    )
    clock.advance(DAY_MS)

    report = engine.prune(timedelta(hours=1))

    assert report.instances == 1 and report.held == {"log_mismatch": 1}
    assert [entry.seq for entry in engine.history("o-1")] == [1, 3]
    assert engine.get("o-1").status == "done"


def test_with_an_archive_only_what_the_archive_holds_is_removed(
    engine: Engine, clock: VirtualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ship(engine, "shipped")
    clock.advance(2 * DAY_MS)
    engine.start("order", instance_id="later", input={"amount": 5})
    read = engine.store.instances_rows

    def read_then_deliver(keys: list[tuple[str, str]]) -> object:
        found = read(keys)  # read with its message pending: not archived
        (message,) = engine.store.due_outbox(clock.now(), lease_ms=1000)
        assert engine.store.outbox_delivered(message, clock.now())
        return found

    monkeypatch.setattr(engine.store, "instances_rows", read_then_deliver)
    report = engine.prune(timedelta(days=1), archive=tmp_path)
    assert (report.instances, report.held) == (0, {"undelivered_outbox": 1})
    assert engine.get("shipped").status == "done"

    monkeypatch.undo()
    report = engine.prune(timedelta(days=1), archive=tmp_path)
    assert report.instances == 1
    (path,) = report.archive_files
    (line,) = Path(path).read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["outbox"][0]["status"] == "delivered"
