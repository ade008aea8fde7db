"""The CLI's --tenant: a command given one tenant sees and changes only its instances and
messages; another tenant's instance, message or idempotency key is answered as one of nobody."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine

runner = CliRunner(env={"COLUMNS": "200"})
NOTED = {
    "id": "noted",
    "initial": "open",
    "states": {
        "open": {
            "on": {
                "NOTE": {"actions": [{"type": "emit", "params": {"event": {"type": "noted"}}}]},
                "CLOSE": "closed",
            }
        },
        "closed": {"type": "final"},
    },
}


def run(url: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--url", url])


def _world(url: str) -> str:
    """An instance "secret-1" of tenant "other" with a dead letter (its id), and one "mine"
    of tenant "acme"."""
    with Engine.open(url) as engine:
        engine.register(Machine.from_config(NOTED))
        engine.start("noted", instance_id="secret-1", tenant="other")
        engine.send("secret-1", {"type": "NOTE"}, tenant="other", idempotency_key="k-1")
        engine.start("noted", instance_id="mine", tenant="acme")
        (message,) = engine.store.due_outbox(engine.clock.now() + 1, 10)
        engine.store.outbox_failed(message, error="boom", next_attempt_at=0, dead=True)
        return message.message_id


def test_a_tenant_option_keeps_every_command_to_that_tenant(store_url: str) -> None:
    message_id = _world(store_url)
    with Engine.open(store_url) as engine:
        before = [(i.id, i.version) for i in engine.list(tenant="other")]
    for named, nobody in (("secret-1", "nobody-1"),):
        for command in (
            ["show"],
            ["history"],
            ["accepted"],
            ["retry"],
            ["cancel"],
            ["send", "--idempotency-key", "k-1"],
        ):
            extra = ["CLOSE"] if command[0] == "send" else []
            got = run(store_url, command[0], named, *extra, *command[1:], "--tenant", "acme")
            control = run(store_url, command[0], nobody, *extra, *command[1:], "--tenant", "acme")
            assert got.exit_code == control.exit_code != 0, (command, got.output)
            assert got.output.replace(named, "<id>") == control.output.replace(nobody, "<id>")
    listed = run(store_url, "list", "--tenant", "acme", "--json")
    assert [i["id"] for i in json.loads(listed.output)["instances"]] == ["mine"]
    dead = run(store_url, "dead-letters", "--tenant", "acme", "--json")
    assert json.loads(dead.output)["dead_letters"] == []
    counted = run(store_url, "redrive", "--all", "--dry-run", "--tenant", "acme", "--json")
    assert json.loads(counted.output)["redriven"] == 0
    got = run(store_url, "redrive", message_id, "--tenant", "acme")
    control = run(
        store_url, "redrive", message_id.replace("secret-1", "nobody-1"), "--tenant", "acme"
    )
    assert got.exit_code == control.exit_code != 0, got.output
    assert "secret-1" not in got.output.replace(message_id, "<id>")
    bulk = run(store_url, "bulk", "cancel", "--all", "--tenant", "acme", "--json")
    assert json.loads(bulk.output)["done"] == ["mine"], bulk.output
    with Engine.open(store_url) as engine:
        assert [(i.id, i.version) for i in engine.list(tenant="other")] == before
        assert [d.message_id for d in engine.dead_letters(tenant="other")] == [message_id]
