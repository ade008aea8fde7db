"""Typed events over HTTP: a payload (or start input) failing its schema is 422
problem+json naming each field, with nothing written; `accepted` carries each event's schema
and the OpenAPI document lists the schemas the definitions declare. On both backends."""

from __future__ import annotations

from typing import Any

import pytest
from api_kit import CLAIM, Api
from jsonschema import Draft202012Validator, ValidationError

PROBLEM = "application/problem+json"


def post(api: Api, path: str, body: Any, token: str = "admin", **headers: str) -> Any:
    return api.client.post(path, json=body, headers={**api.auth(token), **headers})


@pytest.fixture
def typed(api: Api) -> Api:
    api.engine.register(CLAIM)
    started = post(api, "/api/v1/instances/c1", {"definition": "claim", "input": {"customer": "x"}})
    assert started.status_code == 201, started.text
    return api


def test_a_payload_failing_its_schema_is_422_naming_the_field(typed: Api) -> None:
    response = post(
        typed,
        "/api/v1/instances/c1/events",
        {"type": "PAY", "amount": 0, "lines": [{"sku": "a"}, {}]},
        "operator",
        **{"Idempotency-Key": "pay-1"},
    )
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:statewright:problem:payload-invalid"
    assert body["event_type"] == "PAY"
    assert body["errors"] == [
        {"path": "amount", "message": "0 is less than the minimum of 1"},
        {"path": "lines[1].sku", "message": "'sku' is a required property"},
    ]
    assert "amount: 0 is less than the minimum of 1" in body["detail"]
    assert "nothing was changed" in body["detail"]
    assert typed.engine.get("c1", tenant="acme").version == 1
    assert len(typed.engine.history("c1", tenant="acme")) == 1
    sent = post(typed, "/api/v1/instances/c1/events", {"type": "PAY", "amount": 5}, "operator")
    assert sent.status_code == 200, sent.text
    assert typed.engine.get("c1", tenant="acme").context["paid"] == 5


def test_a_start_input_failing_its_schema_is_422_and_starts_nothing(typed: Api) -> None:
    response = post(typed, "/api/v1/instances/c2", {"definition": "claim", "input": {}})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert response.json()["errors"] == [
        {"path": "customer", "message": "'customer' is a required property"}
    ]
    assert response.json()["event_type"] is None
    missing = typed.client.get("/api/v1/instances/c2", headers=typed.auth("viewer"))
    assert missing.status_code == 404


def test_accepted_carries_each_events_schema(typed: Api) -> None:
    response = typed.client.get("/api/v1/instances/c1/accepted", headers=typed.auth("viewer"))
    assert response.status_code == 200
    body = response.json()
    assert body["accepted_events"] == ["PAY", "DROP"]
    schemas = {event["type"]: event["schema"] for event in body["events"]}
    assert schemas == {"PAY": CLAIM["statewright"]["events"]["PAY"], "DROP": None}  # type: ignore[index]
    assert body["events"][0]["targets"] == ["claim.paid"] and body["events"][0]["roles"] is None


def test_the_openapi_document_lists_the_declared_schemas(typed: Api) -> None:
    document = typed.client.get("/api/openapi.json", headers=typed.auth("viewer")).json()
    listed = document["x-statewright-definitions"]
    assert list(listed) == ["claim"]  # the order definition declares none
    assert listed["claim"] == {
        "version": 1,
        "events": {"PAY": {"$ref": "#/components/schemas/claim.PAY.fields"}},
        "input": {"$ref": "#/components/schemas/claim.input"},
    }
    pay = document["components"]["schemas"]["claim.PAY.fields"]
    # Its own $id: "#/$defs/line" inside it resolves against it, not against the document.
    assert pay["$id"] == "urn:statewright:claim:1:event:PAY"
    assert pay["properties"]["lines"]["items"] == {"$ref": "#/$defs/line"}
    assert document["components"]["schemas"]["claim.input"]["required"] == ["customer"]
    # As published, a working schema whose inner reference resolves.
    Draft202012Validator.check_schema(pay)
    Draft202012Validator(pay).validate({"amount": 1, "lines": [{"sku": "a"}]})
    with pytest.raises(ValidationError, match="'sku' is a required property"):
        Draft202012Validator(pay).validate({"amount": 1, "lines": [{}]})
    assert "ProblemModel" in document["components"]["schemas"]  # the API's own are kept
