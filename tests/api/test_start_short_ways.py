"""A start's short ways (`api/start_lane.py` under `fast_send.py` and `protocol_sends.py`):
over real sockets, a server on `serve`'s protocol, one on uvicorn's own and one whose short
ways are off (every start through the route) answer every kind of start with the same
bytes, the same access lines and the same metrics, at the root and under a root path; the
plain ones are made on the start lane, in batches through `Engine.start_many`."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from api_kit import CLAIM, Api, access_lines, make_api
from test_fast_send_under_root_path import ROOT, SIDES, _counted, _line, request, served
from test_protocol_sends import exchange

from statewright import Machine
from statewright.api import ApiSettings, fast_send
from statewright.api.access_log import AccessHandler
from statewright.api.models import StartIn
from statewright.api.protocol_sends import ShortSend
from statewright.api.start_lane import StartLane, start_of
from statewright.api.views import instance_body, instance_out
from statewright.engine.batch_starting import StartRequest

pytestmark = pytest.mark.slow

LIMIT = 4096
START = "/api/v1/instances"
CHOSEN = "/api/v1/instances/{}"
ORDER = b'{"definition":"order","input":{"amount":1}}'
#: name: (start the instance first?, path, body, token, extra head, how far a short way
#: takes it: "lane" made on the start lane, "head" taken by the protocol on its head only,
#: its body then sent the full way, "" not at all)
CASES: dict[str, tuple[bool, str, bytes, str, str, str]] = {
    "generated": (False, START, ORDER, "operator", "", "lane"),
    "chosen": (False, CHOSEN, b'{"input":{"amount":2,"t":"\xc3\xa9"},"definition":"order",'
               b'"version":null}', "operator", "", "lane"),
    "version": (False, CHOSEN, b'{"definition":"order","input":{"amount":1},"version":1}',
                "operator", "", "lane"),
    "unknown-version": (False, CHOSEN, b'{"definition":"order","version":9}', "operator", "",
                        "lane"),
    "exists": (True, CHOSEN, ORDER, "operator", "", "lane"),
    "unknown-definition": (False, CHOSEN, b'{"definition":"nope"}', "operator", "", "lane"),
    "input-schema": (False, CHOSEN, b'{"definition":"claim","input":{"c":1}}', "operator", "",
                     "lane"),
    "typed": (False, START, b'{"definition":"claim","input":{"customer":"c"}}', "operator", "",
              "lane"),
    "unknown-token": (False, CHOSEN, ORDER, "sw_nope_0000", "", "lane"),
    "viewer": (False, START, ORDER, "viewer", "", "lane"),
    "other-tenant": (False, CHOSEN, ORDER, "other:admin", "", "lane"),
    "no-payloads": (False, CHOSEN, ORDER, "no-payloads-operator", "", "lane"),
    "if-match": (False, CHOSEN, ORDER, "operator", "If-Match: seven\r\n", "lane"),
    "query": (False, CHOSEN + "?x=%22y%22", ORDER, "operator", "", "lane"),
    "close": (False, START, ORDER, "operator", "Connection: close\r\n", "lane"),
    "not-a-start": (False, CHOSEN, b'{"definition":3}', "operator", "", "head"),
    "extra-member": (False, CHOSEN, b'{"definition":"order","x":1}', "operator", "", "head"),
    "float-version": (False, START, b'{"definition":"order","input":{"amount":1},'
                      b'"version":1.0}', "operator", "", "head"),
    "long-definition": (False, START, b'{"definition":"' + b"d" * 201 + b'"}', "operator", "",
                        "head"),
    "not-json": (False, START, b"{", "operator", "", "head"),
    "empty": (False, START, b"", "operator", "", "head"),
    "deep-input": (False, CHOSEN, b'{"definition":"order","input":' + b"[" * 70 + b"]" * 70
                   + b"}", "operator", "", "head"),
    "too-large": (False, START, b'{"definition":"order","input":"' + b"x" * LIMIT + b'"}',
                  "operator", "", ""),
    "keyed": (False, START, ORDER, "operator", "Idempotency-Key: k-{id}\r\n", ""),
    "keyed-chosen": (False, CHOSEN, ORDER, "operator", "Idempotency-Key: k-{id}\r\n", ""),
    "bad-key": (False, START, ORDER, "operator", "Idempotency-Key: a b\r\n", ""),
}  # fmt: skip
#: A generated instance id (a UUID's hex, from uuid4 or, for a keyed start, uuid5).
_GENERATED = re.compile(rb"[0-9a-f]{32}")


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The instance ids of the starts each short way took: `protocol` (answered inside the
    HTTP protocol), `lane` (queued on a start lane, by either short way); a generated id
    as "generated"."""
    found: dict[str, list[str]] = {"protocol": [], "lane": []}
    body_complete, submit = ShortSend.body_complete, StartLane.submit

    def completed(short: ShortSend) -> None:
        found["protocol"].append(short.instance_id or "generated")
        body_complete(short)

    def submitted(lane: StartLane, job: Any) -> None:
        generated = _GENERATED.fullmatch(job.instance_id.encode())
        found["lane"].append("generated" if generated else job.instance_id)
        submit(lane, job)

    monkeypatch.setattr(ShortSend, "body_complete", completed)
    monkeypatch.setattr(StartLane, "submit", submitted)
    return found


def normal(raw: bytes, instance_id: str) -> bytes:
    """A raw response with its side's instance id as `ID`, a generated id as `GEN`, its date
    and times masked: what must be equal byte for byte."""
    raw = raw.replace(instance_id.encode(), b"ID")
    raw = _GENERATED.sub(b"GEN", raw)
    raw = re.sub(rb"\r\ndate: [^\r]*", b"\r\ndate: -", raw)
    return re.sub(rb'"(created_at|updated_at)":\d+', rb'"\1":0', raw)


@pytest.mark.parametrize("root", ["", ROOT], ids=["at-the-root", "under-a-root-path"])
def test_every_kind_of_start_is_answered_by_the_short_ways_as_by_the_route(
    store_url: str, taken: dict[str, list[str]], root: str
) -> None:
    cases = dict(CASES)
    if root:  # a proxy that passes the prefix on: the 404 that says so
        cases["doubled"] = (False, ROOT + CHOSEN, ORDER, "operator", "", "")
    with access_lines() as log:
        logger = logging.getLogger("uvicorn.access")  # as `serve` configures it
        logger.handlers[:] = [h for h in logger.handlers if isinstance(h, AccessHandler)]
        for api in make_api(store_url):
            api.engine.register(Machine.from_config(CLAIM))
            api.tokens["no-payloads-operator"] = api.engine.create_token(
                tenant="acme", role="operator", payloads=False
            )[1]
            lines: dict[str, list[str]] = {side: [] for side in SIDES}
            with served(api, ApiSettings(max_body_bytes=LIMIT, rate=0), root) as servers:
                for name, (first, path, body, token, extra, _) in cases.items():
                    answers = {}
                    for side, (port, _) in servers.items():
                        instance_id = f"{side}-{name}"
                        if first:
                            api.engine.start(
                                "order", input={"amount": 1}, instance_id=instance_id, tenant="acme"
                            )
                        secret = api.tokens.get(token, token)
                        raw = request(
                            path.format(instance_id),
                            body,
                            secret,
                            extra.format(id=instance_id),
                        )
                        for _ in range(2 if name.startswith("keyed") else 1):  # then replayed
                            seen = len(log.getvalue().splitlines())
                            (answer,) = exchange(port, raw)
                            answers.setdefault(side, []).append(normal(answer, instance_id))
                            lines[side] += _logged(log, seen)
                        tenant = "other" if token.startswith("other:") else "acme"
                        one = api.engine.store.load_instance(tenant, instance_id)
                        answers[side].append(repr(None if one is None else one.version))
                    assert answers["proto"] == answers["route"], name
                    assert answers["asgi_"] == answers["route"], name
                    status = answers["route"][0].split(b"\r\n", 1)[0]
                    assert status == _STATUS.get(name, b"HTTP/1.1 201 Created"), name
                    if name == "chosen":
                        where = f"location: {root}/api/v1/instances/ID\r\n".encode()
                        assert where in answers["route"][0]
                counted = {side: _counted(app) for side, (_, app) in servers.items()}
    headed = [name for name, case in cases.items() if case[5]]
    assert taken["protocol"] == [_id("proto", name) for name in headed]
    queued = [name for name, case in cases.items() if case[5] == "lane"]
    assert taken["lane"] == [_id(side, name) for name in queued for side in ("proto", "asgi_")]
    assert counted["proto"] == counted["route"] and counted["asgi_"] == counted["route"]
    for route, status in ((START, "201"), ("/api/v1/instances/{instance_id}", "409")):
        labels = {"method": "POST", "route": route, "status": status}
        assert any(c.startswith(f"{labels}=") for c in counted["route"]), counted["route"]
    shown = {side: [_line(line, side) for line in found] for side, found in lines.items()}
    assert shown["proto"] == shown["route"] and shown["asgi_"] == shown["route"]
    assert len(shown["route"]) == len(cases) + 2  # each keyed start twice


#: The answers other than a 201.
_STATUS = {
    "unknown-version": b"HTTP/1.1 404 Not Found",
    "exists": b"HTTP/1.1 409 Conflict",
    "unknown-definition": b"HTTP/1.1 404 Not Found",
    "input-schema": b"HTTP/1.1 422 Unprocessable Entity",
    "unknown-token": b"HTTP/1.1 401 Unauthorized",
    "viewer": b"HTTP/1.1 403 Forbidden",
    "not-a-start": b"HTTP/1.1 422 Unprocessable Entity",
    "extra-member": b"HTTP/1.1 422 Unprocessable Entity",
    "long-definition": b"HTTP/1.1 422 Unprocessable Entity",
    "not-json": b"HTTP/1.1 422 Unprocessable Entity",
    "empty": b"HTTP/1.1 422 Unprocessable Entity",
    "deep-input": b"HTTP/1.1 422 Unprocessable Entity",
    "too-large": b"HTTP/1.1 413 Request Entity Too Large",
    "bad-key": b"HTTP/1.1 422 Unprocessable Entity",
    "doubled": b"HTTP/1.1 404 Not Found",
}


def _id(side: str, name: str) -> str:
    """The instance id a case's start is made under (`generated` when the path names none)."""
    return "generated" if CASES.get(name, (0, ""))[1] == START else f"{side}-{name}"


def _logged(log: Any, seen: int) -> list[str]:
    """The access line the server writes after its answer (at the end of its turn)."""
    deadline = time.monotonic() + 5
    while len(log.getvalue().splitlines()) <= seen:
        assert time.monotonic() < deadline, log.getvalue()
        time.sleep(0.005)
    found: list[str] = log.getvalue().splitlines()[seen:]
    return [_GENERATED.sub(b"GEN", line.encode()).decode() for line in found]


def test_rate_limits_hold_for_starts_on_every_way(
    store_url: str, taken: dict[str, list[str]]
) -> None:
    for api in make_api(store_url):
        with served(api, ApiSettings(rate=0.01, burst=2), "") as servers:
            answers = {}
            for side, (port, _) in servers.items():
                start = request(START, ORDER, api.tokens["operator"])
                answers[side] = [normal(a, "-") for a in exchange(port, start, start, start)]
    assert [a.split(b"\r\n", 1)[0] for a in answers["route"]] == [
        b"HTTP/1.1 201 Created",
        b"HTTP/1.1 201 Created",
        b"HTTP/1.1 429 Too Many Requests",
    ]
    assert answers["proto"] == answers["route"] and answers["asgi_"] == answers["route"]
    assert taken["protocol"] == ["generated"] * 3
    assert taken["lane"] == ["generated"] * 6


class Batches:
    """Records the batches the engine is given to start."""

    def __init__(self, api: Api) -> None:
        self.sizes: list[int] = []
        start_many = api.engine.start_many

        def recorded(requests: Sequence[StartRequest]) -> Any:
            self.sizes.append(len(requests))
            return start_many(requests)

        api.engine.start_many = recorded  # type: ignore[method-assign]


async def concurrently(api: Api, requests: Sequence[dict[str, Any]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=api.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(await asyncio.gather(*(client.post(**request) for request in requests)))


def test_starts_arriving_together_are_made_in_batches_each_answered_its_own(api: Api) -> None:
    batched = Batches(api)
    headers = api.auth("operator") | {"Content-Type": "application/json"}
    requests = [{"url": START, "content": ORDER, "headers": headers} for _ in range(20)]
    requests += [{"url": CHOSEN.format(f"c{n}"), "content": ORDER, "headers": headers}
                 for n in range(20)]  # fmt: skip
    requests += [{"url": CHOSEN.format("twice"), "content": ORDER, "headers": headers}] * 2
    answers = asyncio.run(concurrently(api, requests))
    assert sorted(a.status_code for a in answers) == [201] * 41 + [409]
    assert sum(batched.sizes) == 42 and len(batched.sizes) < 42
    ids = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(ids) == 41
    for answer in answers:
        if answer.status_code == 201:
            made = answer.json()
            assert answer.headers["location"] == CHOSEN.format(made["id"])
            assert api.engine.verify(made["id"], tenant="acme").ok


def test_an_unexpected_failure_of_a_start_is_a_logged_500_problem_and_counted(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(requests: Sequence[StartRequest]) -> Any:
        raise RuntimeError("a bug")

    api.engine.start_many = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, "statewright.api"):
        failed = api.client.post(START, json=json.loads(ORDER), headers=api.auth("operator"))
    problem = (failed.status_code, failed.headers["content-type"], failed.json()["title"])
    assert problem == (500, "application/problem+json", "Internal server error")
    assert "a bug" in caplog.text
    labels = {"method": "POST", "route": START, "status": "500"}
    assert f"{labels}=1.0" in _counted(api.client.app)


@pytest.mark.parametrize(
    "body",
    [
        b'{"definition": "order"}',
        b'{"input": {"t": "\xc3\xa9", "n": [1, 2.5, null, true]}, "definition": "d", "version": 3}',
        b'{"definition": "' + b"d" * 200 + b'", "input": 123456789012345678901234567890}',
        b'{"definition": "d", "version": 2147483647, "input": null}',
    ],
)
def test_the_short_way_reads_a_start_as_the_route_does(body: bytes) -> None:
    read = start_of(fast_send.parsed(body), body)
    assert read is not None
    model = StartIn.model_validate(json.loads(body))
    assert (read["definition"], read.get("input"), read.get("version")) == (
        model.definition,
        model.input,
        model.version,
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"definition": ""}',
        b'{"definition": 3}',
        b'{"definition": "d", "version": 0}',
        b'{"definition": "d", "version": 2147483648}',
        b'{"definition": "d", "version": true}',
        b'{"definition": "d", "extra": 1}',
        b'{"definition": "d", "input": NaN}',
        b'["d"]',
        b"{",
    ],
)
def test_what_is_not_plainly_a_start_is_left_to_the_route(body: bytes) -> None:
    assert start_of(fast_send.parsed(body), body) is None


def test_the_start_lanes_body_is_the_routes(api: Api) -> None:
    instance = api.engine.start("order", input={"amount": 1.5, "t": "é"}, tenant="acme")
    for payloads in (True, False):
        expected = instance_out(instance, payloads=payloads).model_dump(mode="json")
        made = instance_body(instance, payloads=payloads)
        assert (made, list(made)) == (expected, list(expected))
