"""A send's short ways under a root path (`serve --root-path /statewright`): over real
sockets, a server on `serve`'s protocol (`protocol_sends.py`), one on uvicorn's own
(`fast_send.py` answers before FastAPI's layers) and one whose short ways are off (every
send through the route) answer every kind of send with the same bytes, the same access
lines and the same metrics; the plain ones are answered by the short ways."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from api_kit import Api, access_lines, make_api, uvicorn_on_a_free_port
from test_protocol_sends import exchange

from statewright.api import ApiSettings, create_app
from statewright.api.access_log import AccessHandler
from statewright.api.http_protocol import Protocol
from statewright.api.protocol_sends import ShortSend
from statewright.api.send_lane import SendLane

pytestmark = pytest.mark.slow

ROOT = "/statewright"
LIMIT = 4096
#: The three servers, each on a fresh app over the same engine; the names are as long as
#: each other, so that the instance ids, and every length, are too.
SIDES = ("proto", "asgi_", "route")


@contextmanager
def served(
    api: Api, settings: ApiSettings, root: str = ROOT
) -> Iterator[dict[str, tuple[int, Any]]]:
    """The three servers under `root`, by side: (port, app)."""
    with ExitStack() as stack:
        found = {}
        for side, http in zip(SIDES, (Protocol, "httptools", "httptools"), strict=True):
            app = create_app(api.engine, settings)
            if side == "route":
                app.short_way_on = lambda: False  # type: ignore[method-assign]
            port = stack.enter_context(uvicorn_on_a_free_port(app, http, root_path=root))
            found[side] = (port, app)
        yield found


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The instance ids of the sends each short way took: `protocol` (answered inside the
    HTTP protocol), `lane` (queued on a send lane, by either short way)."""
    found: dict[str, list[str]] = {"protocol": [], "lane": []}
    body_complete, submit = ShortSend.body_complete, SendLane.submit

    def completed(short: ShortSend) -> None:
        found["protocol"].append(short.instance_id)
        body_complete(short)

    def submitted(lane: SendLane, job: Any) -> None:
        found["lane"].append(job.instance_id)
        submit(lane, job)

    monkeypatch.setattr(ShortSend, "body_complete", completed)
    monkeypatch.setattr(SendLane, "submit", submitted)
    return found


def request(path: str, body: bytes, token: str, extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def normal(raw: bytes, instance_id: str) -> bytes:
    """A raw response with its side's instance id as `ID`, its date and commit time masked:
    what must be equal byte for byte."""
    raw = raw.replace(instance_id.encode(), b"ID")
    raw = re.sub(rb"\r\ndate: [^\r]*", b"\r\ndate: -", raw)
    return re.sub(rb'"at":\d+', b'"at":0', raw)


SEND = "/api/v1/instances/{}/events"
NOTE = b'{"type":"NOTE","text":"\xc3\xa9","n":[1,2.5,null]}'
#: name: (start the instance?, path, body, token, extra head, how far a short way takes it:
#: "lane" queued on the send lane, "head" taken by the protocol on its head only, its body
#: then sent the full way, "" not at all)
CASES: dict[str, tuple[bool, str, bytes, str, str, str]] = {
    "sent": (True, SEND, NOTE, "operator", "", "lane"),
    "if-match": (True, SEND, b'{"type":"REJECT"}', "operator", 'If-Match: W/"1"\r\n', "lane"),
    "stale": (True, SEND, b'{"type":"NOTE"}', "operator", 'If-Match: "9"\r\n', "lane"),
    "unknown-token": (True, SEND, b'{"type":"NOTE"}', "sw_nope_0000", "", "lane"),
    "viewer": (True, SEND, b'{"type":"NOTE"}', "viewer", "", "lane"),
    "event-role": (True, SEND, b'{"type":"APPROVE","by":"x"}', "operator", "", "lane"),
    "other-tenant": (True, SEND, b'{"type":"NOTE"}', "other:admin", "", "lane"),
    "missing": (False, SEND, b'{"type":"NOTE"}', "operator", "", "lane"),
    "not-accepted": (True, SEND, b'{"type":"SHIP"}', "operator", "", "lane"),
    "query": (True, SEND + "?x=%22y%22", b'{"type":"NOTE"}', "operator", "", "lane"),
    "close": (True, SEND, b'{"type":"NOTE"}', "operator", "Connection: close\r\n", "lane"),
    "not-an-event": (True, SEND, b'{"type":3}', "operator", "", "head"),
    "not-json": (True, SEND, b"{", "operator", "", "head"),
    "too-large": (True, SEND, b'{"type":"NOTE","t":"' + b"x" * LIMIT + b'"}', "operator", "",
                  ""),
    "keyed": (True, SEND, b'{"type":"NOTE"}', "operator", "Idempotency-Key: k-{id}\r\n", ""),
    "bad-key": (True, SEND, b'{"type":"NOTE"}', "operator", "Idempotency-Key: a b\r\n", ""),
    "bad-if-match": (True, SEND, b'{"type":"NOTE"}', "operator", "If-Match: seven\r\n", ""),
    # A proxy that passes the prefix on: the 404 that says so.
    "doubled": (True, ROOT + SEND, b'{"type":"NOTE"}', "operator", "", ""),
}  # fmt: skip


def test_every_kind_of_send_is_answered_under_a_root_path_as_by_the_route(
    store_url: str, taken: dict[str, list[str]]
) -> None:
    with access_lines() as log:
        logger = logging.getLogger("uvicorn.access")  # as `serve` configures it
        logger.handlers[:] = [h for h in logger.handlers if isinstance(h, AccessHandler)]
        for api in make_api(store_url):
            with served(api, ApiSettings(max_body_bytes=LIMIT, rate=0)) as servers:
                for name, (start, path, body, token, extra, _) in CASES.items():
                    answers = {}
                    for side, (port, _) in servers.items():
                        instance_id = f"{side}-{name}"
                        if start:
                            started = api.client.post(
                                f"/api/v1/instances/{instance_id}",
                                json={"definition": "order", "input": {"amount": 1}},
                                headers=api.auth("operator"),
                            )
                            assert started.status_code == 201
                        secret = api.tokens.get(token, token)
                        raw = request(
                            path.format(instance_id), body, secret, extra.format(id=instance_id)
                        )
                        for _ in range(2 if name == "keyed" else 1):  # keyed: then replayed
                            (answer,) = exchange(port, raw)
                            answers.setdefault(side, []).append(normal(answer, instance_id))
                        if start:
                            one = api.engine.get(instance_id, tenant="acme")
                            answers[side].append(repr((one.version, one.value, one.context)))
                    assert answers["proto"] == answers["route"], name
                    assert answers["asgi_"] == answers["route"], name
                counted = {side: _counted(app) for side, (_, app) in servers.items()}
                deadline = time.monotonic() + 5  # each server logs at the end of its turn
                while len(log.getvalue().splitlines()) < len(SIDES) * (len(CASES) + 1):
                    assert time.monotonic() < deadline, log.getvalue()
                    time.sleep(0.01)
    headed = [name for name, case in CASES.items() if case[5]]
    assert taken["protocol"] == [f"proto-{name}" for name in headed]
    queued = [name for name, case in CASES.items() if case[5] == "lane"]
    assert taken["lane"] == [f"{side}-{name}" for name in queued for side in ("proto", "asgi_")]
    assert counted["proto"] == counted["route"] and counted["asgi_"] == counted["route"]
    lines = {side: [_line(line, side) for line in log.getvalue().splitlines()
                    if f" {ROOT}/api/v1/instances/{side}-" in line or
                    f" {ROOT}{ROOT}/api/v1/instances/{side}-" in line]
             for side in SIDES}  # fmt: skip
    assert lines["proto"] == lines["route"] and lines["asgi_"] == lines["route"]
    assert len(lines["route"]) == len(CASES) + 1


def test_rate_limits_hold_under_a_root_path_on_every_way(
    store_url: str, taken: dict[str, list[str]]
) -> None:
    for api in make_api(store_url):
        with served(api, ApiSettings(rate=0.01, burst=2)) as servers:
            answers = {}
            for side, (port, _) in servers.items():
                instance_id = f"{side}-limited"
                started = api.client.post(
                    f"/api/v1/instances/{instance_id}",
                    json={"definition": "order", "input": {"amount": 1}},
                    headers=api.auth("operator"),
                )
                assert started.status_code == 201
                send = request(SEND.format(instance_id), b'{"type":"NOTE"}', api.tokens["operator"])
                answers[side] = [normal(a, instance_id) for a in exchange(port, send, send, send)]
    assert [a.split(b"\r\n", 1)[0] for a in answers["route"]] == [
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 429 Too Many Requests",
    ]
    assert answers["proto"] == answers["route"] and answers["asgi_"] == answers["route"]
    assert taken["protocol"] == ["proto-limited"] * 3
    assert taken["lane"] == ["proto-limited"] * 3 + ["asgi_-limited"] * 3


def _line(line: str, side: str) -> str:
    """An access line, its client's port and its instance's side left out."""
    prefix, _, rest = line.partition(" - ")
    return prefix.rsplit(":", 1)[0] + " - " + rest.replace(f"/{side}-", "/X-")


def _counted(app: Any) -> list[str]:
    samples = app.state.metrics.requests.collect()[0].samples
    return sorted(f"{s.labels}={s.value}" for s in samples if s.name.endswith("_total"))
