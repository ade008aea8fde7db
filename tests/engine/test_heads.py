"""The engine's cache of instance heads: a send after a commit skips the read, and a head
another process moved meanwhile is never used to decide (the send is decided again on the
stored instance)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests_support import order_machine

from statewright.engine import Engine
from statewright.errors import EventNotAccepted, VersionConflict
from statewright.store.protocol import Store
from statewright.testing import VirtualClock


@pytest.fixture
def other(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    """A second engine on the same database: another process."""
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(order_machine())
        yield opened


def count_reads(store: Store) -> list[str]:
    reads: list[str] = []
    load = store.load_instance

    def counting(tenant: str, instance_id: str):  # type: ignore[no-untyped-def]
        reads.append(instance_id)
        return load(tenant, instance_id)

    store.load_instance = counting  # type: ignore[method-assign]
    return reads


def test_a_send_after_a_commit_skips_the_read(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    reads = count_reads(engine.store)

    engine.send("o-1", {"type": "NOTE", "text": "a"})
    engine.send("o-1", {"type": "NOTE", "text": "b"})

    assert reads == []
    assert engine.get("o-1").context["note"] == "b"  # type: ignore[index]
    assert engine.verify("o-1").ok


def test_a_head_moved_by_another_process_is_decided_again(engine: Engine, other: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    other.send("o-1", {"type": "NOTE", "text": "theirs"})  # engine's cached head is stale

    entry = engine.send("o-1", {"type": "APPROVE", "by": "ann"})

    assert (entry.seq, entry.to_value) == (3, "paying")
    assert [e.seq for e in engine.history("o-1")] == [1, 2, 3]
    assert engine.get("o-1").context["note"] == "theirs"  # type: ignore[index]
    assert engine.verify("o-1").ok


def test_a_stale_head_never_refuses_an_event_the_stored_state_accepts(
    engine: Engine, other: Engine
) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    engine.send("o-1", {"type": "APPROVE", "by": "ann"})  # cached: paying
    other.finish_step(other.store.steps("default", "o-1")[0], output={"ok": True})
    other.start("order", input={"amount": 5}, instance_id="o-2")

    # o-1 is shipped (final) now; engine's head still says paying, where RETRY is refused
    # too: the refusal must name the stored state.
    with pytest.raises(EventNotAccepted, match="in shipped"):
        engine.send("o-1", "RETRY")


def test_an_expected_version_is_checked_against_the_stored_instance(
    engine: Engine, other: Engine
) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    other.send("o-1", {"type": "NOTE", "text": "theirs"})

    with pytest.raises(VersionConflict, match="expected version 1, found 2"):
        engine.send("o-1", {"type": "NOTE", "text": "mine"}, expected_version=1)
    entry = engine.send("o-1", {"type": "NOTE", "text": "mine"}, expected_version=2)
    assert entry.seq == 3


def test_no_cache_reads_every_time(store_url: str, clock: VirtualClock) -> None:
    with Engine.open(store_url, clock=clock, head_cache=0) as engine:
        engine.register(order_machine())
        engine.start("order", input={"amount": 5}, instance_id="o-1")
        reads = count_reads(engine.store)
        engine.send("o-1", {"type": "NOTE", "text": "a"})
        assert reads == ["o-1"]


def test_start_returns_the_instance_as_stored(engine: Engine, clock: VirtualClock) -> None:
    for instance_id, amount in (("o-1", 5), ("o-2", 7)):
        started = engine.start("order", input={"amount": amount}, instance_id=instance_id)
        stored = engine.get(instance_id)
        assert started.snapshot.to_json() == stored.snapshot.to_json()
        assert (started.version, started.runtime_status) == (stored.version, stored.runtime_status)
        assert (started.created_at, started.updated_at) == (stored.created_at, stored.updated_at)
        assert started.runtime_status == "waiting"  # the 48h timer
