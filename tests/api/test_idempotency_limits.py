"""Idempotency-Key (same key and body → the first response replayed; other body → 422;
still running → 409), the body limit (413) and malformed bodies (422), as problem+json,
and the per-token rate limit (429)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from api_kit import Api, make_api

from statewright.api import ApiSettings

PROBLEM = "application/problem+json"


def send(api: Api, body: object, key: str | None, path: str = "/api/v1/instances/o1/events") -> Any:
    headers = api.auth("admin") | ({"Idempotency-Key": key} if key else {})
    return api.client.post(path, json=body, headers=headers)


def start_o1(api: Api) -> None:
    body = {"definition": "order", "input": {"amount": 1}}
    assert send(api, body, None, "/api/v1/instances/o1").status_code == 201


def test_a_send_repeated_with_its_key_is_answered_once(api: Api) -> None:
    start_o1(api)
    first = send(api, {"type": "NOTE", "text": "a"}, "k-1")
    again = send(api, {"type": "NOTE", "text": "a"}, "k-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.headers["etag"] == again.headers["etag"] == '"2"'
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert api.engine.get("o1", tenant="acme").version == 2


def test_a_start_repeated_with_its_key_makes_one_instance(api: Api) -> None:
    body = {"definition": "order", "input": {"amount": 2}}
    first = send(api, body, "start-1", "/api/v1/instances")
    again = send(api, body, "start-1", "/api/v1/instances")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.headers["location"] == again.headers["location"]
    assert len(api.engine.list(tenant="acme")) == 1


def test_a_start_whose_response_was_lost_is_answered_from_the_instance(api: Api) -> None:
    body = {"definition": "order", "input": {"amount": 2}}
    first = send(api, body, "lost-1", "/api/v1/instances")
    api.engine.store.forget_requests(2**62)  # as if the kept response were never written
    again = send(api, body, "lost-1", "/api/v1/instances")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert len(api.engine.list(tenant="acme")) == 1


def test_a_key_reused_for_another_request_is_422_and_changes_nothing(api: Api) -> None:
    start_o1(api)
    send(api, {"type": "NOTE", "text": "a"}, "k-2")
    other = send(api, {"type": "NOTE", "text": "b"}, "k-2")
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert "new key" in other.json()["detail"]
    elsewhere = send(api, {"type": "NOTE", "text": "a"}, "k-2", "/api/v1/instances/o2/events")
    assert elsewhere.status_code == 422
    assert api.engine.get("o1", tenant="acme").context["note"] == "a"


def test_a_key_still_being_handled_is_409(api: Api) -> None:
    start_o1(api)
    body = {"type": "NOTE", "text": "a"}
    text = json.dumps(
        {
            "method": "POST",
            "path": "/api/v1/instances/o1/events",
            "body": {"event": body, "if_match": None},
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert (
        api.engine.claim_request("acme", "k-3", hashlib.sha256(text.encode()).hexdigest()) is None
    )
    busy = send(api, body, "k-3")
    assert busy.status_code == 409 and busy.headers["retry-after"] == "1"
    assert busy.json()["type"].endswith("request-in-progress")
    assert api.engine.get("o1", tenant="acme").version == 1


def test_a_refusal_is_replayed_too_and_keys_are_per_tenant(api: Api) -> None:
    start_o1(api)
    first = send(api, {"type": "SHIP"}, "k-4")
    again = send(api, {"type": "SHIP"}, "k-4")
    assert first.status_code == again.status_code == 409
    assert first.json() == again.json()
    assert again.headers["content-type"] == PROBLEM
    other = api.client.post(
        "/api/v1/instances/o1/events",
        json={"type": "SHIP"},
        headers=api.auth("other:admin") | {"Idempotency-Key": "k-4"},
    )
    assert other.status_code == 404, "another tenant's key space, and no such instance there"


def test_a_malformed_key_is_422(api: Api) -> None:
    start_o1(api)
    response = send(api, {"type": "NOTE", "text": "a"}, "with space")
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]


def test_an_oversized_body_is_413_as_problem_json(api: Api) -> None:
    start_o1(api)
    big = {"type": "NOTE", "text": "x" * 5000}
    response = send(api, big, None)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert "4096 bytes" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it is read
        yield b'{"type": "NOTE", "text": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    streamed = api.client.post(
        "/api/v1/instances/o1/events",
        content=chunks(),
        headers=api.auth("admin") | {"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413 and streamed.headers["content-type"] == PROBLEM
    assert api.engine.get("o1", tenant="acme").version == 1


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"not json", "application/json"),
        (b'{"type": ', "application/json"),
        (b"type=NOTE", "application/x-www-form-urlencoded"),
        (b'["NOTE"]', "application/json"),
        (b'{"text": "no type"}', "application/json"),
    ],
    ids=["garbage", "truncated", "form", "array", "no-type"],
)
def test_a_non_json_or_malformed_body_is_422_as_problem_json(
    api: Api, content: bytes, content_type: str
) -> None:
    start_o1(api)
    response = api.client.post(
        "/api/v1/instances/o1/events",
        content=content,
        headers=api.auth("admin") | {"Content-Type": content_type},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["errors"] and body["detail"].endswith("of the documented shape")
    assert api.engine.get("o1", tenant="acme").version == 1


@pytest.fixture
def limited(store_url: str) -> Iterator[Api]:
    yield from make_api(store_url, ApiSettings(rate=0.001, burst=3))


def test_each_token_is_rate_limited_on_its_own(limited: Api) -> None:
    statuses = [
        limited.client.get("/api/v1/definitions", headers=limited.auth("viewer")).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = limited.client.get("/api/v1/definitions", headers=limited.auth("viewer"))
    assert refused.headers["content-type"] == PROBLEM and int(refused.headers["retry-after"]) > 0
    assert (
        limited.client.get("/api/v1/definitions", headers=limited.auth("admin")).status_code == 200
    )


def test_concurrent_requests_with_one_key_move_the_instance_once(api: Api) -> None:
    start_o1(api)
    barrier = threading.Barrier(6)
    responses: list[Any] = []

    def one() -> None:
        barrier.wait()
        responses.append(send(api, {"type": "NOTE", "text": "once"}, "race-1"))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(responses) == 6
    answered = [r for r in responses if r.status_code == 200]
    busy = [r for r in responses if r.status_code == 409]
    assert answered and len(answered) + len(busy) == 6, [r.status_code for r in responses]
    assert all(r.json() == answered[0].json() for r in answered)
    assert all(r.json()["type"].endswith("request-in-progress") for r in busy)
    assert api.engine.get("o1", tenant="acme").version == 2
