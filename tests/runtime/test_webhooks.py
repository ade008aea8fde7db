"""Webhooks: signed POSTs to a real local HTTP server, retried until it answers 2xx."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.runtime.webhooks import sign, verify_signature
from statewright.store.records import OutboxRecord
from statewright.testing import VirtualClock

SECRET = "s3cr3t"
NOTIFY = {
    "id": "notify",
    "initial": "a",
    "states": {
        "a": {
            "on": {
                "GO": {
                    "target": "b",
                    "actions": [{"type": "emit", "params": {"event": {"type": "done", "n": 1}}}],
                }
            }
        },
        "b": {},
    },
}


class Receiver:
    """A local endpoint that records requests and answers with the queued statuses."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        #: The Location header of a redirect answer (a 3xx status).
        self.location: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                if receiver.location is not None:
                    self.send_header("Location", receiver.location)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def test_messages_are_posted_signed_and_retried_until_accepted(
    store_url: str, receiver: Receiver
) -> None:
    clock = VirtualClock(1_700_000_000_000)
    receiver.statuses = [503]
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(Machine.from_config(NOTIFY))
        worker = Worker(engine)
        worker.webhook("*", receiver.url, SECRET)
        engine.start("notify", instance_id="n-1")
        engine.send("n-1", "GO")

        worker.run_once()
        (record,) = engine.store.outbox("default", "n-1")
        assert (record.status, record.last_error) == (
            "pending",
            f"WebhookError: {receiver.url} answered 503",
        )
        clock.advance("10s")
        worker.run_once()
        (record,) = engine.store.outbox("default", "n-1")
        assert record.status == "delivered"

    assert len(receiver.requests) == 2
    (_, first_body), (headers, body) = receiver.requests
    assert body == first_body
    assert headers["X-Statewright-Message-Id"] == "default/n-1/2/0"
    assert verify_signature(
        SECRET, headers["X-Statewright-Timestamp"], body, headers["X-Statewright-Signature"]
    )
    assert not verify_signature(
        "wrong", headers["X-Statewright-Timestamp"], body, headers["X-Statewright-Signature"]
    )
    assert json.loads(body) == {
        "id": "default/n-1/2/0",
        "tenant": "default",
        "instance_id": "n-1",
        "version": 2,
        "event": {"type": "done", "n": 1},
    }


def test_a_signature_is_refused_outside_the_replay_window_or_malformed() -> None:
    body = b'{"id":"default/n-1/2/0"}'
    sent = "1700000000"
    signature = sign(SECRET, sent, body)
    assert verify_signature(SECRET, sent, body, signature, now=1_700_000_299)
    # Captured and sent again later: refused, though the signature is right.
    assert not verify_signature(SECRET, sent, body, signature, now=1_700_000_301)
    assert not verify_signature(SECRET, sent, body, signature, now=1_699_999_000)
    assert verify_signature(SECRET, sent, body, signature, tolerance_s=None, now=0)
    # A hostile header is a refusal, never an exception in the receiver.
    assert not verify_signature(SECRET, sent, body, "sha256=\u00e9", now=1_700_000_000)
    assert not verify_signature(SECRET, "17e8", body, signature, now=1_700_000_000)
    assert not verify_signature(SECRET, sent, body, signature[:-1], now=1_700_000_000)


def first_attempt(store_url: str, url: str) -> OutboxRecord:
    """An instance's one message, as it stands after one delivery to the webhook `url`."""
    with Engine.open(store_url, clock=VirtualClock(1_700_000_000_000)) as engine:
        engine.register(Machine.from_config(NOTIFY))
        worker = Worker(engine)
        worker.webhook("*", url, SECRET)
        engine.start("notify", instance_id="n-1")
        engine.send("n-1", "GO")
        worker.run_once()
        (record,) = engine.store.outbox("default", "n-1")
    return record


def test_a_redirect_is_not_followed_and_fails_the_delivery(
    store_url: str, receiver: Receiver
) -> None:
    elsewhere = Receiver()
    try:
        receiver.statuses = [307]
        receiver.location = elsewhere.url
        record = first_attempt(store_url, receiver.url)
        assert record.status == "pending"
        assert record.last_error == f"WebhookError: {receiver.url} answered 307"
        assert len(receiver.requests) == 1 and elsewhere.requests == []
    finally:
        elsewhere.close()


def test_a_failed_delivery_names_the_url_without_its_secrets(
    store_url: str, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://hook-user:hook-pass@127.0.0.1:{port}/hook?token=hook-token"
    record = first_attempt(store_url, url)
    assert len(receiver.requests) == 1
    assert record.last_error == f"WebhookError: http://127.0.0.1:{port}/hook?… answered 500"
    assert "hook-pass" not in record.last_error and "hook-token" not in record.last_error


def test_an_endpoint_that_cannot_be_reached_fails_the_delivery_naming_the_url(
    store_url: str,
) -> None:
    with socket.socket() as placeholder:  # a port nothing listens on once it is closed
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    record = first_attempt(store_url, f"http://user:pass@127.0.0.1:{port}/hook?token=t")
    assert (record.status, record.attempts) == ("pending", 1)
    assert record.last_error is not None
    assert record.last_error.startswith(
        f"WebhookError: http://127.0.0.1:{port}/hook?… could not be reached: ConnectError: "
    )
    assert "pass" not in record.last_error and "token" not in record.last_error
