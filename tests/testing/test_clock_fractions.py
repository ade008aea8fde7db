"""Fractions of a millisecond add up on the virtual clock, and through the Harness."""

from __future__ import annotations

import pytest

from statewright import Machine
from statewright.testing import Actor, Harness, VirtualClock, to_milliseconds

TICK = Machine.from_config(
    {"id": "tick", "initial": "a", "states": {"a": {"after": {"1s": "b"}}, "b": {}}}
)


@pytest.mark.parametrize(
    ("step", "times", "now"), [(0.5, 10, 5), (1.5, 10, 15), (0.1, 10, 1), ("0.25", 8, 2)]
)
def test_fractions_of_a_millisecond_add_up(step: float | str, times: int, now: int) -> None:
    clock = VirtualClock(0)
    for _ in range(times):
        clock.advance(step)
    assert clock.now() == now


def test_a_callback_fires_once_the_fractions_reach_its_due_time() -> None:
    clock = VirtualClock(0)
    fired: list[int] = []
    clock.set_timeout(lambda: fired.append(clock.now()), 1)
    clock.advance(0.5)
    assert fired == []
    clock.advance(0.5)
    assert fired == [1]


def test_an_actor_on_half_milliseconds_reaches_its_timer() -> None:
    actor = Actor(TICK).start()
    for _ in range(2000):
        actor.advance(0.5)
    assert actor.snapshot.value == "b"


def test_the_harness_moves_time_by_half_milliseconds() -> None:
    with Harness(TICK) as h:
        start = h.clock.now()
        h.start("tick", instance_id="t-1")
        for _ in range(1999):
            h.advance(0.5)
        assert h.clock.now() - start == 999
        h.assert_state("t-1", "a")
        h.advance(1.5)  # past the due time: the timer fires at it, the rest still counts
        h.assert_state("t-1", "b")
        assert h.clock.now() - start == 1001
        h.advance(0.5)
        assert h.clock.now() - start == 1001
        h.advance(0.5)
        assert h.clock.now() - start == 1002


def test_durations_are_whole_milliseconds_and_nonsense_is_refused() -> None:
    assert to_milliseconds("1.5s") == 1500
    assert to_milliseconds(2.4) == 2
    for wrong in (float("nan"), float("inf"), "nan", -0.5):
        with pytest.raises(ValueError):
            VirtualClock(0).advance(wrong)
