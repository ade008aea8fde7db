"""The send lane (`api/send_lane.py`): sends arriving together are sent as one batch by the
lane's thread, and each is answered with its own response, as the route answers it alone."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from api_kit import CLAIM, Api

from statewright import Machine
from statewright.api import fast_send
from statewright.api.models import EventIn
from statewright.api.views import transition_body, transition_out
from statewright.engine.batch_sending import SendRequest

PATH = "/api/v1/instances/{}/events"
#: A JSON media type the route reads but the short way leaves to it: the route's answers.
ROUTE_ONLY = "application/vnd.statewright+json"

#: Sends of each outcome: (instance, event, token, extra headers).
CASES: dict[str, tuple[str, dict[str, Any], str, dict[str, str]]] = {
    "200": ("order", {"type": "NOTE", "text": "a"}, "operator", {}),
    "200-if-match": ("order", {"type": "REJECT"}, "operator", {"If-Match": '"1"'}),
    "401": ("order", {"type": "NOTE"}, "unknown", {}),
    "403-role": ("order", {"type": "NOTE"}, "viewer", {}),
    "403-event-role": ("order", {"type": "APPROVE", "by": "x"}, "operator", {}),
    "404": ("missing", {"type": "NOTE"}, "operator", {}),
    "404-tenant": ("order", {"type": "NOTE"}, "other:admin", {}),
    "409": ("order", {"type": "SHIP"}, "operator", {}),
    "412": ("order", {"type": "NOTE"}, "operator", {"If-Match": '"9"'}),
    "422": ("claim", {"type": "PAY", "amount": 0}, "operator", {}),
    "200-typed": ("claim", {"type": "PAY", "amount": 4}, "operator", {}),
    "200-approver": ("order", {"type": "APPROVE", "by": "ann"}, "approver", {}),
}


def start(api: Api, instance_id: str, definition: str) -> None:
    body = {"definition": definition, "input": {"amount": 1, "customer": "c"}}
    started = api.client.post(
        f"/api/v1/instances/{instance_id}", json=body, headers=api.auth("operator")
    )
    assert started.status_code == 201, started.text


def request_of(api: Api, name: str, instance_id: str, content_type: str) -> dict[str, Any]:
    _, event, token, extra = CASES[name]
    secret = {"Authorization": "Bearer sw_unknown_0000"} if token == "unknown" else api.auth(token)
    headers = {"Content-Type": content_type} | secret | extra
    return {"url": PATH.format(instance_id), "content": json.dumps(event), "headers": headers}


def shown(response: httpx.Response, instance_id: str) -> Any:
    """The response, its instance id as `ID` and its commit time left out (to compare two)."""
    body = json.loads(response.text.replace(instance_id, "ID"))
    body.pop("at", None)
    kept = ("content-type", "content-length", "etag", "www-authenticate", "retry-after")
    return response.status_code, body, {name: response.headers.get(name) for name in kept}


async def concurrently(api: Api, requests: Sequence[dict[str, Any]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=api.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(await asyncio.gather(*(client.post(**request) for request in requests)))


def test_sends_arriving_together_are_each_answered_as_the_route_answers_them(api: Api) -> None:
    api.engine.register(Machine.from_config(CLAIM))
    for name, (kind, *_) in CASES.items():
        if kind != "missing":
            start(api, f"lane-{name}", kind)
            start(api, f"full-{name}", kind)
    ids = {name: ("x" if CASES[name][0] == "missing" else name) for name in CASES}
    batched = Batches(api)
    lane = asyncio.run(
        concurrently(
            api,
            [request_of(api, n, f"lane-{ids[n]}", "application/json") for n in CASES],
        )
    )
    route = [api.client.post(**request_of(api, n, f"full-{ids[n]}", ROUTE_ONLY)) for n in CASES]
    for name, got, expected in zip(CASES, lane, route, strict=True):
        assert got.status_code == int(name[:3]), (name, got.text)
        assert shown(got, f"lane-{ids[name]}") == shown(expected, f"full-{ids[name]}"), name
    assert sum(batched.sizes) == 10  # all but the 401 and the viewer reach the engine
    for name in CASES:
        if CASES[name][0] != "missing":
            lane_one = api.engine.get(f"lane-{name}", tenant="acme")
            full_one = api.engine.get(f"full-{name}", tenant="acme")
            assert (lane_one.version, lane_one.value, lane_one.context) == (
                full_one.version,
                full_one.value,
                full_one.context,
            )


class Batches:
    """Records the batches the engine is given; with `hold`, the first batch of each lane
    thread waits until the batches held and the sends queued meanwhile make `hold`, so that
    those are sent in the fewest batches."""

    def __init__(self, api: Api, hold: int = 0) -> None:
        self.sizes: list[int] = []
        self.held = 0
        engine = api.engine
        lane = api.client.app.state.send_lane._lane  # type: ignore[attr-defined]
        send_many = engine.send_many
        first = threading.local()

        def recorded(requests: Sequence[SendRequest]) -> Any:
            self.sizes.append(len(requests))
            if hold and not getattr(first, "seen", False):
                first.seen = True
                self.held += len(requests)
                deadline = time.monotonic() + 10
                while self.held + len(lane._queue) < hold and time.monotonic() < deadline:
                    time.sleep(0.001)
            return send_many(requests)

        engine.send_many = recorded  # type: ignore[method-assign]


@pytest.mark.slow
def test_the_sends_queued_meanwhile_form_one_batch_and_each_gets_its_own_version(
    api: Api,
) -> None:
    for n in range(8):
        start(api, f"o{n}", "order")
    batched = Batches(api, hold=40)
    requests = [request_of(api, "200", f"o{k % 8}", "application/json") for k in range(40)]
    answers = asyncio.run(concurrently(api, requests))
    assert [a.status_code for a in answers] == [200] * 40
    # The lane's threads (one per batch the store commits at once) each hold a batch, and
    # the rest queued meanwhile: sent in a batch each after.
    threads = api.client.app.state.send_lane._lane._most  # type: ignore[attr-defined]
    assert sum(batched.sizes) == 40 and len(batched.sizes) <= 2 * threads
    for n in range(8):
        versions = sorted(int(a.headers["etag"].strip('"')) for a in answers[n::8])
        assert versions == [2, 3, 4, 5, 6]  # five sends each: none lost, none doubled
        assert api.engine.get(f"o{n}", tenant="acme").version == 6
        assert api.engine.verify(f"o{n}", tenant="acme").ok


def test_an_unexpected_failure_is_a_logged_500_problem_and_counted(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    start(api, "o1", "order")

    def broken(requests: Sequence[SendRequest]) -> Any:
        raise RuntimeError("a bug")

    api.engine.send_many = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, "statewright.api"):
        response = api.client.post(
            PATH.format("o1"), json={"type": "NOTE"}, headers=api.auth("operator")
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("internal-error")
    assert "a bug" in caplog.text
    metrics = api.client.get("/api/metrics", headers=api.auth("viewer")).text
    assert (
        'statewright_http_requests_total{method="POST",'
        'route="/api/v1/instances/{instance_id}/events",status="500"} 1.0'
    ) in metrics


def test_a_revoked_token_is_refused_by_the_next_send(api: Api) -> None:
    start(api, "o1", "order")
    secret = api.engine.create_token(tenant="acme", role="operator", name="short")[1]
    headers = {"Authorization": f"Bearer {secret}"}
    sent = api.client.post(PATH.format("o1"), json={"type": "NOTE"}, headers=headers)
    assert sent.status_code == 200
    api.engine.revoke_token(secret.split("_")[1])
    refused = api.client.post(PATH.format("o1"), json={"type": "NOTE"}, headers=headers)
    assert refused.status_code == 401
    assert api.engine.get("o1", tenant="acme").version == 2


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "NOTE"}',
        b'{"text": "\xc3\xa9", "type": "NOTE", "n": [1, 2.5, null, true], "o": {"a": {}}}',
        b'{"type": "' + b"T" * 200 + b'", "big": 123456789012345678901234567890}',
    ],
)
def test_the_short_way_reads_an_event_as_the_route_does(body: bytes) -> None:
    read = fast_send.event_of(body)
    assert read == EventIn.model_validate(json.loads(body)).model_dump(mode="json")
    assert read is not None and list(read) == list(EventIn.model_validate_json(body).model_dump())


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
def test_the_short_way_reads_the_encodings_json_reads(encoding: str) -> None:
    body = '{"type": "NOTE", "text": "é"}'.encode(encoding)
    assert fast_send.event_of(body) == json.loads(body)


@pytest.mark.parametrize(
    "body", [b'{"type": ""}', b'{"type": 3}', b'["NOTE"]', b'{"type": "N", "x": NaN}', b"{"]
)
def test_what_is_not_plainly_an_event_is_left_to_the_route(body: bytes) -> None:
    assert fast_send.event_of(body) is None


def test_the_lanes_body_is_the_routes(api: Api) -> None:
    start(api, "o1", "order")
    entry = api.engine.send("o1", {"type": "NOTE", "text": "é", "n": [1.5]}, tenant="acme")
    for payloads in (True, False):
        expected = transition_out(entry, payloads=payloads).model_dump(mode="json")
        made = transition_body(entry, payloads=payloads)
        assert (made, list(made)) == (expected, list(expected))
