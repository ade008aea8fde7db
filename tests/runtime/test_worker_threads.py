"""Closing a worker (`Worker.close`, the end of `run`, `Harness.close`) stops and joins the
threads its deliveries started at once: the outbox claim keeper (`statewright-outbox-claims`),
the listener thread (`statewright-listener`), the webhook pool's sweeper
(`statewright-webhook-pool`) and the HTTP deadlines' clock (`statewright-http-deadlines`),
rather than leaving them to end by themselves seconds later."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from statewright import Engine, Machine, Worker
from statewright.runtime import http_deadline
from statewright.runtime.outbox import OutboxMessage
from statewright.testing import Harness

NOTIFY = Machine.from_config(
    {
        "id": "notify",
        "initial": "a",
        "states": {
            "a": {
                "entry": [{"type": "emit", "params": {"event": {"type": "note.made"}}}],
                "on": {"GO": "b"},
            },
            "b": {},
        },
    }
)
WATCHED = (
    "statewright-outbox-claims",
    "statewright-listener",
    "statewright-webhook-pool",
    "statewright-http-deadlines",
)


class Receiver:
    """A local endpoint that answers every POST 200, keeping its connections alive."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
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


@pytest.fixture
def before() -> set[threading.Thread]:
    """The threads alive at the start, the HTTP deadlines' clock (one per process, maybe
    left by another test's webhook) ended first."""
    http_deadline.stop_idle()
    return set(threading.enumerate())


def started_since(before: set[threading.Thread]) -> list[str]:
    """The names of the watched threads started since `before` and still alive."""
    return sorted(
        t.name
        for t in threading.enumerate()
        if t.name in WATCHED and t not in before and t.is_alive()
    )


def noted(message: OutboxMessage) -> None:
    pass


def test_closing_a_worker_joins_its_delivery_threads(
    tmp_path: Path, receiver: Receiver, before: set[threading.Thread]
) -> None:
    engine = Engine.open(f"sqlite:///{tmp_path / 'app.db'}")
    engine.register(NOTIFY)
    worker = Worker(engine)
    worker.listen("note.*", noted)
    worker.webhook("note.*", receiver.url, "s3cr3t")
    engine.start("notify", instance_id="n-1")
    assert worker.run_once() == 1
    assert started_since(before) == sorted(WATCHED)  # all four were started

    started = time.monotonic()
    worker.close()
    engine.close()

    assert started_since(before) == []
    assert time.monotonic() - started < 2
    # Closed, it still works, with new threads, until closed again.
    with Engine.open(f"sqlite:///{tmp_path / 'app.db'}") as engine, Worker(engine) as worker:
        worker.listen("note.*", noted)
        worker.webhook("note.*", receiver.url, "s3cr3t")
        engine.start("notify", instance_id="n-2")
        assert worker.run_once() == 1
    assert started_since(before) == []


def test_the_end_of_run_joins_its_delivery_threads(
    tmp_path: Path, receiver: Receiver, before: set[threading.Thread]
) -> None:
    with Engine.open(f"sqlite:///{tmp_path / 'app.db'}") as engine:
        engine.register(NOTIFY)
        worker = Worker(engine)
        delivered = threading.Event()
        worker.listen("note.*", lambda message: delivered.set())
        worker.webhook("note.*", receiver.url, "s3cr3t")
        engine.start("notify", instance_id="n-1")
        stop = threading.Event()
        running = threading.Thread(target=worker.run, kwargs={"stop": stop, "poll_ms": 50})
        running.start()
        assert delivered.wait(10)
        time.sleep(0.1)  # its webhook's turn
        stop.set()
        running.join(10)
        assert not running.is_alive()
        assert started_since(before) == []


def test_harnesses_closed_leave_no_threads_behind(before: set[threading.Thread]) -> None:
    for n in range(30):
        with Harness(NOTIFY) as harness:
            harness.listen("note.*", noted)
            harness.start("notify", instance_id=f"n-{n}")
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []
