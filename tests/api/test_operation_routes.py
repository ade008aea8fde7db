"""Operators' routes on instances: the list by business state and tag with keyset cursors,
counts per state, the events accepted now (from the engine, marked with what the caller may
send), and cancel (If-Match, Idempotency-Key, a finished instance → 409)."""

from __future__ import annotations

from api_kit import Api
from shop_kit import get, post, register_shop, start

PROBLEM = "application/problem+json"


def test_list_filters_by_state_and_tag_and_pages_with_a_cursor(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c", "d", "e"):
        start(api, name)
    start(api, "z", tenant_token="other:admin")
    post(api, "/api/v1/instances/b/events", {"type": "APPROVE"})
    post(api, "/api/v1/instances/c/events", {"type": "REJECT"})

    def page(query: str) -> tuple[list[str], str | None]:
        response = get(api, f"/api/v1/instances?{query}")
        assert response.status_code == 200, response.text
        body = response.json()
        return [item["id"] for item in body["items"]], body["next_cursor"]

    assert page("state=paying") == (["b"], None)
    assert page("definition=shop&state=pending")[0] == ["a", "d", "e"]
    assert page("tag=needs-human")[0] == ["a", "d", "e"]
    first, cursor = page("tag=needs-human&limit=2")
    assert first == ["a", "d"] and cursor is not None
    post(api, "/api/v1/instances/aa", {"definition": "shop", "input": {"amount": 1}}, token="admin")
    assert page(f"tag=needs-human&limit=2&cursor={cursor}") == (["e"], None)
    other = get(api, f"/api/v1/instances?state=paying&cursor={cursor}")
    assert other.status_code == 422 and "other filters" in other.json()["detail"]
    garbage = get(api, "/api/v1/instances?cursor=nope!")
    assert garbage.status_code == 422 and "next_cursor" in garbage.json()["detail"]
    near = get(api, "/api/v1/instances?definition=shop&state=payng")
    assert near.status_code == 422 and 'did you mean "paying"?' in near.json()["detail"]
    both = get(api, "/api/v1/instances?state=paying&tag=needs-human")
    assert both.status_code == 422 and "not both" in both.json()["detail"]
    body = get(api, "/api/v1/instances?limit=2").json()
    assert body["next"] == "aa" and body["next_cursor"] is not None
    assert page(f"limit=2&after={body['next']}")[0] == ["b", "c"]


def test_counts_per_state_with_the_list_filters(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c"):
        start(api, name)
    start(api, "z", tenant_token="other:admin")
    post(api, "/api/v1/instances/c/events", {"type": "REJECT"})
    body = get(api, "/api/v1/state-counts").json()
    assert body == {
        "items": [
            {"definition": "shop", "state": "pending", "value": "pending", "count": 2},
            {"definition": "shop", "state": "rejected", "value": "rejected", "count": 1},
        ],
        "total": 3,
    }
    active = get(api, "/api/v1/state-counts?status=active&tag=needs-human").json()
    assert active["total"] == 2 and [i["state"] for i in active["items"]] == ["pending"]
    assert get(api, "/api/v1/state-counts", token="other:viewer").json()["total"] == 1
    nowhere = get(api, "/api/v1/state-counts?definition=nope")
    assert nowhere.status_code == 404 and "nope" in nowhere.json()["detail"]
    unknown = get(api, "/api/v1/state-counts?definition=nope&state=pending")
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]


def test_accepted_marks_what_the_callers_token_may_send(api: Api) -> None:
    register_shop(api)
    start(api, "s1")

    def events(token: str) -> dict[str, dict[str, object]]:
        body = get(api, "/api/v1/instances/s1/accepted", token=token).json()
        assert body["accepted_events"] == ["APPROVE", "REJECT", "VOID"]
        return {event["type"]: event for event in body["events"]}

    viewer = events("viewer")
    assert {t: e["allowed"] for t, e in viewer.items()} == {
        "APPROVE": False,
        "REJECT": False,
        "VOID": False,
    }
    assert viewer["VOID"]["roles"] == ["approver"] and viewer["APPROVE"]["roles"] is None
    assert viewer["APPROVE"]["targets"] == ["shop.paying"] and not viewer["APPROVE"]["guarded"]
    assert {t: e["allowed"] for t, e in events("operator").items()} == {
        "APPROVE": True,
        "REJECT": True,
        "VOID": False,
    }
    assert events("approver")["VOID"]["allowed"] and events("admin")["VOID"]["allowed"]
    # What the list says the operator may not send, the send refuses, writing nothing.
    refused = post(api, "/api/v1/instances/s1/events", {"type": "VOID"})
    assert refused.status_code == 403 and refused.json()["required_roles"] == ["approver"]
    assert api.engine.get("s1", tenant="acme").version == 1
    assert get(api, "/api/v1/instances/s1/accepted", token="other:viewer").status_code == 404


def test_cancel_stops_the_instance_with_its_timers(api: Api) -> None:
    register_shop(api)
    start(api, "s1")
    assert get(api, "/api/v1/instances/s1/timers").json()["items"]
    response = post(api, "/api/v1/instances/s1/cancel", {"reason": "customer called"})
    assert response.status_code == 200 and response.headers["etag"] == '"2"'
    body = response.json()
    assert body["event"] == {"type": "xstate.stop", "reason": "customer called"}
    assert (body["status"], body["runtime_status"]) == ("stopped", "stopped")
    assert body["actor"].startswith("operator (token ")
    assert get(api, "/api/v1/instances/s1/timers").json()["items"] == []
    again = post(api, "/api/v1/instances/s1/cancel")
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    problem = again.json()
    assert problem["type"].endswith("instance-not-active")
    assert (problem["instance_status"], problem["current_version"]) == ("stopped", 2)
    assert "stopped already" in problem["detail"] and "nothing was changed" in problem["detail"]


def test_cancel_honours_if_match_and_idempotency_key(api: Api) -> None:
    register_shop(api)
    start(api, "s1")
    post(api, "/api/v1/instances/s1/events", {"type": "REJECT"}, token="admin")
    start(api, "s2")
    stale = post(api, "/api/v1/instances/s2/cancel", None, **{"If-Match": '"7"'})
    assert stale.status_code == 412 and stale.json()["current_version"] == 1
    assert api.engine.get("s2", tenant="acme").status == "active"
    first = post(api, "/api/v1/instances/s2/cancel", {"reason": "x"}, **{"Idempotency-Key": "c-1"})
    replay = post(api, "/api/v1/instances/s2/cancel", {"reason": "x"}, **{"Idempotency-Key": "c-1"})
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["etag"] == '"2"'
    other = post(api, "/api/v1/instances/s2/cancel", {"reason": "y"}, **{"Idempotency-Key": "c-1"})
    assert other.status_code == 422
    assert len(api.engine.history("s2", tenant="acme")) == 2


def test_cancel_is_for_operators_in_their_own_tenant(api: Api) -> None:
    register_shop(api)
    start(api, "s1")
    viewer = post(api, "/api/v1/instances/s1/cancel", {"reason": "x"}, token="viewer")
    assert viewer.status_code == 403 and viewer.json()["required_role"] == "operator"
    elsewhere = post(api, "/api/v1/instances/s1/cancel", {"reason": "x"}, token="other:admin")
    assert elsewhere.status_code == 404
    extra = post(api, "/api/v1/instances/s1/cancel", {"why": "x"})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "body.why"
    assert api.engine.get("s1", tenant="acme").status == "active"
    assert len(api.engine.history("s1", tenant="acme")) == 1
