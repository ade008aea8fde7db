"""A worker's clock against its database server's.

Leases and due times are compared with each worker's own clock (`engine.clock`): a worker
whose host runs ahead sees other workers' leases expire early, takes over steps they are
still running (the step then runs twice at once) and fires timers before they are due; one
behind takes over the work of dead workers late. Hosts kept in sync (NTP, chrony) differ by
milliseconds. A PostgreSQL store is on another host: the worker compares its clock with the
server's when it starts and with each heartbeat (`skew_ms`). At start, a difference of
`REFUSE_MS` or more stops it (a `StoreError`, exit status 5) before it claims anything;
while it runs, one ERROR line when the difference reaches that (and one line when it is back
under it). A SQLite store shares this host's clock: nothing to compare.
"""

from __future__ import annotations

import logging

from statewright.engine import Engine
from statewright.engine.clock import SystemClock
from statewright.errors import StoreError
from statewright.store.url import redact_url

__all__ = ["REFUSE_MS", "ClockWatch", "check_clock", "skew_ms"]

#: The difference between a worker's clock and the database server's that stops it.
REFUSE_MS = 2_000

log = logging.getLogger("statewright.worker")


def skew_ms(engine: Engine) -> int | None:
    """How far this host's clock is ahead of the store's server (negative: behind), in ms,
    the round trip halved; None when there is nothing to compare (SQLite, a test clock)."""
    if not isinstance(engine.clock, SystemClock):
        return None
    before = engine.clock.now()
    server = engine.store.server_clock_ms()
    after = engine.clock.now()
    if server is None:
        return None
    return (before + after) // 2 - server


def check_clock(engine: Engine) -> None:
    """Refuse to run on a host whose clock is `REFUSE_MS` or more off the server's.

    Raises:
        StoreError: naming the difference and the fix.
        StoreUnavailable: the server cannot be reached (as any read).
    """
    skew = skew_ms(engine)
    if skew is not None and abs(skew) >= REFUSE_MS:
        raise StoreError(_described(engine, skew) + "; sync this host's clock (NTP, chrony), "
                         "then start the worker again")  # fmt: skip


class ClockWatch:
    """Compares the clocks at each heartbeat; logs when the difference crosses the limit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.off = False

    def look(self) -> None:
        """Compare once; log an ERROR line when the clocks drift apart, one when they agree
        again. Errors of the store are the heartbeat's to report, not this."""
        try:
            skew = skew_ms(self.engine)
        except StoreError:
            return
        if skew is None:
            return
        if abs(skew) >= REFUSE_MS and not self.off:
            self.off = True
            log.error(
                "%s; sync this host's clock (NTP, chrony)",
                _described(self.engine, skew),
                extra={"kind": "clock_skew", "skew_ms": skew},
            )
        elif abs(skew) < REFUSE_MS and self.off:
            self.off = False
            log.warning(
                "this host's clock agrees with the database server's again (%+d ms)",
                skew,
                extra={"kind": "clock_skew_ended", "skew_ms": skew},
            )


def _described(engine: Engine, skew: int) -> str:
    way = "ahead of" if skew > 0 else "behind"
    return (
        f"this host's clock is {abs(skew) / 1000:.1f} s {way} the database server's "
        f"({redact_url(engine.store.url)}): leases and due times are measured on each worker's "
        "clock, so a worker ahead takes over steps other workers are still running and fires "
        "timers early, and one behind takes over a dead worker's work late"
    )
