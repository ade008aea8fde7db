"""`statewright db partition-audit`: a PostgreSQL store's audit table partitioned (text and
JSON), again harmlessly, then `prune` dropping a partition whole; SQLite refused (exit 2),
saying why and what to do, with nothing changed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine
from statewright.errors import ConfigError
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


def seed(url: str) -> None:
    """Two tickets closed 100 days ago and one open since then; one closed today."""
    clock = VirtualClock(time.time_ns() // 1_000_000 - 100 * DAY_MS)
    with Engine.open(url, clock=clock) as engine:
        engine.register(Machine.from_config(TICKET))
        for instance_id in ("old-1", "old-2"):
            engine.start("ticket", instance_id=instance_id)
            engine.send(instance_id, "NOTE")
            engine.send(instance_id, "CLOSE")
        engine.start("ticket", instance_id="old-open")
        clock.advance(100 * DAY_MS)
        engine.start("ticket", instance_id="new-1")
        engine.send("new-1", "CLOSE")


@pytest.mark.slow
@pytest.mark.parametrize("empty_store_url", ["postgres"], indirect=True)
def test_partition_audit_then_prune_drops_old_partitions(empty_store_url: str) -> None:
    store_url = empty_store_url  # not partitioned yet, whatever the suite's settings
    seed(store_url)

    first = run("db", "partition-audit", "--url", store_url, "--json")
    again = run("db", "partition-audit", "--url", store_url)

    assert first.exit_code == 0, first.output
    done = json.loads(first.stdout)
    assert (done["interval"], done["already"], done["moved_rows"]) == ("month", False, 9)
    assert done["created"] == done["partitions"] and len(done["partitions"]) >= 5
    assert again.exit_code == 0, again.output
    assert "is partitioned by month already" in again.stdout
    assert "added 0 partitions" in again.stdout
    refused = run("db", "partition-audit", "--url", store_url, "--interval", "week")
    assert refused.exit_code == 2 and "run again with --interval month" in refused.stderr

    pruned = run("prune", "--finished-before", "30d", "--url", store_url)

    assert pruned.exit_code == 0, pruned.output
    assert "removed 2 instances" in pruned.stdout
    # old-open holds its month's partition: the closed tickets there go row by row.
    assert "kept audit partition audit_p" in pruned.stdout
    with Engine.open(store_url) as engine:
        assert sorted(i.id for i in engine.list()) == ["new-1", "old-open"]
        assert all(engine.verify(i).ok for i in ("new-1", "old-open"))
    verified = run("verify", "--url", store_url)
    assert verified.exit_code == 0, verified.output


def test_sqlite_is_refused_saying_why_and_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    seed(url)
    before = (tmp_path / "app.db").stat().st_size

    result = run("db", "partition-audit", "--url", url)

    assert result.exit_code == 2
    assert "only a PostgreSQL store's audit table can be partitioned" in result.stderr
    assert "SQLite has no partitions" in result.stderr
    assert 'statewright prune --finished-before 30d", or move the store' in result.stderr
    with Engine.open(url) as engine:
        with pytest.raises(ConfigError, match="SQLite has no partitions"):
            engine.partition_audit("month")
        assert engine.audit_partitions() is None
        assert len(engine.list()) == 4
    assert (tmp_path / "app.db").stat().st_size == before


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--ahead", "-1"], "'--ahead': -1 is outside 0..24"),
        (["--ahead", "25"], "'--ahead': 25 is outside 0..24"),
        (["--interval", "year"], "'--interval': interval 'year' is not one of day"),
    ],
)
def test_a_bad_option_exits_2_naming_it(tmp_path: Path, args: list[str], named: str) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    Engine.open(url).close()
    result = run("db", "partition-audit", "--url", url, *args)
    assert result.exit_code == 2
    assert named in " ".join(result.stderr.replace("│", " ").split())
