"""A webhook delivery's deadline: one attempt ends by it, whatever the endpoint does, and is
then a failed attempt like any other; the deadline is kept below the outbox lease.

The endpoint is a real socket on loopback, served by a thread, that can send its answer a
byte at a time or stream a body without end.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import ConfigError
from statewright.runtime import Worker
from statewright.runtime.webhooks import Webhook
from statewright.store.records import OutboxRecord
from statewright.testing import VirtualClock

SECRET = "s3cr3t"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
NOTIFY = {
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
SQLITE = pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)


class Endpoint:
    """A loopback HTTP endpoint: it reads each request whole, then answers as `mode` says:
    "answer" at once, "drip" one byte every `gap_s` (a complete 200 in the end), or "flood"
    a 200 whose body never ends (`sent` counts the body's bytes that went out)."""

    def __init__(self) -> None:
        self.mode = "answer"
        self.gap_s = 0.1
        self.requests = 0
        self.sent = 0
        #: Called as each request has been read (before the answer).
        self.on_request: Callable[[], None] = lambda: None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                self._read_request(connection)
                self.requests += 1
                self.on_request()
                getattr(self, f"_{self.mode}")(connection)
            except OSError:
                pass  # the client went away: what the deadline does

    def _read_request(self, connection: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)

    def _answer(self, connection: socket.socket) -> None:
        connection.sendall(ANSWER)

    def _drip(self, connection: socket.socket) -> None:
        for index in range(len(ANSWER)):
            if self._stop.wait(self.gap_s):
                return
            connection.sendall(ANSWER[index : index + 1])

    def _flood(self, connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
        chunk = b"x" * 65536
        while self.sent < 64 * 1024 * 1024 and not self._stop.is_set():
            connection.sendall(chunk)
            self.sent += len(chunk)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    running = Endpoint()
    yield running
    running.close()


def message_of(engine: Engine, instance_id: str) -> OutboxRecord:
    (record,) = engine.store.outbox("default", instance_id)
    return record


@pytest.mark.slow
@SQLITE
@pytest.mark.parametrize("keepalive_s", [4, 0], ids=["kept", "per-delivery"])
def test_an_answer_dripped_a_byte_at_a_time_is_cut_at_the_deadline_and_retried(
    store_url: str, endpoint: Endpoint, keepalive_s: float
) -> None:
    # Each byte comes well within any per-read timeout; the whole answer would take ~6 s.
    endpoint.mode = "drip"
    clock = VirtualClock(1_700_000_000_000)
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(Machine.from_config(NOTIFY))
        worker = Worker(engine, outbox_lease_ms=2_000)
        worker.webhook("*", endpoint.url, SECRET, deadline_s=0.5, keepalive_s=keepalive_s)
        engine.start("notify", instance_id="n-1")
        engine.send("n-1", "GO")

        started = time.monotonic()
        assert worker.run_once() == 0
        took = time.monotonic() - started
        assert 0.5 <= took < 1.5, took
        record = message_of(engine, "n-1")
        assert (record.status, record.attempts) == ("pending", 1)
        assert record.last_error == (
            f"WebhookError: {endpoint.url} did not answer within the delivery deadline of "
            "0.5 s; if it needs longer, raise the webhook's deadline_s "
            "(Worker.webhook(..., deadline_s=...), kept below the outbox lease)"
        )
        # Retried with backoff, like any failed attempt: not before its time.
        assert record.next_attempt_at > clock.now() + 2_000
        endpoint.mode = "answer"
        assert worker.run_once() == 0
        assert endpoint.requests == 1

        clock.advance(record.next_attempt_at - clock.now())
        assert worker.run_once() == 1
        record = message_of(engine, "n-1")
        assert (record.status, record.attempts) == ("delivered", 2)
    assert endpoint.requests == 2


@pytest.mark.slow
@SQLITE
def test_the_answer_body_is_never_read(store_url: str, endpoint: Endpoint) -> None:
    endpoint.mode = "flood"  # a 1 GiB body, of which it sends up to 64 MiB
    with Engine.open(store_url, clock=VirtualClock(1_700_000_000_000)) as engine:
        engine.register(Machine.from_config(NOTIFY))
        worker = Worker(engine)
        worker.webhook("*", endpoint.url, SECRET, deadline_s=5)
        engine.start("notify", instance_id="n-1")
        engine.send("n-1", "GO")
        assert worker.run_once() == 1
        assert message_of(engine, "n-1").status == "delivered"
    # What the socket buffers took before the connection closed, not the body.
    time.sleep(0.2)
    assert endpoint.sent < 16 * 1024 * 1024, endpoint.sent


@SQLITE
def test_a_message_after_a_slow_delivery_is_claimed_at_its_turn_with_a_whole_lease(
    store_url: str, endpoint: Endpoint
) -> None:
    clock = VirtualClock(1_700_000_000_000)
    # Each delivery takes 600 ms of the 1 s lease: a claim of both at once would leave the
    # second 400 ms, under its deadline; claimed at its turn, it has the whole lease.
    endpoint.on_request = lambda: clock.advance(600)
    with Engine.open(store_url, clock=clock) as engine:
        engine.register(Machine.from_config(NOTIFY))
        worker = Worker(engine, outbox_lease_ms=1_000)
        worker.webhook("*", endpoint.url, SECRET, deadline_s=0.5)
        for instance_id in ("n-1", "n-2"):
            engine.start("notify", instance_id=instance_id)
            engine.send(instance_id, "GO")

        assert worker.outbox.deliver_due(engine.store, clock.now(), 64) == 2
        assert endpoint.requests == 2
        for instance_id in ("n-1", "n-2"):
            message = message_of(engine, instance_id)
            assert (message.status, message.attempts, message.last_error) == ("delivered", 1, None)


@SQLITE
def test_a_deadline_not_shorter_than_the_outbox_lease_is_refused(store_url: str) -> None:
    with Engine.open(store_url) as engine:
        worker = Worker(engine, outbox_lease_ms=10_000)
        url = "https://user:pass@hooks.example/in?token=t"
        with pytest.raises(ConfigError) as refused:
            worker.webhook("order.*", url, SECRET)  # the default deadline, 10 s
        assert str(refused.value) == (
            "Webhook(https://hooks.example/in?…, deadline_s=10) for 'order.*': its deadline "
            "(10 s) is not shorter than the outbox lease (10 s: the worker's outbox_lease_ms, "
            "--outbox-lease), so another worker could deliver a message while it still runs; "
            "give it a shorter deadline_s, or a longer outbox lease"
        )
        with pytest.raises(ConfigError, match="deadline"):
            worker.listen("*", Webhook(url, SECRET, deadline_s=12))
        assert not worker.outbox.active  # nothing was registered

        worker.webhook("order.*", url, SECRET, deadline_s=9.5)
        assert worker.outbox.patterns == ["order.*"]


@pytest.mark.parametrize("deadline_s", [0, -1, float("nan"), float("inf"), "10", True])
def test_a_deadline_that_is_not_a_positive_number_of_seconds_is_refused(
    deadline_s: object,
) -> None:
    with pytest.raises(ConfigError) as refused:
        Webhook("https://user:pass@hooks.example/in", SECRET, deadline_s=deadline_s)  # type: ignore[arg-type]
    assert str(refused.value) == (
        f"webhook https://hooks.example/in: deadline_s must be a number of seconds above 0, "
        f"not {deadline_s!r}; the default is 10"
    )
