"""`statewright schedules`: the tenant's cron schedules, their workers and ticks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.engine import Engine
from statewright.engine.workers import WORKER_GONE_MS
from statewright.store.records import WorkerRecord

runner = CliRunner()

REMIND = {
    "name": "remind-active",
    "cron": "*/5 * * * *",
    "timezone": "Europe/Riga",
    "description": "Nudge the open orders",
    "action": {"event": {"type": "REMIND"}, "where": {"definition": "order", "status": "active"}},
}
REPORT = {
    "name": "acme-report",
    "cron": "0 2 * * *",
    "action": {"start": "report", "tenant": "acme"},
}


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no project around
    monkeypatch.setenv("COLUMNS", "200")
    location = f"sqlite:///{tmp_path / 'statewright.db'}"
    with Engine.open(location) as engine:
        now = engine.clock.now()
        for worker_id, heard, schedules in (
            ("w-live", now, [REPORT]),
            ("w-dead", now - WORKER_GONE_MS - 5000, [REMIND]),
        ):
            engine.store.register_worker(
                WorkerRecord(
                    id=worker_id, host="box-1", pid=7, steps="[]", listeners="[]",
                    started_at=heard, heartbeat_at=heard, schedules=json.dumps(schedules),
                )
            )  # fmt: skip
        assert engine.store.claim_tick("remind-active", now - 60_000, now - 60_000, 1000)
    return location


def test_json_lists_the_tenants_schedules_with_workers_and_ticks(url: str) -> None:
    result = runner.invoke(app, ["schedules", "--url", url, "--json"])
    assert result.exit_code == 0, result.output
    [remind] = json.loads(result.stdout)["schedules"]
    assert remind["name"] == "remind-active" and remind["tenant"] == "default"
    assert remind["summary"] == "send REMIND to order instances in status active"
    assert remind["workers"] == []  # its worker died
    assert remind["last_tick"]["status"] == "stalled"
    assert remind["next_tick"] % 300_000 == 0
    acme = json.loads(
        runner.invoke(app, ["schedules", "--url", url, "--tenant", "acme", "--json"]).stdout
    )
    assert [(s["name"], s["summary"]) for s in acme["schedules"]] == [
        ("acme-report", "start report")
    ]
    assert acme["schedules"][0]["workers"] == [{"id": "w-live", "host": "box-1", "pid": 7}]


def test_the_table_marks_a_schedule_no_live_worker_runs(url: str) -> None:
    result = runner.invoke(app, ["schedules", "--url", url])
    assert result.exit_code == 0, result.output
    for words in ("remind-active", "Nudge the open orders", "send REMIND to order instances",
                  "*/5 * * * *", "Europe/Riga", "no live worker", "stalled"):  # fmt: skip
        assert words in result.stdout, words
    acme = runner.invoke(app, ["schedules", "--url", url, "--tenant", "acme"])
    assert "box-1:7" in acme.stdout and "never" in acme.stdout


def test_no_schedules_says_how_to_define_them(url: str) -> None:
    result = runner.invoke(app, ["schedules", "--url", url, "--tenant", "nobody"])
    assert result.exit_code == 0
    assert "no schedules" in result.stdout and "SCHEDULES" in result.stdout


def test_a_missing_store_exits_5_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = f"sqlite:///{tmp_path / 'nope.db'}"
    result = runner.invoke(app, ["schedules", "--url", missing])
    assert result.exit_code == 5 and "nope.db" in result.output


def test_a_schedule_known_only_from_its_ticks_shows_when_it_last_ticked(url: str) -> None:
    """Dropped from SCHEDULES, or its workers stopped cleanly: no worker row says it."""
    with Engine.open(url) as engine:
        now = engine.clock.now()
        assert engine.store.claim_tick("dropped-report", now - 120_000, now - 120_000, 1000)
        engine.store.finish_tick("dropped-report", now - 120_000)
    result = runner.invoke(app, ["schedules", "--url", url])
    assert result.exit_code == 0, result.output
    assert "dropped-report" in result.stdout and "no live worker (last ticked" in result.stdout
    listed = json.loads(runner.invoke(app, ["schedules", "--url", url, "--json"]).stdout)
    [dropped] = [s for s in listed["schedules"] if s["name"] == "dropped-report"]
    assert (dropped["spec_known"], dropped["workers"]) == (False, [])
    assert dropped["last_tick"]["status"] == "done"
