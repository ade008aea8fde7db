"""A user's program over the public API, checked by `mypy --strict` (test_public_types.py):
the types it pins are the ones the docs promise. It is type-checked, never run.

A call the type checker must refuse carries `# type: ignore[code]`: `--strict` reports an
ignore that is not needed (`warn_unused_ignores`), so such a call, once accepted, fails the
test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict, assert_type

from statewright import AuditEntry, Effect, Engine, Machine, Snapshot, Worker
from statewright.engine import Instance, SendRequest
from statewright.testing import Actor, Harness


class Approve(TypedDict):
    type: str
    by: str


def drive(machine: Machine, engine: Engine, harness: Harness) -> None:
    # The README's unpacking of a macrostep.
    snapshot, effects = machine.initial_transition(input={"orderId": "A-1", "amount": 2500})
    assert_type(snapshot, Snapshot)
    assert_type(effects, tuple[Effect, ...])
    snapshot, effects = machine.transition(snapshot, {"type": "APPROVE", "by": "ann"})

    # Events are read-only mappings everywhere: a dict[str, str], a TypedDict.
    event = {"type": "APPROVE", "by": "ann"}
    typed: Approve = {"type": "APPROVE", "by": "ann"}
    machine.transition(snapshot, event)
    Actor(machine).start().send(typed)
    assert_type(engine.send("A-1", event), AuditEntry)
    engine.send("A-1", typed)
    engine.bulk_send(event, definition_id="order")
    harness.send("A-1", typed)
    # The Harness's start and send take Engine.start's and Engine.send's keywords, checked.
    assert_type(harness.start("order", instance_id="A-1", input={"amount": 1}), Instance)
    assert_type(harness.send("A-1", typed, actor="ann", expected_version=2), AuditEntry)
    harness.start("order", instance_id=5)  # type: ignore[arg-type]
    harness.send("A-1", "APPROVE", actorr="typo")  # type: ignore[call-arg]
    engine.send_many([SendRequest("A-1", event), SendRequest("A-2", "APPROVE")])
    Worker(engine).run_once()

    # An instance's context is a read-only mapping, as a snapshot's: indexable as it is.
    assert_type(engine.get("A-1").context, Mapping[str, object])
    amount = engine.get("A-1").context["amount"]
    assert_type(amount, object)
    engine.get("A-1").context["amount"] = 3  # type: ignore[index]


async def drive_async(engine: Engine) -> None:
    # `send_async` answers as `send` does, awaited; events as read-only mappings.
    typed: Approve = {"type": "APPROVE", "by": "ann"}
    assert_type(await engine.send_async("A-1", typed, expected_version=3), AuditEntry)
    await engine.send_async("A-2", "APPROVE", idempotency_key="req-77")
