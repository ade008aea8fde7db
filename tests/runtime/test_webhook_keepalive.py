"""Webhook connections kept alive: deliveries to one endpoint share a connection, over HTTP
and HTTPS, without giving up the delivery's deadline, the bound on the answer's body, or a
delivery to an endpoint that closes idle connections; and none is left open.

The endpoint is a real HTTP/1.1 server on loopback (TLS with a self-signed certificate made
by `openssl`) that counts the connections it accepts and still has open.
"""

from __future__ import annotations

import gc
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import ConfigError
from statewright.runtime import Worker
from statewright.runtime.outbox import OutboxMessage
from statewright.runtime.webhooks import Webhook
from statewright.store.records import OutboxRecord
from statewright.testing import VirtualClock

SECRET = "s3cr3t"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
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


class Receiver:
    """A loopback HTTP/1.1 endpoint that serves requests one after the other on each
    connection, answering as `mode` says:

    - "keep": `OK`, keeping the connection open;
    - "close": `OK`, then it closes the connection (no `Connection: close` said);
    - "drop": `OK` to a connection's first request; a later one is read, then the
      connection closed without an answer (its idle close crossed the request);
    - "drip": `OK` one byte every 0.1 s;
    - "body": 200 with `body` (bytes) as its body, or chunked without end if None.

    An idle connection is closed after `idle_s` seconds (None: never). `accepted`, `open`,
    `requests` (answered or not) and `dropped` count; `sent` counts body bytes sent.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.mode = "keep"
        self.body: bytes | None = b""
        self.idle_s: float | None = None
        self.accepted = self.open = self.requests = self.dropped = self.sent = 0
        self._tls = tls
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}/hook"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def wait_until_closed(self, timeout_s: float = 2.0) -> int:
        """How many connections are still open once they all closed, or `timeout_s` passed."""
        until = time.monotonic() + timeout_s
        while self.open and time.monotonic() < until:
            time.sleep(0.01)
        return self.open

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self.open += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            if self._tls is not None:
                connection = self._tls.wrap_socket(connection, server_side=True)
            with connection:
                served = 0
                while self._read_request(connection):
                    with self._lock:
                        self.requests += 1
                    if self.mode == "drop" and served:
                        with self._lock:
                            self.dropped += 1
                        return
                    served += 1
                    if not self._answer(connection):
                        return
        except (OSError, ssl.SSLError):
            pass  # the client went away
        finally:
            with self._lock:
                self.open -= 1

    def _read_request(self, connection: socket.socket) -> bool:
        """Read one request whole; False at the end of the connection (or its idle time)."""
        connection.settimeout(self.idle_s)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return False
                data += chunk
                connection.settimeout(None)
        except TimeoutError:
            return False  # idle too long: closed
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)
        return True

    def _answer(self, connection: socket.socket) -> bool:
        """Answer as `mode` says; whether the connection may carry another request."""
        if self.mode == "drip":
            for index in range(len(OK)):
                if self._stop.wait(0.1):
                    return False
                connection.sendall(OK[index : index + 1])
            return True
        if self.mode != "body":
            connection.sendall(OK)
            return self.mode != "close"
        if self.body is not None:
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\n\r\n".encode()
            connection.sendall(head + self.body)
            self.sent += len(self.body)
            return True
        connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (4096, b"x" * 4096)
        while self.sent < 64 * 1024 * 1024 and not self._stop.is_set():
            connection.sendall(chunk)
            self.sent += 4096
        return False


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (its key beside it, as `key.pem`)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (scripts/test installs it)")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = str(folder / "key.pem"), str(folder / "cert.pem")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return folder / "cert.pem"


@pytest.fixture(params=["http", "https"])
def receiver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    tls = None
    if request.param == "https":
        certificate: Path = request.getfixturevalue("certificate")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(certificate, certificate.parent / "key.pem")
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the client trusts it
    running = Receiver(tls)
    yield running
    running.close()


def emit(engine: Engine, count: int) -> None:
    engine.register(Machine.from_config(NOTIFY))
    for index in range(count):
        engine.start("notify", instance_id=f"n-{index}")
        engine.send(f"n-{index}", "GO")


def messages(engine: Engine) -> list[OutboxRecord]:
    return [
        record for index in range(100) for record in engine.store.outbox("default", f"n-{index}")
    ]


def assert_delivered_at_first_attempt(engine: Engine, count: int) -> None:
    got = [(m.status, m.attempts, m.last_error) for m in messages(engine)]
    assert got == [("delivered", 1, None)] * count


@pytest.mark.slow
@SQLITE
def test_deliveries_to_one_endpoint_share_one_connection_closed_with_the_worker(
    store_url: str, receiver: Receiver
) -> None:
    with Engine.open(store_url, clock=VirtualClock(1_700_000_000_000)) as engine:
        emit(engine, 20)
        worker = Worker(engine)
        worker.webhook("*", receiver.url, SECRET)
        assert worker.run_once() == 20
        assert_delivered_at_first_attempt(engine, 20)
        assert (receiver.accepted, receiver.requests) == (1, 20)
        assert receiver.open == 1
        worker.close()
        assert receiver.wait_until_closed() == 0
    gc.collect()  # a socket left unclosed would warn here (warnings are errors)


@pytest.mark.slow
@SQLITE
@pytest.mark.parametrize("closing", ["after each answer", "after an idle time", "as reused"])
def test_an_endpoint_closing_idle_connections_gets_every_delivery_at_its_first_attempt(
    store_url: str, receiver: Receiver, closing: str
) -> None:
    clock = VirtualClock(1_700_000_000_000)
    with Engine.open(store_url, clock=clock) as engine, Worker(engine) as worker:
        worker.webhook("*", receiver.url, SECRET)
        if closing == "after each answer":
            receiver.mode = "close"
            emit(engine, 5)
            assert worker.run_once() == 5
            assert receiver.accepted == 5
        elif closing == "after an idle time":
            receiver.idle_s = 0.2
            emit(engine, 2)
            assert worker.run_once() == 2  # one after the other: one connection
            time.sleep(0.4)  # the endpoint closes it meanwhile
            engine.start("notify", instance_id="n-2")
            engine.send("n-2", "GO")
            assert worker.run_once() == 1
            assert receiver.accepted == 2
        else:
            # Each connection's second request finds it closed: sent again on a new one.
            receiver.mode = "drop"
            emit(engine, 5)
            assert worker.run_once() == 5
            assert (receiver.accepted, receiver.dropped) == (5, 4)
        assert_delivered_at_first_attempt(engine, 3 if closing == "after an idle time" else 5)


@pytest.mark.slow
@SQLITE
def test_a_slow_answer_on_a_kept_connection_is_cut_at_the_deadline_and_not_reused(
    store_url: str, receiver: Receiver
) -> None:
    clock = VirtualClock(1_700_000_000_000)
    with (
        Engine.open(store_url, clock=clock) as engine,
        Worker(engine, outbox_lease_ms=2_000) as worker,
    ):
        worker.webhook("*", receiver.url, SECRET, deadline_s=0.5)
        emit(engine, 1)
        assert worker.run_once() == 1  # the connection is kept
        receiver.mode = "drip"  # a byte every 0.1 s
        engine.start("notify", instance_id="n-1")
        engine.send("n-1", "GO")
        started = time.monotonic()
        assert worker.run_once() == 0
        took = time.monotonic() - started
        assert 0.5 <= took < 1.5, took  # the whole answer would take 4 s
        (record,) = engine.store.outbox("default", "n-1")
        assert (record.status, record.attempts) == ("pending", 1)
        assert record.last_error is not None and "delivery deadline of 0.5 s" in record.last_error
        assert receiver.accepted == 1  # it was cut on the kept connection

        receiver.mode = "keep"
        clock.advance(record.next_attempt_at - clock.now())
        assert worker.run_once() == 1
        assert receiver.accepted == 2  # the cut connection was not used again


@pytest.mark.slow
@SQLITE
def test_a_small_answer_body_is_read_to_keep_the_connection_and_a_large_one_is_not(
    store_url: str, receiver: Receiver
) -> None:
    receiver.mode = "body"
    receiver.body = b'{"ok": true}' * 100  # 1.2 KiB: read, the connection kept
    with Engine.open(store_url, clock=VirtualClock(1_700_000_000_000)) as engine:
        emit(engine, 3)
        with Worker(engine) as worker:
            worker.webhook("*", receiver.url, SECRET, deadline_s=5)
            assert worker.run_once() == 3
            assert receiver.accepted == 1

            receiver.body = b"x" * (64 * 1024)  # over the limit: not read, the connection closed
            engine.start("notify", instance_id="n-3")
            engine.send("n-3", "GO")
            assert worker.run_once() == 1
            assert receiver.wait_until_closed() == 0

            receiver.body = None  # chunked, without end: read up to the limit, not to the end
            engine.start("notify", instance_id="n-4")
            engine.send("n-4", "GO")
            started = time.monotonic()
            assert worker.run_once() == 1
            assert time.monotonic() - started < 2.0  # not read until the 5 s deadline
            assert receiver.wait_until_closed() == 0
            assert receiver.accepted == 2  # the large body ended the first connection
        assert_delivered_at_first_attempt(engine, 5)
    # What the socket buffers took before the connection closed, not the 64 MiB.
    assert receiver.sent < 16 * 1024 * 1024, receiver.sent


@pytest.mark.slow
@SQLITE
def test_an_idle_connection_is_closed_after_its_keepalive(
    store_url: str, receiver: Receiver
) -> None:
    with Engine.open(store_url, clock=VirtualClock(1_700_000_000_000)) as engine:
        emit(engine, 2)
        worker = Worker(engine)
        worker.webhook("*", receiver.url, SECRET, keepalive_s=0.1)
        assert worker.run_once() == 2
        assert receiver.accepted == 1
        # Nothing else is delivered: the connection is closed all the same, by 0.15 s.
        assert receiver.wait_until_closed(1.0) == 0
    gc.collect()


def test_threads_sharing_a_webhook_share_its_connections(receiver: Receiver) -> None:
    webhook = Webhook(receiver.url, SECRET)
    errors: list[BaseException] = []

    def deliver(thread: int) -> None:
        for index in range(10):
            message = OutboxMessage(
                id=f"default/t{thread}-{index}/2/0",
                tenant="default",
                instance_id=f"t{thread}-{index}",
                version=2,
                event={"type": "done"},
                attempt=1,
                engine=None,  # type: ignore[arg-type]
            )
            try:
                webhook(message)
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert receiver.requests == 20
    assert receiver.accepted <= 2
    webhook.close()
    assert receiver.wait_until_closed() == 0


@SQLITE
def test_keepalive_0_opens_a_connection_per_delivery(store_url: str, receiver: Receiver) -> None:
    with Engine.open(store_url, clock=VirtualClock(1_700_000_000_000)) as engine:
        emit(engine, 3)
        with Worker(engine) as worker:
            worker.webhook("*", receiver.url, SECRET, keepalive_s=0)
            assert worker.run_once() == 3
        assert receiver.accepted == 3
        assert receiver.wait_until_closed() == 0


@SQLITE
@pytest.mark.parametrize("keepalive_s", [-1, float("nan"), float("inf"), "4", True])
def test_a_keepalive_that_is_not_a_number_of_seconds_is_refused(
    store_url: str, keepalive_s: object
) -> None:
    url = "https://user:pass@hooks.example/in?token=t"
    with pytest.raises(ConfigError) as refused:
        Webhook(url, SECRET, keepalive_s=keepalive_s)  # type: ignore[arg-type]
    assert str(refused.value) == (
        f"webhook https://hooks.example/in?…: keepalive_s must be a number of seconds, 0 (a "
        f"connection per delivery) or more, not {keepalive_s!r}; the default is 4"
    )
    with Engine.open(store_url) as engine:
        worker = Worker(engine)
        with pytest.raises(ConfigError, match="keepalive_s"):
            worker.webhook("*", url, SECRET, keepalive_s=keepalive_s)  # type: ignore[arg-type]
        assert not worker.outbox.active  # nothing was registered


@pytest.mark.slow
@SQLITE
def test_the_kept_connection_is_closed_when_a_running_worker_stops(
    store_url: str, receiver: Receiver
) -> None:
    stop = threading.Event()
    with Engine.open(store_url) as engine:
        emit(engine, 2)
        worker = Worker(engine)
        worker.webhook("*", receiver.url, SECRET, keepalive_s=60)
        running = threading.Thread(target=worker.run, kwargs={"poll_ms": 50, "stop": stop})
        running.start()
        until = time.monotonic() + 5
        while receiver.requests < 2 and time.monotonic() < until:
            time.sleep(0.01)
        assert (receiver.requests, receiver.open) == (2, 1)
        stop.set()
        running.join()
        assert receiver.wait_until_closed() == 0


def test_a_proxy_named_in_the_environment_gets_a_connection_per_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Webhook("https://hooks.example/in", SECRET).pool is not None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    webhook = Webhook("https://hooks.example/in", SECRET)
    assert webhook.pool is None  # httpx's own client, which uses the proxy
    webhook.client.close()
