"""Opening a store: schema checks; verifying instances from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests_support import order_machine
from typer.testing import CliRunner

import statewright.store.schema as schema_module
from statewright.cli import app
from statewright.engine import Engine
from statewright.errors import ConfigError, SchemaOutOfDate, StoreError
from statewright.testing import VirtualClock

runner = CliRunner()


def test_an_empty_database_gets_the_schema_on_open(empty_store_url: str) -> None:
    with Engine.open(empty_store_url) as engine:
        assert engine.store.schema_version() >= 1


def test_an_empty_database_is_left_alone_without_create(empty_store_url: str) -> None:
    # SQLite: no file is created (a StoreError naming the path); PostgreSQL: SchemaOutOfDate.
    with pytest.raises(StoreError, match="statewright db migrate"):
        Engine.open(empty_store_url, create=False)
    if empty_store_url.startswith("sqlite:///"):
        assert not Path(empty_store_url.removeprefix("sqlite:///")).exists()


def test_an_older_schema_names_the_migrate_command(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", 99)
    with pytest.raises(SchemaOutOfDate) as info:
        Engine.open(store_url)
    assert "needs 99" in str(info.value)
    assert 'run "statewright db migrate --url' in str(info.value)


def test_a_newer_schema_asks_for_an_upgrade(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", 0)
    with pytest.raises(SchemaOutOfDate, match="upgrade statewright"):
        Engine.open(store_url)


def test_a_bad_url_says_which_forms_work() -> None:
    with pytest.raises(ConfigError, match="sqlite:///"):
        Engine.open("mysql://localhost/app")


def test_verify_command_checks_every_instance_of_every_tenant(
    store_url: str, clock: VirtualClock
) -> None:
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(order_machine())
        for tenant in ("acme", "globex"):
            for index in range(3):
                engine.start(
                    "order", input={"amount": index}, instance_id=f"o-{index}", tenant=tenant
                )
            engine.send("o-1", {"type": "APPROVE", "by": "ann"}, tenant=tenant)

    result = runner.invoke(app, ["verify", "--url", store_url])

    assert result.exit_code == 0, result.output
    assert "6 of 6 instances match their audit log" in result.output


def test_verify_command_reports_an_instance_that_does_not_replay(
    store_url: str, clock: VirtualClock
) -> None:
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(order_machine())
        engine.start("order", input={"amount": 1}, instance_id="o-1")
        engine.send("o-1", {"type": "NOTE", "text": "a"})
        record = engine.store.load_instance("default", "o-1")
        assert record is not None
        tampered = json.loads(record.snapshot)
        tampered["context"]["note"] = "edited by hand"
        _overwrite_snapshot(engine, json.dumps(tampered))

    result = runner.invoke(app, ["verify", "--url", store_url])

    assert result.exit_code == 1
    assert "default/o-1: the replayed snapshot differs from the stored one" in result.output
    assert "0 of 1 instances match" in result.output


def _overwrite_snapshot(engine: Engine, text: str, tenant: str = "default") -> None:
    """Tamper with the row behind the engine's back, as a bad migration or a hand edit would."""
    url = engine.store.url
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.split("sqlite:///", 1)[1].split("?")[0])
        with connection:
            connection.execute(
                "UPDATE instances SET snapshot = ? WHERE tenant = ? AND id = 'o-1'", (text, tenant)
            )
        connection.close()
    else:
        import psycopg

        with psycopg.connect(url) as connection:
            connection.execute(
                "UPDATE instances SET snapshot = %s WHERE tenant = %s AND id = 'o-1'",
                (text, tenant),
            )


def test_verify_all_walks_every_tenant_page_by_page_and_goes_on_past_a_mismatch(
    store_url: str, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import statewright.engine.reads as reads_module

    monkeypatch.setattr(reads_module, "_VERIFY_PAGE", 2)  # several pages per tenant
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(order_machine())
        for tenant in ("acme", "globex"):
            for index in range(5):
                engine.start(
                    "order", input={"amount": index}, instance_id=f"o-{index}", tenant=tenant
                )
        engine.send("o-1", {"type": "NOTE", "text": "a"}, tenant="globex")
        record = engine.store.load_instance("globex", "o-1")
        assert record is not None
        tampered = json.loads(record.snapshot)
        tampered["context"]["note"] = "edited by hand"
        _overwrite_snapshot(engine, json.dumps(tampered), tenant="globex")

        results = list(engine.verify_all())
        only_acme = [(r.tenant, r.instance_id) for r in engine.verify_all(tenant="acme")]
        total = engine.count_instances()

    assert [(r.tenant, r.instance_id) for r in results] == [
        (tenant, f"o-{index}") for tenant in ("acme", "globex") for index in range(5)
    ]
    assert [(r.tenant, r.instance_id) for r in results if not r.ok] == [("globex", "o-1")]
    assert only_acme == [("acme", f"o-{index}") for index in range(5)]
    assert total == 10
