"""`statewright prune`: its text and JSON, the archive, a dry run, bad input (exit 2, nothing
removed), a second runner (exit 4), and `statewright verify` on what remains."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine
from statewright.testing import VirtualClock

runner = CliRunner(env={"COLUMNS": "200"})
DAY_MS = 86_400_000

TICKET = {
    "id": "ticket",
    "initial": "open",
    "states": {
        "open": {"on": {"CLOSE": "closed", "NOTE": {}}},
        "closed": {"type": "final"},
    },
}


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A store with, 40 days ago, two closed tickets and one open; one closed today; and one
    closed 40 days ago in tenant acme."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    clock = VirtualClock(time.time_ns() // 1_000_000 - 40 * DAY_MS)
    with Engine.open(url, clock=clock) as engine:
        engine.register(Machine.from_config(TICKET))
        for instance_id in ("old-1", "old-2"):
            engine.start("ticket", instance_id=instance_id)
            engine.send(instance_id, "NOTE")
            engine.send(instance_id, "CLOSE")
        engine.start("ticket", instance_id="acme-1", tenant="acme")
        engine.send("acme-1", "CLOSE", tenant="acme")
        engine.start("ticket", instance_id="open-1")
        clock.advance(40 * DAY_MS)
        engine.start("ticket", instance_id="new-1")
        engine.send("new-1", "CLOSE")
    return url


def ids(url: str, tenant: str = "default") -> list[str]:
    with Engine.open(url) as engine:
        return [instance.id for instance in engine.list(tenant=tenant)]


def test_a_dry_run_counts_then_a_run_removes_and_archives(url: str, tmp_path: Path) -> None:
    dry = run("prune", "--finished-before", "30d", "--dry-run", "--url", url)
    assert dry.exit_code == 0, dry.output
    assert "would remove 3 instances" in dry.output and "(8 audit rows)" in dry.output
    assert ids(url) == ["new-1", "old-1", "old-2", "open-1"]

    done = run("prune", "--finished-before", "30d", "--archive", str(tmp_path / "arch"),
               "--url", url, "--json")  # fmt: skip

    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert (report["instances"], report["audit_rows"], report["dry_run"]) == (3, 8, False)
    assert report["held"] == {}
    (archive,) = report["archive_files"]
    archived = [json.loads(line) for line in Path(archive).read_text().splitlines()]
    assert sorted((line["tenant"], line["id"]) for line in archived) == [
        ("acme", "acme-1"),
        ("default", "old-1"),
        ("default", "old-2"),
    ]
    assert report["cutoff_at"].endswith("Z")
    assert ids(url) == ["new-1", "open-1"]
    assert ids(url, "acme") == []
    verified = run("verify", "--url", url)
    assert verified.exit_code == 0, verified.output
    assert "2 of 2 instances match" in verified.output


def test_text_output_and_the_tenant_filter(url: str) -> None:
    done = run("prune", "--finished-before", "30d", "--tenant", "acme", "--url", url)
    assert done.exit_code == 0, done.output
    assert "removed 1 instances finished before" in done.output
    assert "2 audit rows" in done.output
    assert ids(url, "acme") == []
    assert ids(url) == ["new-1", "old-1", "old-2", "open-1"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--finished-before", "30 days"], "'30 days'"),
        (["--finished-before", "soon"], "'soon'"),
        (["--finished-before", "30d", "--batch", "0"], "--batch 0 is outside 1..10000"),
        (["--finished-before", "30d", "--batch", "10001"], "--batch 10001"),
        (["--finished-before", "30d", "--tenant", "x" * 201], "tenant"),
        (["--finished-before", "999999999d", "--dry-run"], "'999999999d' reaches back"),
        (["--finished-before", "9999999999d"], "--finished-before '9999999999d'"),
    ],
)
def test_bad_input_exits_2_and_removes_nothing(url: str, args: list[str], named: str) -> None:
    refused = run("prune", *args, "--url", url)
    assert refused.exit_code == 2, refused.output
    assert named in refused.output
    assert ids(url) == ["new-1", "old-1", "old-2", "open-1"]


def test_a_bad_duration_gets_a_suggestion(url: str) -> None:
    refused = run("prune", "--finished-before", "30 days", "--url", url)
    assert "did you mean '30d'" in refused.output


def test_a_second_runner_exits_4_naming_the_first(url: str) -> None:
    with Engine.open(url) as engine, engine.store.prune_lock():
        refused = run("prune", "--finished-before", "30d", "--url", url, "--json")
    assert refused.exit_code == 4, refused.output
    error = json.loads(refused.stdout)
    assert error["error"] == "PruneRunning"
    assert "another prune is running" in error["message"]
    assert "pid" in error["holder"]
    assert ids(url) == ["new-1", "old-1", "old-2", "open-1"]
