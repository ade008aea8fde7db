"""HEAD wherever GET (`api/head.py`): the GET answer's status and headers, no body, on the
API's routes, its problems, the console's pages and static files; counted and logged as
HEAD; the live stream's headers, then the end, over a real socket; 405s allow HEAD beside
GET."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from api_kit import Api, access_lines, order_machine, uvicorn_on_a_free_port

from statewright.api import ApiSettings, StreamSettings, create_app
from statewright.engine import Engine

PROBLEM = "application/problem+json"


def same_head(api: Api, path: str, headers: dict[str, str] | None = None) -> Any:
    """The HEAD answer of `path`, checked against the GET answer: same status and headers
    (the date aside), no body."""
    got = api.client.get(path, headers=headers)
    head = api.client.head(path, headers=headers)
    assert head.status_code == got.status_code, (path, head.status_code, got.text)
    expected = {name: value for name, value in got.headers.items() if name != "date"}
    assert {name: value for name, value in head.headers.items() if name != "date"} == expected
    assert head.content == b""
    return head


def test_head_on_a_json_route_answers_the_get_head_without_the_body(api: Api) -> None:
    api.engine.start("order", input={"amount": 5}, tenant="acme", instance_id="o-1")
    live = same_head(api, "/api/health/live")
    assert live.status_code == 200 and live.headers["content-type"] == "application/json"
    assert int(live.headers["content-length"]) > 0
    instance = same_head(api, "/api/v1/instances/o-1", api.auth("viewer"))
    assert instance.status_code == 200 and instance.headers["etag"]
    same_head(api, "/api/v1/definitions", api.auth("viewer"))
    same_head(api, "/api/docs", api.auth("viewer"))  # its Cache-Control and policy too


def test_the_app_itself_sends_no_body_to_a_head(api: Api) -> None:
    """Not only what the test client shows (it drops a HEAD's body itself): the app sends
    the head, then one empty end."""
    sent = asyncio.run(_asgi(api.client.app, "HEAD", "/api/health/live"))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"" and not sent[1].get("more_body", False)


def test_head_on_a_problem_answers_its_status_and_headers(api: Api) -> None:
    for path, headers, status in (
        ("/api/v1/nope", api.auth("viewer"), 404),
        ("/api/v1/instances/missing", api.auth("viewer"), 404),
        ("/api/v1/definitions", None, 401),
        ("/api/v1/definitions", {"Authorization": "Bearer sw_nope_0000"}, 401),
    ):
        head = same_head(api, path, headers)
        assert head.status_code == status and head.headers["content-type"] == PROBLEM
    assert same_head(api, "/api/v1/definitions").headers["www-authenticate"]


def test_head_on_the_console_page_and_a_static_file(api: Api) -> None:
    page = same_head(api, "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    same_head(api, "/login")
    static = same_head(api, "/static/css/base.css")
    assert static.status_code == 200 and static.headers["content-type"].startswith("text/css")
    assert static.headers["etag"] and int(static.headers["content-length"]) > 0


def test_a_head_is_counted_in_the_metrics_as_head_under_its_route(api: Api) -> None:
    api.engine.start("order", input={"amount": 5}, tenant="acme", instance_id="o-1")
    api.client.head("/api/health/live")
    api.client.head("/api/v1/instances/o-1", headers=api.auth("viewer"))
    text = api.client.get("/api/metrics", headers=api.auth("viewer")).text
    for route in ("/api/health/live", "/api/v1/instances/{instance_id}"):
        line = f'statewright_http_requests_total{{method="HEAD",route="{route}",status="200"}}'
        assert f"{line} 1.0" in text, text


def test_a_405_allows_head_wherever_it_allows_get(api: Api) -> None:
    wrong = api.client.delete("/api/v1/definitions", headers=api.auth("admin"))
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"
    assert wrong.json()["detail"].endswith("it takes GET, HEAD")
    static = api.client.post("/static/css/base.css")
    assert static.status_code == 405 and static.headers["allow"] == "GET, HEAD"
    # A route that does not take GET does not take HEAD either.
    post_only = api.client.head("/api/v1/instances/o-1/events", headers=api.auth("operator"))
    assert post_only.status_code == 405 and post_only.headers["allow"] == "POST"


def test_a_405_names_the_methods_of_every_route_on_its_path(api: Api) -> None:
    # GET and POST on /api/v1/instances are two routes: the router alone names the first.
    wrong = api.client.delete("/api/v1/instances", headers=api.auth("admin"))
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD, POST"
    assert wrong.json()["detail"].endswith("it takes GET, HEAD, POST")
    one = api.client.patch("/api/v1/instances/o-1", headers=api.auth("admin"))
    assert one.status_code == 405 and one.headers["allow"] == "GET, HEAD, POST"


@pytest.mark.timeout(30)  # a stream held open would hold the test client for good
def test_head_on_the_stream_in_process_ends_without_subscribing(api: Api) -> None:
    head = api.client.head("/api/v1/stream", headers=api.auth("viewer"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/event-stream")
    assert head.headers["cache-control"] == "no-cache"
    assert head.headers["x-accel-buffering"] == "no"
    assert api.client.app.state.stream_hub.subscribers == 0


@dataclass
class Served:
    base: str
    port: int
    app: Any
    access: io.StringIO


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
    """The app on `serve`'s HTTP protocol in a real uvicorn server (a SQLite file), its
    access lines kept, and a viewer's Authorization header. A stream left open would send
    no heartbeat for a minute."""
    with access_lines() as access, Engine.open(f"sqlite:///{tmp_path / 'app.db'}") as engine:
        engine.register(order_machine())
        engine.start("order", input={"amount": 5}, tenant="acme", instance_id="o-1")
        _, secret = engine.create_token(tenant="acme", role="viewer")
        settings = ApiSettings(rate=0, stream=StreamSettings(heartbeat_s=60.0, poll_s=0.05))
        app = create_app(engine, settings)
        with uvicorn_on_a_free_port(app) as port:
            base = f"http://127.0.0.1:{port}"
            yield Served(base, port, app, access), {"Authorization": f"Bearer {secret}"}
            app.state.stream_hub.stop()  # open streams end, so that the server can stop


@pytest.mark.slow
def test_head_on_the_stream_over_a_socket_sends_the_head_and_ends(
    served: tuple[Served, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    server, auth = served
    hub = server.app.state.stream_hub
    for path in ("/api/v1/stream", "/api/v1/instances/o-1/stream"):
        started = time.monotonic()
        raw = _exchange(server.port, f"HEAD {path}", auth, close=True)  # read to the end
        assert time.monotonic() - started < 5, "the connection was held open"
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ") and body == b""
        headers = head.decode("latin-1").lower()
        assert "content-type: text/event-stream" in headers
        assert "cache-control: no-cache" in headers and "x-accel-buffering: no" in headers
    # On a kept-alive connection, the next request is answered after it.
    raw = _exchange(server.port, "HEAD /api/v1/stream", auth, then="GET /api/health/live")
    assert raw.startswith(b"HTTP/1.1 200 ") and raw.endswith(b'{"status":"ok"}')
    assert hub.subscribers == 0
    assert hub._task is None, "a HEAD started the stream's reader"
    lines = server.access.getvalue()
    assert '"HEAD /api/v1/stream HTTP/1.1" 200' in lines, lines
    assert '"GET /api/v1/stream' not in lines
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def _exchange(
    port: int, request: str, auth: dict[str, str], *, close: bool = False, then: str = ""
) -> bytes:
    """What the server writes for `request` (and `then`, on the same connection) until it
    closes the connection: `close` asks it to after the first, `then` after the second."""
    (name, value), = auth.items()  # fmt: skip
    head = f"{request} HTTP/1.1\r\nHost: t\r\n{name}: {value}\r\n"
    sent = head + ("Connection: close\r\n\r\n" if close else "\r\n")
    if then:
        sent += f"{then} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(sent.encode())
        while chunk := sock.recv(65536):  # a held-open stream: socket.timeout
            chunks.append(chunk)
    return b"".join(chunks)


async def _asgi(app: Any, method: str, path: str) -> list[dict[str, Any]]:
    """The messages `app` sends for a request without a body."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": method, "scheme": "http", "path": path,
        "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"t")], "client": ("127.0.0.1", 1), "server": ("t", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent
