"""A schedule's tick claimed, taken over and renewed, on both stores."""

from __future__ import annotations

from statewright.store.protocol import Store

TICK = 1_700_000_100_000
NOW = 1_700_000_000_000
LEASE = 60_000


def test_a_tick_is_renewed_only_by_its_current_holder(store: Store) -> None:
    assert store.claim_tick("nightly", TICK, NOW, LEASE) == 1
    assert store.claim_tick("nightly", TICK, NOW + 1, LEASE) is None  # held

    assert store.renew_tick("nightly", TICK, 1, NOW + 30_000, LEASE) is True
    # The renewal moved the lease: where the first lease ended, nobody takes it over.
    assert store.claim_tick("nightly", TICK, NOW + LEASE, LEASE) is None
    (tick,) = store.last_ticks(["nightly"])
    assert tick.lease_until == NOW + 30_000 + LEASE

    later = NOW + 30_000 + LEASE
    assert store.claim_tick("nightly", TICK, later, LEASE) == 2  # the lease ran out
    assert store.renew_tick("nightly", TICK, 1, later + 1, LEASE) is False  # not its own
    assert store.renew_tick("nightly", TICK, 2, later + 1, LEASE) is True

    store.finish_tick("nightly", TICK)
    assert store.renew_tick("nightly", TICK, 2, later + 2, LEASE) is False  # done
    (tick,) = store.last_ticks(["nightly"])
    assert (tick.status, tick.claims) == ("done", 2)
