"""Answers an API client builds on: a send the other writers kept beating is not kept under
its Idempotency-Key (its problem says to send it again); the live stream refuses a
definition filter naming no definition as the lists do; a number too large for a float or a
lone surrogate gets the same problem whichever way the body came; and the OpenAPI document
lists the statuses the server sends."""

from __future__ import annotations

from typing import Any

import pytest
from api_kit import Api

from statewright.errors import VersionConflict


def start(api: Api, instance_id: str) -> None:
    body = {"definition": "order", "input": {"amount": 1}}
    answer = api.client.post(
        f"/api/v1/instances/{instance_id}", json=body, headers=api.auth("operator")
    )
    assert answer.status_code == 201, answer.text


def test_a_send_that_lost_every_race_is_not_kept_under_its_key(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(api, "o1")
    real = api.engine.send
    calls: list[int] = []

    def loses_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # as the engine reports 16 lost races in a row
            raise VersionConflict(
                "o1 kept changing; send it again", instance_id="o1", expected=1, found=2
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(api.engine, "send", loses_once)
    headers = api.auth("operator") | {"Idempotency-Key": "retry-me"}
    path = "/api/v1/instances/o1/events"

    first = api.client.post(path, json={"type": "REJECT"}, headers=headers)
    again = api.client.post(path, json={"type": "REJECT"}, headers=headers)
    replayed = api.client.post(path, json={"type": "REJECT"}, headers=headers)

    assert first.status_code == 409 and "version-conflict" in first.json()["type"]
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers
    assert replayed.status_code == 200 and replayed.headers["idempotent-replayed"] == "true"
    assert len(calls) == 2


def test_a_stale_if_match_refusal_is_still_kept(api: Api) -> None:
    start(api, "o2")
    headers = api.auth("operator") | {"Idempotency-Key": "stale", "If-Match": '"7"'}
    path = "/api/v1/instances/o2/events"
    first = api.client.post(path, json={"type": "REJECT"}, headers=headers)
    again = api.client.post(path, json={"type": "REJECT"}, headers=headers)
    assert first.status_code == again.status_code == 412
    assert again.headers["idempotent-replayed"] == "true"


def test_the_stream_refuses_a_definition_no_one_stored(api: Api) -> None:
    answer = api.client.get("/api/v1/stream?definition=ordr", headers=api.auth("viewer"))
    assert answer.status_code == 404, answer.text
    assert "'ordr'" in answer.json()["detail"] and "order" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body",
    ['{"type": "NOTE", "text": 1e309}', '{"type": "NOTE", "text": "\\ud800"}'],
    ids=["1e309", "lone-surrogate"],
)
def test_a_body_gets_the_same_problem_whichever_way_it_came(api: Api, body: str) -> None:
    start(api, "o3")
    headers = api.auth("operator") | {"Content-Type": "application/json"}
    path = "/api/v1/instances/o3/events"
    sized = api.client.post(path, content=body, headers=headers)

    def chunks() -> Any:
        yield body.encode()

    chunked = api.client.post(path, content=chunks(), headers=headers)
    assert sized.status_code == chunked.status_code == 422
    assert sized.json()["type"] == chunked.json()["type"], (sized.text, chunked.text)
    assert api.engine.get("o3", tenant="acme").version == 1


def test_the_document_lists_409_on_keyed_routes_and_413_on_every_post(api: Api) -> None:
    document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            if "Idempotency-Key" in names:
                assert "409" in operation["responses"], (method, path)
            if method == "post":
                assert "413" in operation["responses"], (method, path)
    keyed = document["paths"]["/api/v1/bulk/send"]["post"]["parameters"]
    (key,) = [parameter for parameter in keyed if parameter["name"] == "Idempotency-Key"]
    assert key["schema"]["pattern"] == "^[\\x21-\\x7e]{1,200}$"
