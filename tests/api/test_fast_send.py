"""The send route's short way (`api/fast_send.py`): a well-formed send is answered without
FastAPI's routing, as the route answers it; anything else reaches the route unchanged."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from api_kit import Api

from statewright.api.fast_send import FastSend

PATH = "/api/v1/instances/{}/events"
#: A JSON media type the route reads but the short way leaves to it.
ROUTE_ONLY = "application/vnd.statewright+json"


def start(api: Api, *ids: str) -> None:
    for instance_id in ids:
        body = {"definition": "order", "input": {"amount": 1}}
        started = api.client.post(
            f"/api/v1/instances/{instance_id}", json=body, headers=api.auth("operator")
        )
        assert started.status_code == 201


def answered(api: Api, instance_id: str, content_type: str, case: dict[str, Any]) -> Any:
    """The response to one case, its instance id replaced by `ID` (to compare two)."""
    headers = {"Content-Type": content_type} | api.auth(case.get("token", "operator"))
    headers |= {k: v.format(id=instance_id) for k, v in case.get("headers", {}).items()}
    path = PATH.format(case.get("instance", instance_id))
    response = api.client.post(path, content=json.dumps(case["event"]), headers=headers)
    body = json.loads(response.text.replace(instance_id, "ID"))
    body.pop("at", None)  # the commit's time
    kept = ("content-type", "etag", "www-authenticate", "idempotent-replayed", "retry-after")
    return response.status_code, body, {name: response.headers.get(name) for name in kept}


CASES = {
    "sent": {"event": {"type": "NOTE", "text": "a", "n": [1, 2.5, None]}},
    "not-accepted": {"event": {"type": "SHIP"}},
    "role-too-low": {"event": {"type": "APPROVE", "by": "x"}},
    "stale-if-match": {"event": {"type": "NOTE", "text": "b"}, "headers": {"If-Match": '"7"'}},
    "malformed-if-match": {"event": {"type": "NOTE"}, "headers": {"If-Match": "seven"}},
    "current-if-match": {"event": {"type": "REJECT"}, "headers": {"If-Match": 'W/"1"'}},
    "unknown-token": {
        "event": {"type": "NOTE"},
        "headers": {"Authorization": "Bearer sw_not_a_token"},
    },
    "viewer": {"event": {"type": "NOTE"}, "token": "viewer"},
    "other-tenant": {"event": {"type": "NOTE"}, "token": "other:admin"},
    "malformed-key": {"event": {"type": "NOTE"}, "headers": {"Idempotency-Key": "a b"}},
    "keyed": {"event": {"type": "NOTE", "text": "k"}, "headers": {"Idempotency-Key": "k-{id}"}},
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_send_is_answered_alike_by_the_short_way_and_by_the_route(api: Api, name: str) -> None:
    case = CASES[name]
    start(api, "fast", "route")
    short = answered(api, "fast", "application/json; charset=utf-8", case)
    full = answered(api, "route", ROUTE_ONLY, case)
    assert short == full
    if name == "keyed":  # sent again: replayed on both ways
        assert answered(api, "fast", "application/json", case)[2]["idempotent-replayed"] == "true"
        assert answered(api, "route", ROUTE_ONLY, case)[2]["idempotent-replayed"] == "true"
    fast, route = (api.engine.get(i, tenant="acme") for i in ("fast", "route"))
    assert (fast.version, fast.value, fast.context) == (route.version, route.value, route.context)


class Recorder:
    """An inner app that records what reaches it and answers 299."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def call(api: Api, headers: dict[str, str], body: bytes, *, path: str = PATH.format("o1")) -> Any:
    """FastSend over a `Recorder`, called once as the app's middleware is: (status, recorder)."""
    inner = Recorder()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "app": api.client.app,
    }
    chunks = [body[:3], body[3:]]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(FastSend(inner)(scope, receive, send))
    return sent[0]["status"], inner


def test_the_short_way_answers_well_formed_sends_itself(api: Api) -> None:
    start(api, "o1")
    body = b'{"type": "NOTE", "text": "short"}'
    json_headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    status, inner = call(api, api.auth("operator") | json_headers, body)
    assert (status, inner.bodies) == (200, [])
    refused, inner = call(api, api.auth("viewer") | json_headers, body)
    assert (refused, inner.bodies) == (403, [])  # the app's own problem, from the short way
    assert api.engine.get("o1", tenant="acme").context["note"] == "short"


JSON = "application/json"


@pytest.mark.parametrize(
    ("content_type", "length", "body", "instance_id"),
    [
        (JSON, None, b'{"type": "NOTE"}', "o1"),
        ("text/plain", "16", b'{"type": "NOTE"}', "o1"),
        (JSON, "9", b"not json!", "o1"),
        (JSON, "8", b'["NOTE"]', "o1"),
        (JSON, "12", b'{"type": ""}', "o1"),
        (JSON, "16", b'{"type": "NOTE"}', "i" * 201),
    ],
    ids=["chunked", "not-json-type", "garbage", "array", "empty-type", "long-id"],
)
def test_anything_else_reaches_the_route_with_its_body(
    api: Api, content_type: str, length: str | None, body: bytes, instance_id: str
) -> None:
    headers = {"Content-Type": content_type} | ({"Content-Length": length} if length else {})
    status, inner = call(api, api.auth("operator") | headers, body, path=PATH.format(instance_id))
    assert (status, inner.bodies) == (299, [body])


def test_no_bearer_token_reaches_the_route(api: Api) -> None:
    body = b'{"type": "NOTE"}'
    headers = {"Content-Type": "application/json", "Content-Length": "16"}
    for auth in ({}, {"Authorization": "Basic dTpw"}, {"Authorization": "Bearer "}):
        status, inner = call(api, auth | headers, body)
        assert (status, inner.bodies) == (299, [body])


def test_short_way_sends_are_counted_under_the_route_template(api: Api) -> None:
    start(api, "o1")
    sent = api.client.post(PATH.format("o1"), json={"type": "NOTE"}, headers=api.auth("operator"))
    assert sent.status_code == 200
    metrics = api.client.get("/api/metrics", headers=api.auth("viewer")).text
    assert (
        'statewright_http_requests_total{method="POST",'
        'route="/api/v1/instances/{instance_id}/events",status="200"} 1.0'
    ) in metrics


START_CASES = {
    "keyed": {"body": {"definition": "order", "input": {"amount": 3}}, "key": "k-{way}"},
    "keyed-again-other-body": {
        "body": {"definition": "order", "input": {"amount": 4}},
        "key": "k-{way}",
        "before": {"definition": "order", "input": {"amount": 3}},
    },
    "malformed-key": {"body": {"definition": "order"}, "key": "a b"},
    "viewer": {"body": {"definition": "order"}, "key": "v-{way}", "token": "viewer"},
    "unknown-definition": {"body": {"definition": "ordr"}, "key": "u-{way}"},
    "not-plainly-a-start": {"body": {"definition": "order", "extra": 1}, "key": "x-{way}"},
}


def started(api: Api, way: str, path: str, case: dict[str, Any]) -> Any:
    """The response to a keyed start, the way's name replaced by `WAY` (to compare two)."""
    content_type = JSON if way == "fast" else ROUTE_ONLY
    headers = {"Content-Type": content_type} | api.auth(case.get("token", "operator"))
    headers["Idempotency-Key"] = case["key"].format(way=way)
    responses = []
    for body in (case.get("before", case["body"]), case["body"]):
        response = api.client.post(path.format(way=way), content=json.dumps(body), headers=headers)
        text = response.text.replace(way, "WAY")
        answer = json.loads(text)
        answer.pop("created_at", None), answer.pop("updated_at", None)
        if isinstance(answer.get("id"), str) and len(answer["id"]) == 32:
            answer["id"] = "GENERATED"  # from the key, which differs between the two ways
        kept = ("content-type", "etag", "idempotent-replayed")
        headers_kept = {name: response.headers.get(name) for name in kept}
        location = response.headers.get("location")
        headers_kept["location"] = location and location.rsplit("/", 1)[0]
        responses.append((response.status_code, answer, headers_kept))
    return responses


@pytest.mark.parametrize("path", ["/api/v1/instances", "/api/v1/instances/s-{way}"])
@pytest.mark.parametrize("name", list(START_CASES))
def test_a_keyed_start_is_answered_alike_by_the_short_way_and_by_the_route(
    api: Api, name: str, path: str
) -> None:
    case = START_CASES[name]
    assert started(api, "fast", path, case) == started(api, "route", path, case)


def test_the_short_way_answers_a_well_formed_keyed_start_itself(api: Api) -> None:
    body = b'{"definition": "order", "input": {"amount": 5}}'
    headers = {"Content-Type": JSON, "Content-Length": str(len(body)), "Idempotency-Key": "s1"}
    path = "/api/v1/instances/k1"
    status, inner = call(api, api.auth("operator") | headers, body, path=path)
    assert (status, inner.bodies) == (201, [])
    again, inner = call(api, api.auth("operator") | headers, body, path=path)
    assert (again, inner.bodies) == (201, [])  # the kept answer
    assert api.engine.get("k1", tenant="acme").context["amount"] == 5
