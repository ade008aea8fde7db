"""`serve`'s protocol bounds a request's head: a client cannot make the server hold a head
of any size (uvicorn's httptools protocol has no bound of its own)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_kit import Api, make_api, uvicorn_on_a_free_port

from statewright.api import ApiSettings, create_app

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Api, int]]:
    for api in make_api(f"sqlite:///{tmp_path / 'heads.db'}"):
        app = create_app(api.engine, ApiSettings(max_body_bytes=4096, rate=0))
        with uvicorn_on_a_free_port(app) as port:
            yield api, port


def _get(api: Api, padding: int, close: bool = True) -> bytes:
    return (
        f"GET /api/v1/session HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.tokens['viewer']}"
        f"\r\nX-Padding: {'a' * padding}\r\n{'Connection: close' if close else 'X-A: b'}\r\n\r\n"
    ).encode()


def _answer(sock: socket.socket) -> bytes:
    """One response's head and body."""
    reader = sock.makefile("rb")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        if not line:
            return head
        head += line
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return head + reader.read(length)


def test_a_head_past_the_bound_is_431_and_the_connection_closed(
    served: tuple[Api, int],
) -> None:
    api, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        start = _get(api, 0).split(b"X-Padding")[0] + b"X-Padding: "
        sock.sendall(start)
        try:
            for _ in range(64):  # 64 MiB, were it all read
                sock.sendall(b"a" * (1024 * 1024))
        except OSError:
            pass  # closed by the server, as it should
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    assert b"connection: close" in answer


def test_heads_within_the_bound_are_answered_each_on_a_kept_connection(
    served: tuple[Api, int],
) -> None:
    api, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(3):  # the count starts again with each request
            sock.sendall(_get(api, 40_000, close=False))
            answer = _answer(sock)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]
    body = b'{"definition": "order", "input": {"amount": 1}}'
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/instances/h-1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Authorization: Bearer " + api.tokens["operator"].encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        assert _answer(sock).startswith(b"HTTP/1.1 201 ")


@pytest.mark.parametrize("max_body", [4096, 1024 * 1024])
def test_a_body_that_arrives_with_its_head_is_not_counted_as_head(
    tmp_path: Path, max_body: int
) -> None:
    """A proxy (nginx) writes a request's head and its whole body at once, so one read
    holds a short head and more body bytes than a head may have: the body is a body."""
    for api in make_api(f"sqlite:///{tmp_path / 'bodies.db'}"):
        app = create_app(api.engine, ApiSettings(max_body_bytes=max_body, rate=0))
        with uvicorn_on_a_free_port(app) as port:
            body = b'{"definition": "order", "input": {"amount": 1, "pad": "%s"}}' % (
                b"x" * 200_000
            )
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    b"POST /api/v1/instances/b-1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    b"Authorization: Bearer " + api.tokens["operator"].encode() + b"\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % len(body)
                    + body
                )
                answer = _answer(sock)
            # Over the body limit: 413; within it: the engine's own limit on an input, 422.
            status = b"413" if max_body == 4096 else b"422"
            assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]


def test_a_pipelined_request_after_a_head_is_read_as_its_own(
    served: tuple[Api, int],
) -> None:
    """Two requests in one read, past the head bound together: each is answered."""
    api, port = served
    body = b"{" + b" " * 100_000 + b"}"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            _get(api, 0, close=False)
            + b"POST /api/v1/instances/p-1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Authorization: Bearer " + api.tokens["operator"].encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        answers = b""
        while chunk := sock.recv(65536):  # until the server closes, after the second
            answers += chunk
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answers) == [b"200", b"413"], answers[:400]


@pytest.mark.parametrize("version", ["HTTP/1.0", "HTTP/1.1"])
def test_a_peer_still_sending_a_refused_body_gets_the_answer(
    served: tuple[Api, int], version: str
) -> None:
    """A 413 answered before the body is read, on a connection that ends with it: serve
    reads and drops the rest of the body before it closes, so that a peer still sending
    (nginx, passing the body on) gets the answer, not a reset connection (nginx's 502)."""
    api, port = served
    length = 4 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"POST /api/v1/instances/r-1 {version}\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: Bearer {api.tokens['operator']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
        )
        time.sleep(0.2)  # answered and, without lingering, closed by now
        for _ in range(length // 65536):
            sock.sendall(b" " * 65536)
        answers = b""
        while chunk := sock.recv(65536):
            answers += chunk
    assert answers.startswith(b"HTTP/1.1 413 "), answers[:200]
