"""A worker whose host clock is off the PostgreSQL server's: refused at start (nothing
claimed), logged while it runs; nothing to compare on SQLite, whose processes share a host."""

from __future__ import annotations

import logging

import pytest

from statewright import StoreError
from statewright.engine import Engine
from statewright.engine.clock import SystemClock
from statewright.runtime import Worker
from statewright.runtime.clock_skew import ClockWatch, skew_ms


class OffClock(SystemClock):
    """This host's clock, off by `offset_ms`."""

    def __init__(self, offset_ms: int) -> None:
        self.offset_ms = offset_ms

    def now(self) -> int:
        return super().now() + self.offset_ms


def test_a_worker_a_minute_ahead_of_postgresql_is_refused_at_start(postgres_url: str) -> None:
    with Engine.open(postgres_url, clock=OffClock(60_000)) as engine:
        engine.store.migrate()
        with pytest.raises(StoreError) as refused:
            Worker(engine).check()
    message = str(refused.value)
    assert "this host's clock is 60.0 s ahead of the database server's" in message
    assert "sync this host's clock (NTP, chrony)" in message


@pytest.mark.parametrize("offset_ms", [0, 500, -500])
def test_clocks_close_together_pass(postgres_url: str, offset_ms: int) -> None:
    with Engine.open(postgres_url, clock=OffClock(offset_ms)) as engine:
        engine.store.migrate()
        Worker(engine).check()
        skew = skew_ms(engine)
        assert skew is not None and abs(skew - offset_ms) < 300


def test_sqlite_has_no_other_clock(tmp_path: object) -> None:
    with Engine.open(f"sqlite:///{tmp_path}/s.db", clock=OffClock(60_000)) as engine:
        engine.store.migrate()
        Worker(engine).check()
        assert skew_ms(engine) is None


def test_a_drift_while_running_is_logged_once_and_its_end_once(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = OffClock(0)
    with Engine.open(postgres_url, clock=clock) as engine:
        engine.store.migrate()
        watch = ClockWatch(engine)
        with caplog.at_level(logging.WARNING, logger="statewright.worker"):
            watch.look()
            clock.offset_ms = -5_000
            watch.look()
            watch.look()
            clock.offset_ms = 0
            watch.look()
    kinds = [(r.levelname, getattr(r, "kind", None)) for r in caplog.records]
    assert kinds == [("ERROR", "clock_skew"), ("WARNING", "clock_skew_ended")]
    assert "5.0 s behind the database server's" in caplog.records[0].getMessage()
