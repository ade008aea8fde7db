"""A worker process for test_delivery_kill.py, SIGKILLed by it at random points.

    python kill_delivery_child.py outbox URL LOG WEBHOOK_URL  # a Python listener + a webhook
    python kill_delivery_child.py cron URL LOG START_MS        # a cron schedule, 60x fast

`outbox`: the worker delivers `note.*` messages to `record` (a Python listener without a
declared deadline: its claim is renewed while it runs, and the outbox policy's short timeout
is its deadline) and to the test's webhook receiver. `record` writes a line to LOG as each
call starts and ends; for a `hang-` instance's first attempt it sleeps far past its deadline,
so that the worker abandons the call (and is often killed while it still runs).

`cron`: the worker runs a schedule ticking every minute on a clock 60 times faster than the
wall clock (every worker of the test shares START_MS, so they agree on the time): a tick a
second, and the tick lease (5 min) ends after 5 s. Each tick sends TICK to every `box`.
"""

from __future__ import annotations

import os
import sys
import time

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.runtime.retry import RetryPolicy

#: The outbox worker's settings (test_delivery_kill.py checks the dead letters against them).
OUTBOX_LEASE_MS = 1_500
LISTENER_TIMEOUT_MS = 400
WEBHOOK_DEADLINE_S = 0.8
POLICY = RetryPolicy(
    attempts=4, backoff="fixed", delay_ms=100, jitter=False, timeout_ms=LISTENER_TIMEOUT_MS
)
HANG_S = 2.5
SECRET = "kill-test-secret"
SPEEDUP = 60

NOTE = {
    "id": "note",
    "initial": "sent",
    "states": {
        "sent": {
            "type": "final",
            "entry": [{"type": "emit", "params": {"event": {"type": "note.sent"}}}],
        }
    },
}

BOX = {
    "id": "box",
    "initial": "open",
    "context": {"ticks": 0},
    "states": {
        "open": {
            "on": {
                "TICK": {
                    "actions": [
                        {"type": "assign", "params": {"ticks": {"$expr": "context.ticks + 1"}}}
                    ]
                }
            }
        }
    },
}

SCHEDULE = {
    "name": "every",
    "cron": "* * * * *",
    "action": {"event": "TICK", "where": {"definition": "box"}},
    # Every tick runs, however late (the default runs only the latest missed one): the
    # test counts each tick exactly once through the kills.
    "catchUp": "all",
}


def _write(log: str, line: str) -> None:
    with open(log, "a") as out:
        out.write(line + "\n")


def outbox(url: str, log: str, webhook_url: str) -> None:
    pid = os.getpid()

    def record(message: object) -> None:
        message_id = message.id  # type: ignore[attr-defined]
        attempt = message.attempt  # type: ignore[attr-defined]
        _write(log, f"start {pid} {message_id} {attempt}")
        if message.instance_id.startswith("hang-") and attempt == 1:  # type: ignore[attr-defined]
            time.sleep(HANG_S)  # far past the deadline: abandoned, still running
            _write(log, f"hang-end {pid} {message_id} {attempt}")
            return
        time.sleep(0.005)
        _write(log, f"end {pid} {message_id} {attempt}")

    with Engine.open(url) as engine:
        engine.register(Machine.from_config(NOTE))
        worker = Worker(engine, outbox_lease_ms=OUTBOX_LEASE_MS, batch=8)
        worker.outbox.policy = POLICY
        worker.listen("note.*", record)
        worker.webhook("note.*", webhook_url, SECRET, deadline_s=WEBHOOK_DEADLINE_S)
        worker.run(poll_ms=20)


class FastClock:
    """The wall clock, SPEEDUP times faster from `start_ms` on."""

    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms

    def now(self) -> int:
        real = time.time_ns() // 1_000_000
        return self.start_ms + (real - self.start_ms) * SPEEDUP


def cron(url: str, start_ms: int) -> None:
    with Engine.open(url, clock=FastClock(start_ms)) as engine:
        engine.register(Machine.from_config(BOX))
        worker = Worker(engine)
        worker.schedule(SCHEDULE)
        worker.run(poll_ms=20)


if __name__ == "__main__":
    mode, url, log, extra = sys.argv[1:]
    if mode == "outbox":
        outbox(url, log, extra)
    else:
        cron(url, int(extra))
