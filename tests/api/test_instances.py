"""Definitions and instances over HTTP: start (generated or chosen id, 201 + Location),
get (ETag = version), list with filters (an id prefix too) and `after`, history, accepted
events, send (If-Match → 412 when stale; an event not accepted → 409 with the state and
accepted events)."""

from __future__ import annotations

from typing import Any

from api_kit import Api, order_machine

from statewright import Machine
from statewright.engine import Engine

PROBLEM = "application/problem+json"


def post(api: Api, path: str, body: Any, token: str = "admin", **headers: str) -> Any:
    return api.client.post(path, json=body, headers={**api.auth(token), **headers})


def test_definitions_are_listed_and_read_with_their_versions(api: Api) -> None:
    api.engine.register(order_machine(version=2))
    listed = api.client.get("/api/v1/definitions", headers=api.auth("viewer")).json()
    assert [(d["id"], d["version"]) for d in listed["items"]] == [("order", 2)]
    latest = api.client.get("/api/v1/definitions/order", headers=api.auth("viewer")).json()
    assert latest["version"] == 2 and [v["version"] for v in latest["versions"]] == [1, 2]
    assert "HOLD" in latest["config"]["states"]["approved"]["on"]
    first = api.client.get("/api/v1/definitions/order?version=1", headers=api.auth("viewer")).json()
    assert first["version"] == 1 and "HOLD" not in first["config"]["states"]["approved"]["on"]
    assert first["hash"] == latest["versions"][0]["hash"]
    missing = api.client.get("/api/v1/definitions/order?version=7", headers=api.auth("viewer"))
    assert missing.status_code == 404 and "versions 1 to 2" in missing.json()["detail"]
    unknown = api.client.get("/api/v1/definitions/nope", headers=api.auth("viewer"))
    assert unknown.status_code == 404 and "order" in unknown.json()["detail"]


def test_a_start_under_a_generated_id_is_201_with_location_and_etag(api: Api) -> None:
    response = post(api, "/api/v1/instances", {"definition": "order", "input": {"amount": 9}})
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/instances/{body['id']}"
    assert response.headers["etag"] == '"1"' and body["version"] == 1
    assert body["value"] == "pending" and body["context"]["amount"] == 9
    assert body["accepted_events"] == ["APPROVE", "REJECT", "NOTE"]
    got = api.client.get(response.headers["location"], headers=api.auth("viewer"))
    assert got.status_code == 200 and got.json()["id"] == body["id"]


def test_a_start_under_a_chosen_id_and_a_taken_one(api: Api) -> None:
    first = post(api, "/api/v1/instances/order 42", {"definition": "order", "input": {"amount": 1}})
    assert first.status_code == 201 and first.headers["location"] == "/api/v1/instances/order%2042"
    assert api.client.get("/api/v1/instances/order%2042", headers=api.auth("viewer")).json()[
        "id"
    ] == ("order 42")
    again = post(api, "/api/v1/instances/order 42", {"definition": "order", "input": {"amount": 1}})
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["type"].endswith("instance-exists")


def test_a_start_pinned_to_a_version_and_refused_starts(api: Api) -> None:
    api.engine.register(order_machine(version=2))
    pinned = post(
        api, "/api/v1/instances/p", {"definition": "order", "version": 1, "input": {"amount": 1}}
    )
    assert pinned.json()["definition_version"] == 1
    latest = post(api, "/api/v1/instances/q", {"definition": "order", "input": {"amount": 1}})
    assert latest.json()["definition_version"] == 2
    unknown = post(api, "/api/v1/instances/r", {"definition": "nope"})
    assert unknown.status_code == 404 and "register" in unknown.json()["detail"]
    extra = post(api, "/api/v1/instances/s", {"definition": "order", "colour": "red"})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "body.colour"
    assert [i.id for i in api.engine.list(tenant="acme")] == ["p", "q"]


def test_a_start_of_a_misspelt_definition_names_the_near_miss_and_a_fix_for_any_caller(
    api: Api,
) -> None:
    response = post(api, "/api/v1/instances/N-1", {"definition": "ordr"})
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == (
        "no definition 'ordr' (registered: order); did you mean 'order'? If not, register it "
        "first (statewright serve registers the project's definitions folder; Python: "
        "engine.register(machine))"
    )
    assert api.engine.list(tenant="acme") == []


def test_get_carries_the_version_as_etag(api: Api) -> None:
    post(api, "/api/v1/instances/o1", {"definition": "order", "input": {"amount": 1}})
    post(api, "/api/v1/instances/o1/events", {"type": "NOTE", "text": "hi"})
    response = api.client.get("/api/v1/instances/o1", headers=api.auth("viewer"))
    assert response.headers["etag"] == '"2"' and response.json()["version"] == 2
    assert response.json()["context"]["note"] == "hi"


def test_send_commits_and_answers_the_transition_with_the_new_etag(api: Api) -> None:
    post(api, "/api/v1/instances/o1", {"definition": "order", "input": {"amount": 1}})
    response = post(api, "/api/v1/instances/o1/events", {"type": "APPROVE", "by": "ann"})
    assert response.status_code == 200 and response.headers["etag"] == '"2"'
    body = response.json()
    assert (body["from_value"], body["to_value"], body["version"]) == ("pending", "approved", 2)
    assert body["event"] == {"type": "APPROVE", "by": "ann"}
    assert api.engine.get("o1", tenant="acme").context == {"amount": 1, "approvedBy": "ann"}


def test_an_event_not_accepted_is_409_with_the_state_and_the_accepted_events(api: Api) -> None:
    post(api, "/api/v1/instances/o1", {"definition": "order", "input": {"amount": 1}})
    response = post(api, "/api/v1/instances/o1/events", {"type": "SHIP"})
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["state"] == "pending" and body["event"] == "SHIP"
    assert body["accepted_events"] == ["APPROVE", "REJECT", "NOTE"]
    assert "accepts APPROVE" in body["detail"] and body["instance"] == "/api/v1/instances/o1/events"
    reserved = post(api, "/api/v1/instances/o1/events", {"type": "xstate.after.1"})
    assert reserved.status_code == 422 and "reserved" in reserved.json()["detail"]
    assert api.engine.get("o1", tenant="acme").version == 1


def test_if_match_sends_only_on_the_version_named(api: Api) -> None:
    post(api, "/api/v1/instances/o1", {"definition": "order", "input": {"amount": 1}})
    post(api, "/api/v1/instances/o1/events", {"type": "NOTE", "text": "a"})
    stale = post(api, "/api/v1/instances/o1/events", {"type": "REJECT"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["current_version"] == 2
    assert "reload" in stale.json()["detail"]
    garbage = post(api, "/api/v1/instances/o1/events", {"type": "REJECT"}, **{"If-Match": "abc"})
    assert garbage.status_code == 412
    assert api.engine.get("o1", tenant="acme").version == 2
    fresh = post(api, "/api/v1/instances/o1/events", {"type": "REJECT"}, **{"If-Match": '"2"'})
    assert fresh.status_code == 200 and fresh.headers["etag"] == '"3"'
    post(api, "/api/v1/instances/o2", {"definition": "order", "input": {"amount": 1}})
    anything = post(api, "/api/v1/instances/o2/events", {"type": "REJECT"}, **{"If-Match": "*"})
    assert anything.status_code == 200


def test_history_lists_every_transition_in_order(api: Api) -> None:
    post(api, "/api/v1/instances/o1", {"definition": "order", "input": {"amount": 3}})
    post(api, "/api/v1/instances/o1/events", {"type": "NOTE", "text": "x"}, token="operator")
    post(api, "/api/v1/instances/o1/events", {"type": "REJECT"}, token="operator")
    items = api.client.get("/api/v1/instances/o1/history", headers=api.auth("viewer")).json()[
        "items"
    ]
    assert [(i["version"], i["event"]["type"], i["to_value"]) for i in items] == [
        (1, "xstate.init", "pending"),
        (2, "NOTE", "pending"),
        (3, "REJECT", "rejected"),
    ]
    assert items[0]["event"]["input"] == {"amount": 3}
    assert (
        items[2]["status"] == "done"
        and items[2]["actor"] == "operator (token " + (items[2]["actor"].split("token ")[1])
    )


def test_accepted_lists_the_events_of_the_current_state(api: Api) -> None:
    post(api, "/api/v1/instances/o1", {"definition": "order", "input": {"amount": 1}})
    body = api.client.get("/api/v1/instances/o1/accepted", headers=api.auth("viewer")).json()
    assert {k: v for k, v in body.items() if k != "events"} == {
        "instance_id": "o1",
        "version": 1,
        "value": "pending",
        "status": "active",
        "accepted_events": ["APPROVE", "REJECT", "NOTE"],
    }
    post(api, "/api/v1/instances/o1/events", {"type": "REJECT"})
    done = api.client.get("/api/v1/instances/o1/accepted", headers=api.auth("viewer")).json()
    assert done["accepted_events"] == [] and done["status"] == "done"


def test_list_filters_and_pages_with_after(api: Api) -> None:
    for name in ("a", "b", "c", "d"):
        post(api, f"/api/v1/instances/{name}", {"definition": "order", "input": {"amount": 1}})
    post(api, "/api/v1/instances/b/events", {"type": "REJECT"})

    def ids(query: str) -> tuple[list[str], str | None]:
        body = api.client.get(f"/api/v1/instances?{query}", headers=api.auth("viewer")).json()
        return [item["id"] for item in body["items"]], body["next"]

    assert ids("") == (["a", "b", "c", "d"], None)
    assert ids("limit=3") == (["a", "b", "c"], "c")
    assert ids("limit=3&after=c") == (["d"], None)
    assert ids("status=done") == (["b"], None)
    assert ids("status=active&limit=2&after=a") == (["c", "d"], None)
    unknown = api.client.get("/api/v1/instances?definition=ordr", headers=api.auth("viewer"))
    assert unknown.status_code == 404 and "'ordr'" in unknown.json()["detail"], unknown.text
    assert ids("runtime_status=active")[0] == ["a", "c", "d"]
    bad = api.client.get("/api/v1/instances?limit=0", headers=api.auth("viewer"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.limit"


def test_list_finds_instances_by_the_start_of_their_id_page_by_page(api: Api) -> None:
    for name in ("A-1", "A-10", "A-100", "A-11", "a-10", "A_10"):
        post(api, f"/api/v1/instances/{name}", {"definition": "order", "input": {"amount": 1}})
    post(api, "/api/v1/instances/A-100/events", {"type": "REJECT"})

    def page(query: str) -> Any:
        return api.client.get(f"/api/v1/instances?{query}", headers=api.auth("viewer"))

    def ids(query: str) -> list[str]:
        return [item["id"] for item in page(query).json()["items"]]

    assert ids("id_prefix=A-10") == ["A-10", "A-100"]
    assert ids("id_prefix=A-1&status=active") == ["A-1", "A-10", "A-11"]
    assert ids("id_prefix=A_") == ["A_10"]
    assert ids("id_prefix=B") == []
    first = page("id_prefix=A-1&limit=2").json()
    assert [item["id"] for item in first["items"]] == ["A-1", "A-10"]
    cursor = first["next_cursor"]
    assert ids(f"id_prefix=A-1&limit=2&cursor={cursor}") == ["A-100", "A-11"]
    other = page(f"id_prefix=A-10&limit=2&cursor={cursor}")
    assert other.status_code == 422 and "other filters" in other.json()["detail"]
    empty = page("id_prefix=")
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "query.id_prefix"


def test_a_start_whose_transition_fails_is_409_and_writes_nothing(api: Api) -> None:
    response = post(api, "/api/v1/instances/bad", {"definition": "order", "input": None})
    assert response.status_code == 409 and response.json()["type"].endswith("transition-failed")
    assert "nothing was committed" in response.json()["detail"]
    assert api.engine.list(tenant="acme") == []


def test_a_definition_needing_implementations_the_server_lacks_names_the_fix(
    api: Api, store_url: str
) -> None:
    config = {
        "id": "guarded",
        "initial": "a",
        "states": {"a": {"on": {"GO": {"target": "b", "guard": "ok"}}}, "b": {}},
    }
    with Engine.open(store_url) as elsewhere:  # registered by another process, with its guard
        elsewhere.register(Machine.from_config(config, guards={"ok": lambda c, e: True}))
    response = post(api, "/api/v1/instances/g", {"definition": "guarded"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "guard 'ok' is not provided" in response.json()["detail"]
    assert "serve --machines FILE" in response.json()["detail"]
