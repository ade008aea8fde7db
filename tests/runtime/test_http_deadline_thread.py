"""The deadlines of HTTP exchanges (`Cutoff`) share one thread: an exchange is cut at its own
deadline, on a new or a kept connection; one that ended in time is never cut, not even the
next exchange on its kept connection; a delivery starts no thread of its own; and the thread
ends once no deadline is left.

The endpoint is a real HTTP/1.1 server on loopback that keeps its connections and can answer
late or a byte at a time.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from statewright.runtime.http_deadline import Cutoff
from statewright.runtime.http_pool import KeepAlivePool
from statewright.runtime.outbox import OutboxMessage
from statewright.runtime.webhooks import Webhook

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
THREAD = "statewright-http-deadlines"


class Endpoint:
    """Serves the requests of each connection one after the other, keeping it open: the
    n-th request (counting from 1 over all connections) is answered after `delay_s(n)`
    seconds, at once or, if `drip`, a byte every 0.1 s. `accepted` counts connections."""

    def __init__(self) -> None:
        self.delay_s: Callable[[int], float] = lambda n: 0.0
        self.drip = False
        self.accepted = self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/hook"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                while self._read_request(connection):
                    with self._lock:
                        self.requests += 1
                        n = self.requests
                    if self._stop.wait(self.delay_s(n)):
                        return
                    for index in range(len(OK)) if self.drip else [None]:
                        if index is None:
                            connection.sendall(OK)
                        elif self._stop.wait(0.1):
                            return
                        else:
                            connection.sendall(OK[index : index + 1])
            except OSError:
                pass  # cut by the client

    @staticmethod
    def _read_request(connection: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)
        return True


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    running = Endpoint()
    yield running
    running.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client over kept connections, whose pool shows each connection to the deadline."""
    with httpx.Client(transport=KeepAlivePool(60)) as kept:
        yield kept


def post(client: httpx.Client, url: str, cutoff: Cutoff) -> httpx.Response:
    return client.post(url, content=b"{}", timeout=cutoff.timeout, extensions=cutoff.extensions)


def deadline_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD]


def message(index: int) -> OutboxMessage:
    return OutboxMessage(
        id=f"default/i-{index}/2/0",
        tenant="default",
        instance_id=f"i-{index}",
        version=2,
        event={"type": "ping"},
        attempt=1,
        engine=None,  # type: ignore[arg-type]
    )


@pytest.mark.slow
@pytest.mark.parametrize("connection", ["new", "kept"])
def test_a_slow_answer_is_cut_at_the_deadline(
    endpoint: Endpoint, client: httpx.Client, connection: str
) -> None:
    if connection == "kept":
        with Cutoff(5) as cutoff:
            assert post(client, endpoint.url, cutoff).status_code == 200
    endpoint.drip = True  # the whole answer would take 3.8 s
    started = time.monotonic()
    with Cutoff(0.3) as cutoff, pytest.raises(httpx.HTTPError):
        post(client, endpoint.url, cutoff)
    took = time.monotonic() - started
    assert cutoff.expired
    assert 0.3 <= took < 1.0, took
    assert endpoint.accepted == 1


@pytest.mark.slow
def test_concurrent_exchanges_are_each_cut_at_their_own_deadline(
    endpoint: Endpoint, client: httpx.Client
) -> None:
    endpoint.drip = True
    deadlines = [0.9, 0.3, 0.6, 1.2]  # started in this order, cut in the order of their times
    took: dict[float, float] = {}
    expired: dict[float, bool] = {}

    def exchange(deadline_s: float) -> None:
        started = time.monotonic()
        with Cutoff(deadline_s) as cutoff, contextlib.suppress(httpx.HTTPError):
            post(client, endpoint.url, cutoff)
        took[deadline_s] = time.monotonic() - started
        expired[deadline_s] = cutoff.expired

    threads = [threading.Thread(target=exchange, args=(d,)) for d in deadlines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert expired == dict.fromkeys(deadlines, True)
    for deadline_s in deadlines:
        assert deadline_s <= took[deadline_s] < deadline_s + 0.5, took


def test_deliveries_in_a_row_start_no_thread_each(
    endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook = Webhook(endpoint.url, "s3cr3t")
    webhook(message(0))  # the connection, its pool's sweeper and the deadlines' thread
    started: list[str] = []
    start = threading.Thread.start

    def counted(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    for index in range(1, 51):
        webhook(message(index))
    monkeypatch.undo()
    assert started == []
    assert (endpoint.accepted, endpoint.requests) == (1, 51)
    assert len(deadline_threads()) == 1
    webhook.close()  # nothing left to cut: the deadlines' thread ends with it
    assert deadline_threads() == []


@pytest.mark.slow
def test_a_deadline_passing_after_its_exchange_ended_never_cuts_the_next_on_its_connection(
    endpoint: Endpoint, client: httpx.Client
) -> None:
    # The first exchange's answer is read and its connection back in the pool, but its block
    # has not ended yet when its deadline passes: meanwhile the second exchange took that
    # connection and waits for an answer sent after the first one's deadline.
    endpoint.delay_s = lambda n: 0.6 if n == 2 else 0.0
    answered, second_done = threading.Event(), threading.Event()
    first: list[Cutoff] = []

    def exchange_then_linger() -> None:
        with Cutoff(0.3) as cutoff:
            first.append(cutoff)
            assert post(client, endpoint.url, cutoff).status_code == 200
            answered.set()
            second_done.wait(5)

    lingering = threading.Thread(target=exchange_then_linger)
    lingering.start()
    try:
        assert answered.wait(5)
        with Cutoff(5) as cutoff:
            response = post(client, endpoint.url, cutoff)
    finally:
        second_done.set()
        lingering.join()
    assert response.status_code == 200
    assert not cutoff.expired
    assert first[0].expired  # its deadline did pass, while its block ran
    assert (endpoint.accepted, endpoint.requests) == (1, 2)  # on the one kept connection


@pytest.mark.slow
def test_the_deadline_thread_ends_once_no_deadline_is_left(
    endpoint: Endpoint, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("statewright.runtime.deadline_thread._IDLE_S", 0.1)
    with Cutoff(0.2) as cutoff:
        assert post(client, endpoint.url, cutoff).status_code == 200
    assert len(deadline_threads()) == 1
    until = time.monotonic() + 3
    while deadline_threads() and time.monotonic() < until:
        time.sleep(0.01)
    assert deadline_threads() == []
    # Started again by the next exchange, which is cut at its deadline as before.
    endpoint.drip = True
    with Cutoff(0.2) as cutoff, pytest.raises(httpx.HTTPError):
        post(client, endpoint.url, cutoff)
    assert cutoff.expired
