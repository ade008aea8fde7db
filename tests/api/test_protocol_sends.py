"""Sends answered inside `serve`'s HTTP protocol (`api/protocol_sends.py`): over real
sockets, a server on `serve`'s protocol and one on uvicorn's own (every request through the
app) answer every kind of send with the same bytes, log the same access lines and count the
same metrics; pipelined requests and a client gone before its answer keep working."""

from __future__ import annotations

import io
import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from api_kit import CLAIM, Api, access_lines, make_api, uvicorn_on_a_free_port

from statewright import Machine
from statewright.api import ApiSettings, create_app, protocol_sends
from statewright.api.access_log import AccessHandler
from statewright.api.http_protocol import Protocol
from statewright.api.protocol_sends import ShortSend

pytestmark = pytest.mark.slow


@dataclass
class Pair:
    api: Api
    short: Served  # serve's protocol
    full: Served  # uvicorn's own: every request through the app
    log: io.StringIO


@dataclass
class Served:
    port: int
    app: Any


@pytest.fixture
def pair(store_url: str) -> Iterator[Pair]:
    with access_lines() as log:
        for api in make_api(store_url):
            api.engine.register(Machine.from_config(CLAIM))
            settings = ApiSettings(max_body_bytes=4096, rate=0)
            short_app = create_app(api.engine, settings)
            full_app = create_app(api.engine, settings)
            with (
                uvicorn_on_a_free_port(short_app, Protocol) as short,
                uvicorn_on_a_free_port(full_app, "httptools") as full,
            ):
                yield Pair(api, Served(short, short_app), Served(full, full_app), log)


def exchange(port: int, *requests: bytes, together: bool = False) -> list[bytes]:
    """Each request's raw response, on one connection (all written at once if `together`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        if together:
            sock.sendall(b"".join(requests))
        answers = []
        for request in requests:
            if not together:
                sock.sendall(request)
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = reader.readline()
                assert line, "the connection closed"
                head += line
            length = int(next(v for n, v in _headers(head) if n == "content-length"))
            answers.append(head + reader.read(length))
        return answers


def _headers(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(n.lower(), v.strip()) for n, _, v in (line.partition(":") for line in lines if line)]


def shown(raw: bytes, instance_id: str) -> tuple[str, list[tuple[str, str]], Any]:
    """A raw response, its instance id as `ID`, its date and commit time left out."""
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = _headers(head + b"\r\n")
    length = dict(headers).get("content-length")
    assert length == str(len(body))
    kept = [(n, v) for n, v in headers if n not in ("date", "content-length")]
    parsed = json.loads(body.decode().replace(instance_id, "ID"))
    parsed.pop("at", None)
    return head.split(b"\r\n")[0].decode(), kept, parsed


def request(
    instance_id: str, event: Any, token: str, extra: str = "", version: str = "1.1"
) -> bytes:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    head = (
        f"POST /api/v1/instances/{instance_id}/events HTTP/{version}\r\nHost: t\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


#: name: (definition or None for a missing instance, event, token, extra head, short way?)
CASES: dict[str, tuple[str | None, Any, str, str, bool]] = {
    "sent": ("order", {"type": "NOTE", "text": "é", "n": [1, 2.5, None]}, "operator", "", True),
    "if-match": ("order", {"type": "REJECT"}, "operator", 'If-Match: W/"1"\r\n', True),
    "stale": ("order", {"type": "NOTE"}, "operator", 'If-Match: "9"\r\n', True),
    "unknown-token": ("order", {"type": "NOTE"}, "sw_nope_0000", "", True),
    "viewer": ("order", {"type": "NOTE"}, "viewer", "", True),
    "event-role": ("order", {"type": "APPROVE", "by": "x"}, "operator", "", True),
    "approver": ("order", {"type": "APPROVE", "by": "ann"}, "approver", "", True),
    "other-tenant": ("order", {"type": "NOTE"}, "other:admin", "", True),
    "missing": (None, {"type": "NOTE"}, "operator", "", True),
    "not-accepted": ("order", {"type": "SHIP"}, "operator", "", True),
    "typed": ("claim", {"type": "PAY", "amount": 0}, "operator", "", True),
    "typed-ok": ("claim", {"type": "PAY", "amount": 3}, "operator", "", True),
    "query": ("order", {"type": "NOTE"}, "operator", "", True),
    "close": ("order", {"type": "NOTE"}, "operator", "Connection: close\r\n", True),
    "not-an-event": ("order", {"type": 3}, "operator", "", True),
    "not-json": ("order", b"{", "operator", "", True),
    "keyed": ("order", {"type": "NOTE"}, "operator", "Idempotency-Key: {id}\r\n", False),
    "bad-if-match": ("order", {"type": "NOTE"}, "operator", "If-Match: seven\r\n", False),
    "forwarded": ("order", {"type": "NOTE"}, "operator", "X-Forwarded-For: 10.1.2.3\r\n", False),
    "http-1.0": ("order", {"type": "NOTE"}, "operator", "", False),
}


def test_every_kind_of_send_is_answered_as_through_the_app(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    body_complete = ShortSend.body_complete

    def recorded(short: ShortSend) -> None:
        taken.append(short.instance_id)
        body_complete(short)

    monkeypatch.setattr(ShortSend, "body_complete", recorded)
    logger = logging.getLogger("uvicorn.access")  # as `serve` configures it: pytest's out
    logger.handlers[:] = [h for h in logger.handlers if isinstance(h, AccessHandler)]
    api = pair.api
    for name, (definition, event, token, extra, _) in CASES.items():
        answers: dict[str, list[Any]] = {"a": [], "b": []}
        for side, served in (("a", pair.short), ("b", pair.full)):
            instance_id = f"{side}-{name}"
            if definition is not None:
                body = {"definition": definition, "input": {"amount": 1, "customer": "c"}}
                path = f"/api/v1/instances/{instance_id}"
                started = api.client.post(path, json=body, headers=api.auth("operator"))
                assert started.status_code == 201
            secret = api.tokens.get(token, token)
            version = "1.0" if name == "http-1.0" else "1.1"
            raw = request(instance_id, event, secret, extra.format(id=instance_id), version)
            if name == "query":
                raw = raw.replace(b"/events ", b"/events?x=%22y%22 ")
            (answer,) = exchange(served.port, raw)
            answers[side].append(shown(answer, instance_id))
            if definition is not None:
                one = api.engine.get(instance_id, tenant="acme")
                answers[side].append((one.version, one.value, one.context))
        assert answers["a"] == answers["b"], name
    expected = [f"a-{name}" for name, case in CASES.items() if case[4]]
    assert taken == expected  # the short way's, and no other
    deadline = time.monotonic() + 5  # each server writes its lines at the end of its turn
    while len(pair.log.getvalue().splitlines()) < 2 * len(CASES):
        assert time.monotonic() < deadline, pair.log.getvalue()
        time.sleep(0.01)
    lines = pair.log.getvalue().splitlines()
    ours = [_line(line) for line in lines if " /api/v1/instances/a-" in line]
    theirs = [_line(line) for line in lines if " /api/v1/instances/b-" in line]
    assert ours == theirs and len(ours) == len(CASES)
    assert _counted(pair.short) == _counted(pair.full)


def _line(line: str) -> str:
    """An access line, its client's port and its instance's side left out."""
    prefix, _, rest = line.partition(" - ")
    return prefix.rsplit(":", 1)[0] + " - " + rest.replace("/a-", "/X-").replace("/b-", "/X-")


def _counted(served: Served) -> list[str]:
    text: str = served.app.state.metrics.requests.collect()[0].samples
    return sorted(f"{s.labels}={s.value}" for s in text if s.name.endswith("_total"))


def test_pipelined_sends_are_answered_in_order(pair: Pair) -> None:
    api = pair.api
    body = {"definition": "order", "input": {"amount": 1}}
    api.client.post("/api/v1/instances/p1", json=body, headers=api.auth("operator"))
    secret = api.tokens["operator"]
    sends = [request("p1", {"type": "NOTE", "text": str(n)}, secret) for n in range(3)]
    answers = exchange(pair.short.port, *sends, together=True)
    versions = [json.loads(a.partition(b"\r\n\r\n")[2])["version"] for a in answers]
    assert versions == [2, 3, 4]
    assert api.engine.verify("p1", tenant="acme").ok


def test_with_an_untested_uvicorn_every_send_takes_the_full_way(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    monkeypatch.setattr(ShortSend, "body_complete", lambda short: taken.append("short"))
    monkeypatch.setattr(protocol_sends, "TESTED_UVICORN", frozenset({"0.0"}))
    api = pair.api
    body = {"definition": "order", "input": {"amount": 1}}
    api.client.post("/api/v1/instances/u1", json=body, headers=api.auth("operator"))
    (answer,) = exchange(pair.short.port, request("u1", {"type": "NOTE"}, api.tokens["operator"]))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["version"] == 2
    assert taken == []


def test_a_client_gone_before_its_answer_leaves_the_server_answering(pair: Pair) -> None:
    api = pair.api
    body = {"definition": "order", "input": {"amount": 1}}
    api.client.post("/api/v1/instances/g1", json=body, headers=api.auth("operator"))
    secret = api.tokens["operator"]
    with socket.create_connection(("127.0.0.1", pair.short.port)) as sock:
        sock.sendall(request("g1", {"type": "NOTE"}, secret))
    deadline = time.monotonic() + 10
    while api.engine.get("g1", tenant="acme").version < 2:  # sent all the same, as before
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (answer,) = exchange(pair.short.port, request("g1", {"type": "NOTE"}, secret))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["version"] == 3


def test_a_failure_while_writing_the_answer_is_logged_and_closes_the_connection(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    api = pair.api
    body = {"definition": "order", "input": {"amount": 1}}
    api.client.post("/api/v1/instances/f1", json=body, headers=api.auth("operator"))

    def broken(scope: Any) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(protocol_sends, "get_client_addr", broken)
    address = ("127.0.0.1", pair.short.port)
    with (
        caplog.at_level(logging.ERROR, "uvicorn.error"),
        socket.create_connection(address, timeout=10) as sock,
    ):
        sock.sendall(request("f1", {"type": "NOTE"}, api.tokens["operator"]))
        assert sock.recv(65536) == b""  # closed, as uvicorn closes it
    assert "Exception in ASGI application" in caplog.text and "a bug" in caplog.text
    assert api.engine.get("f1", tenant="acme").version == 2
    assert any("'200'" in line for line in _counted(pair.short))
