"""`statewright serve` behind a real nginx: the config docs/operations.md gives ("Behind
nginx", over https with a self-signed certificate) and the bare `proxy_pass` a hurried
operator writes (Debian's `gzip on` beside it). Through either, the live stream delivers
each event at once, outlives nginx's `proxy_read_timeout` on its heartbeats and resumes
with `Last-Event-ID` after nginx drops it; the console's session cookie and CSRF header
work; bodies over the limit are refused and Idempotency-Key replays. With the documented
config, the per-address limit counts the real client's address, which no client can choose
by sending X-Forwarded-For itself; nor can one that reaches `serve` directly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from api_kit import ORDER, order_machine
from nginx_kit import (
    client_from,
    documented_nginx_server,
    free_port,
    nginx,
    requires_nginx,
    requires_openssl,
)
from sse_kit import SseStream, serve

from statewright.engine import Engine

pytestmark = [requires_nginx, pytest.mark.slow]

MACHINES = f"""
from statewright import Machine

MACHINES = [Machine.from_config({ORDER!r})]
"""
#: Where the tests' clients connect from: loopback addresses other than nginx's own, so
#: that serve's view of "the client" can be told from nginx's.
CLIENT, OTHER_CLIENT = "127.0.0.3", "127.0.0.4"
CONFIGS = ["documented", "hurried"]


@dataclass
class Setup:
    """A store with the order definition and an operator token, the machines file."""

    url: str
    machines: Path
    token: str
    folder: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    url = f"sqlite:///{tmp_path / 'statewright.db'}"
    machines = tmp_path / "machines.py"
    machines.write_text(MACHINES)
    with Engine.open(url) as engine:
        engine.register(order_machine())
        _, token = engine.create_token(tenant="acme", role="operator", name="ann")
    return Setup(url, machines, token, tmp_path)


def _server(kind: str, folder: Path, serve_base: str, location: str) -> tuple[str, str, str]:
    """nginx's `server` block, its `http` extras, and the base URL clients use."""
    if kind == "hurried":
        serve_port, port = serve_base.rsplit(":", 1)[1], free_port()
        server = f"""server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://127.0.0.1:{serve_port}; {location} }}
}}"""
        # Debian's /etc/nginx/nginx.conf turns gzip on; say JSON and the stream are
        # compressed too.
        gzip = "gzip on; gzip_types application/json text/event-stream;"
        return server, gzip, f"http://127.0.0.1:{port}"
    server, base = documented_nginx_server(folder, serve_base, location)
    return server, "", base


@contextmanager
def behind(
    kind: str, setup: Setup, *serve_args: str, location: str = ""
) -> Iterator[tuple[str, str]]:
    """`serve` (more `serve_args`) behind nginx configured as `kind` (`location`: more
    directives for its `location /`): the base URLs of nginx and of serve."""
    if kind == "documented" and requires_openssl.args[0]:
        pytest.skip(requires_openssl.kwargs["reason"])
    with serve(setup.url, setup.machines, *serve_args) as serve_base:
        server, http, base = _server(kind, setup.folder / "nginx", serve_base, location)
        with nginx(setup.folder / "nginx", server, http=http):
            yield base, serve_base


@contextmanager
def stream(client: httpx.Client, headers: dict[str, str]) -> Iterator[SseStream]:
    with client.stream(
        "GET", "/api/v1/stream", headers={"Accept-Encoding": "gzip", **headers}
    ) as response:
        assert response.status_code == 200, response.read()
        yield SseStream(response, response.iter_lines())


def _start(client: httpx.Client, auth: dict[str, str], instance_id: str) -> httpx.Response:
    body = {"definition": "order", "input": {"amount": 5}}
    return client.post(f"/api/v1/instances/{instance_id}", json=body, headers=auth)


#: How long an event may take through nginx: far below what buffering would hold it for.
PROMPT_S = 10.0


@pytest.mark.parametrize("kind", CONFIGS)
def test_the_stream_is_prompt_outlives_the_read_timeout_and_resumes_after_a_drop(
    kind: str, setup: Setup
) -> None:
    # nginx closes a connection silent for 2 s; serve's heartbeat every 0.4 s keeps it open.
    with (
        behind(kind, setup, "--stream-heartbeat", "0.4", location="proxy_read_timeout 2s;")
        as (base, _),
        client_from(CLIENT, base, timeout=10) as client,
        stream(client, setup.auth) as watcher,
    ):  # fmt: skip
        assert watcher.response.headers["content-type"].startswith("text/event-stream")
        # Not held back: a buffering proxy would hold the event until its buffer filled
        # (minutes of heartbeats) or the connection ended. The bound is generous, for a
        # loaded machine; events arrive in tens of milliseconds.
        assert _start(client, setup.auth, "A-1").status_code == 201
        (first,) = watcher.events(1, within_s=PROMPT_S)
        assert first.data["instance_id"] == "A-1"
        time.sleep(4.5)  # over twice nginx's read timeout, with nothing committed
        assert client.post("/api/v1/instances/A-1/events", json={"type": "REJECT"},
                           headers=setup.auth).status_code == 200  # fmt: skip
        (second,) = watcher.events(1, within_s=PROMPT_S)
        assert second.data["to_value"] == "rejected"
    # A heartbeat slower than nginx's read timeout: nginx drops the stream, and the
    # reconnect with Last-Event-ID gets, through nginx, exactly what was missed meanwhile.
    with (
        behind(kind, setup, "--stream-heartbeat", "30", location="proxy_read_timeout 2s;")
        as (base, _),
        client_from(CLIENT, base, timeout=10) as client,
    ):  # fmt: skip
        with stream(client, setup.auth) as dropped:
            assert _start(client, setup.auth, "A-2").status_code == 201
            (seen,) = dropped.events(1)
            # nginx cuts it mid-response, as a client sees a dropped connection.
            with pytest.raises(httpx.RemoteProtocolError):
                dropped.next()
        for instance_id in ("A-3", "A-4"):
            assert _start(client, setup.auth, instance_id).status_code == 201
        with stream(client, setup.auth | {"Last-Event-ID": str(seen.id)}) as resumed:
            missed = resumed.events(2, within_s=5)
        assert [e.data["instance_id"] for e in missed] == ["A-3", "A-4"]
        assert int(missed[0].id or 0) > int(seen.id or 0)


@pytest.mark.parametrize("kind", CONFIGS)
def test_the_console_logs_in_and_its_cookie_and_csrf_work_through_nginx(
    kind: str, setup: Setup
) -> None:
    with behind(kind, setup) as (base, _), client_from(CLIENT, base, timeout=10) as browser:
        assert browser.get("/login").status_code == 200
        logged = browser.post("/api/v1/session", json={"token": setup.token})
        assert logged.status_code == 201, logged.text
        cookie = logged.headers["set-cookie"]
        assert "sw_session=" in cookie and "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        if kind == "documented":  # https at nginx, X-Forwarded-Proto to serve
            assert "Secure" in cookie
        csrf = browser.get("/api/v1/session").json()["csrf"]
        assert csrf
        start = {"definition": "order", "input": {"amount": 5}}
        refused = browser.post("/api/v1/instances/C-1", json=start)
        assert refused.status_code == 403 and refused.json()["type"].endswith("csrf-failed")
        made = browser.post("/api/v1/instances/C-1", json=start, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
        with stream(browser, {}) as watcher:  # EventSource: the cookie alone
            browser.post("/api/v1/instances/C-1/events", json={"type": "REJECT"},
                         headers={"X-CSRF-Token": csrf})  # fmt: skip
            (event,) = watcher.events(1, within_s=5)
        assert event.data["to_value"] == "rejected"
        assert browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert browser.get("/api/v1/session").status_code == 401


@pytest.mark.parametrize("kind", CONFIGS)
def test_bodies_over_the_limit_are_refused_and_idempotency_keys_replay_through_nginx(
    kind: str, setup: Setup
) -> None:
    with behind(kind, setup) as (base, _), client_from(CLIENT, base, timeout=30) as client:
        # Over serve's --max-body and nginx's client_max_body_size alike (1 MiB by default).
        big = {"definition": "order", "input": {"amount": 5, "pad": "x" * 1_048_576}}
        refused = client.post("/api/v1/instances/B-1", json=big, headers=setup.auth)
        assert refused.status_code == 413
        if kind == "documented":  # nginx's limit above serve's: serve's own answer
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("body-too-large")
        assert client.get("/api/v1/instances/B-1", headers=setup.auth).status_code == 404
        keyed = setup.auth | {"Idempotency-Key": "k-1"}
        start = {"definition": "order", "input": {"amount": 5}}
        first = client.post("/api/v1/instances/B-2", json=start, headers=keyed)
        again = client.post("/api/v1/instances/B-2", json=start, headers=keyed)
        assert first.status_code == again.status_code == 201, again.text
        assert first.json() == again.json() and first.headers["etag"] == again.headers["etag"]
        other = client.post("/api/v1/instances/B-3", json=start, headers=keyed)
        assert other.status_code == 422 and "idempotency-key-reused" in other.json()["type"]
        # The ETag as it came through nginx (weak when gzip compressed the answer) matches.
        sent = client.post("/api/v1/instances/B-2/events", json={"type": "REJECT"},
                           headers=setup.auth | {"If-Match": first.headers["etag"]})  # fmt: skip
        assert sent.status_code == 200, sent.text


def _guesses(client: httpx.Client, count: int, *, spoof: bool) -> list[int]:
    """The statuses of `count` requests with a token that is not valid, each naming
    another address in X-Forwarded-For when `spoof`."""
    return [
        client.get(
            "/api/v1/session",
            headers={"Authorization": "Bearer sw_000000000000_nope"}
            | ({"X-Forwarded-For": f"198.51.100.{n}"} if spoof else {}),
        ).status_code
        for n in range(count)
    ]


def test_the_limit_per_address_counts_the_real_client_and_cannot_be_spoofed(
    setup: Setup,
) -> None:
    with behind("documented", setup, "--auth-failures", "3") as (base, serve_base):
        # Through nginx, a client naming other addresses is still itself: 3, then refused.
        with client_from(CLIENT, base, timeout=10) as guesser:
            assert _guesses(guesser, 5, spoof=True) == [401, 401, 401, 429, 429]
        # Another client behind the same nginx keeps its own allowance.
        with client_from(OTHER_CLIENT, base, timeout=10) as other:
            assert _guesses(other, 1, spoof=False) == [401]
        # serve trusts 127.0.0.1 only: straight from another address, the header is ignored.
        with client_from("127.0.0.5", serve_base, timeout=10) as direct:
            assert _guesses(direct, 5, spoof=True) == [401, 401, 401, 429, 429]


def test_a_bare_proxy_pass_lets_clients_share_one_allowance(setup: Setup) -> None:
    """What docs/operations.md warns of: without `X-Forwarded-For $remote_addr`, serve sees
    every client as nginx's 127.0.0.1, and believes a header a client sent itself."""
    with behind("hurried", setup, "--auth-failures", "3") as (base, _):
        with client_from(CLIENT, base, timeout=10) as guesser:
            assert _guesses(guesser, 4, spoof=False) == [401, 401, 401, 429]
        with client_from(OTHER_CLIENT, base, timeout=10) as other:
            assert _guesses(other, 1, spoof=False) == [429]
            assert _guesses(other, 3, spoof=True) == [401, 401, 401]
