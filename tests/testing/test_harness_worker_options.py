"""The Harness's worker takes the production worker's options and webhooks, and runs steps
one after the other unless told otherwise."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from statewright import Machine
from statewright.errors import ConfigError
from statewright.runtime import OutboxMessage
from statewright.runtime.webhooks import verify_signature
from statewright.testing import Harness

NOTIFY = Machine.from_config(
    {
        "id": "notify",
        "initial": "a",
        "states": {
            "a": {
                "on": {
                    "GO": {
                        "target": "b",
                        "actions": [{"type": "emit", "params": {"event": {"type": "done"}}}],
                    }
                }
            },
            "b": {},
        },
    }
)


def test_the_outbox_retry_policy_is_the_one_given() -> None:
    def down(message: OutboxMessage) -> None:
        raise ConnectionError("warehouse down")

    # The default policy makes 10 attempts over about 85 minutes; this one 2, 1 s apart.
    with Harness(NOTIFY, outbox_retry={"attempts": 2, "delay": "1s", "jitter": False}) as h:
        h.listen("done", down)
        h.start("notify", instance_id="n-1")
        h.send("n-1", "GO")
        h.advance("1s")
        h.assert_dead_lettered("n-1", "done")


def test_worker_options_out_of_range_are_refused_as_the_worker_refuses_them() -> None:
    with pytest.raises(ConfigError, match="concurrency"):
        Harness(NOTIFY, concurrency=0)
    with pytest.raises(ConfigError, match="outbox_retry"):
        Harness(NOTIFY, outbox_retry={"attempt": 2})


def _parallel_steps(log: list[str]) -> Machine:
    def slow(input: dict[str, object]) -> dict[str, object]:
        log.append(f"start {input['n']}")
        time.sleep(0.05)
        log.append(f"end {input['n']}")
        return {}

    regions = {
        f"r{n}": {
            "initial": "busy",
            "states": {
                "busy": {
                    "invoke": {
                        "id": f"s{n}",
                        "src": "slow",
                        "input": {"n": n},
                        "onDone": "idle",
                    }
                },
                "idle": {"type": "final"},
            },
        }
        for n in range(3)
    }
    return Machine.from_config(
        {"id": "par", "type": "parallel", "states": regions}, actors={"slow": slow}
    )


def test_steps_run_one_after_the_other_by_default() -> None:
    log: list[str] = []
    with Harness(_parallel_steps(log)) as h:
        h.start("par", instance_id="p-1")
        assert h.get("p-1").status == "done"
    assert log == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]


def test_concurrency_runs_steps_at_the_same_time_when_asked() -> None:
    log: list[str] = []
    with Harness(_parallel_steps(log), concurrency=3) as h:
        h.start("par", instance_id="p-1")
        assert h.get("p-1").status == "done"
    assert sorted(log[:3]) == ["start 0", "start 1", "start 2"]  # all three at once


class _Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    running = _Receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


def test_a_webhook_is_posted_signed(receiver: _Receiver) -> None:
    with Harness(NOTIFY) as h:
        h.webhook("done", receiver.url, "s3cr3t", deadline_s=5)
        h.start("notify", instance_id="n-1")
        h.send("n-1", "GO")
        h.assert_outbox_pending("n-1")
    ((headers, body),) = receiver.requests
    assert json.loads(body)["event"]["type"] == "done"
    assert verify_signature(
        "s3cr3t",
        headers["X-Statewright-Timestamp"],
        body,
        headers["X-Statewright-Signature"],
        tolerance_s=None,  # signed at virtual time
    )
