"""GET /api/v1/definitions/{id}/diagram: the model the console draws a statechart from."""

from __future__ import annotations

from api_kit import Api, order_machine


def test_the_diagram_model_lists_states_transitions_and_labels(api: Api) -> None:
    response = api.client.get("/api/v1/definitions/order/diagram", headers=api.auth("viewer"))
    assert response.status_code == 200
    model = response.json()
    assert model["definition"] == "order" and model["version"] == 1 and model["root"] == "order"
    states = {s["id"]: s for s in model["states"]}
    assert list(states) == [
        "order",
        "order.pending",
        "order.approved",
        "order.shipped",
        "order.rejected",
    ]
    assert states["order"]["initial"] == "order.pending"
    assert states["order.shipped"]["kind"] == "final"
    assert states["order.pending"]["internal"] == ["NOTE"]  # targetless: no edge
    edges = [
        (t["source"], t["label"], [x["state"] for x in t["targets"]]) for t in model["transitions"]
    ]
    assert edges == [
        ("order.pending", "APPROVE", ["order.approved"]),
        ("order.pending", "REJECT", ["order.rejected"]),
        ("order.approved", "SHIP", ["order.shipped"]),
    ]
    assert {t["targets"][0]["container"] for t in model["transitions"]} == {"order"}


def test_a_version_is_drawn_as_it_was(api: Api) -> None:
    api.engine.register(order_machine(version=2))
    latest = api.client.get("/api/v1/definitions/order/diagram", headers=api.auth("viewer"))
    first = api.client.get(
        "/api/v1/definitions/order/diagram?version=1", headers=api.auth("other:viewer")
    )
    assert latest.json()["version"] == 2 and first.json()["version"] == 1
    assert "HOLD" in [t["label"] for t in latest.json()["transitions"]]
    assert "HOLD" not in [t["label"] for t in first.json()["transitions"]]


def test_an_unknown_definition_or_version_is_a_404_naming_it(api: Api) -> None:
    missing = api.client.get(
        "/api/v1/definitions/order/diagram?version=7", headers=api.auth("viewer")
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "order" in missing.json()["detail"] and "7" in missing.json()["detail"]
    unknown = api.client.get("/api/v1/definitions/nope/diagram", headers=api.auth("viewer"))
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]


def test_the_diagram_needs_a_token(api: Api) -> None:
    assert api.client.get("/api/v1/definitions/order/diagram").status_code == 401
