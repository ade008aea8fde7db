"""A worker process for test_poison_outbox.py, whose listener SIGKILLs it on a poison message.

    python poison_outbox_child.py URL LOG

The worker delivers `note.*` messages to `record`, which writes a line to LOG as each call
starts (`start <pid> <message id> <attempt>`) and, for every instance but a `poison-` one,
ends (`end ...`); for a `poison-` instance it kills its own process with SIGKILL instead, as
a segfault in a C extension, the OOM killer or a lost host would. The worker logs to stderr.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.runtime.outbox import OutboxMessage
from statewright.runtime.retry import RetryPolicy

#: The worker's settings (test_poison_outbox.py checks the dead letter against them).
OUTBOX_LEASE_MS = 500
POLICY = RetryPolicy(attempts=3, backoff="fixed", delay_ms=50, jitter=False, timeout_ms=400)

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


def _write(log: str, line: str) -> None:
    with open(log, "a") as out:
        out.write(line + "\n")


def main(url: str, log: str) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    pid = os.getpid()

    def record(message: OutboxMessage) -> None:
        _write(log, f"start {pid} {message.id} {message.attempt}")
        if message.instance_id.startswith("poison-"):
            os.kill(pid, signal.SIGKILL)
        _write(log, f"end {pid} {message.id} {message.attempt}")

    with Engine.open(url) as engine:
        engine.register(Machine.from_config(NOTE))
        worker = Worker(engine, outbox_lease_ms=OUTBOX_LEASE_MS)
        worker.outbox.policy = POLICY
        worker.listen("note.*", record)
        worker.run(poll_ms=20)


if __name__ == "__main__":
    main(*sys.argv[1:])
