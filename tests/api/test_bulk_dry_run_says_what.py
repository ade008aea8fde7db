"""A bulk operation's dry run says what it would do as things stand: how many of the
instances matched it would change and how many it would skip, per reason; a bulk send of an
event that no definition of the matched instances takes is refused up front, naming the near
miss."""

from __future__ import annotations

from api_kit import Api
from shop_kit import fail_once, post, register_shop, start


def _skips(answer: dict[str, object]) -> dict[str, tuple[int, str]]:
    skipped = answer["would_skip"]
    assert isinstance(skipped, list)
    return {s["reason"]: (s["count"], s["detail"]) for s in skipped}


def test_a_bulk_cancel_dry_run_counts_those_done_already_apart(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c", "d"):
        start(api, name)
    post(api, "/api/v1/instances/c/events", {"type": "REJECT"})
    post(api, "/api/v1/instances/d/cancel", {})
    counted = post(api, "/api/v1/bulk/cancel", {"all": True, "dry_run": True}).json()
    assert (counted["matched"], counted["would_act"]) == (4, 2)
    assert counted["would_skip"] == [
        {"reason": "not_active", "count": 1, "detail": "done already"},
        {"reason": "not_active", "count": 1, "detail": "stopped already"},
    ]
    assert api.engine.get("a", tenant="acme").status == "active"
    done = post(api, "/api/v1/bulk/cancel", {"all": True, "as_of": counted["as_of"]}).json()
    assert done["done"] == ["a", "b"] and done["would_act"] is None


def test_a_bulk_send_dry_run_says_who_would_not_take_the_event_and_why(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c"):
        start(api, name)
    post(api, "/api/v1/instances/b/events", {"type": "APPROVE"})
    post(api, "/api/v1/instances/c/events", {"type": "REJECT"})
    body = {"event": {"type": "REJECT"}, "definition": "shop", "dry_run": True}
    counted = post(api, "/api/v1/bulk/send", body).json()
    assert (counted["matched"], counted["would_act"], counted["guarded"]) == (3, 1, 0)
    assert _skips(counted) == {
        "not_accepted": (1, "not accepting REJECT in paying"),
        "not_active": (1, "done already"),
    }
    void = {"event": {"type": "VOID"}, "definition": "shop", "dry_run": True}
    operator = post(api, "/api/v1/bulk/send", void).json()
    assert operator["would_act"] == 0
    assert _skips(operator)["not_permitted"] == (
        1,
        "letting only the roles approver send VOID",
    )
    assert post(api, "/api/v1/bulk/send", void, token="approver").json()["would_act"] == 1


def test_a_bulk_retry_dry_run_counts_those_with_no_step_waiting(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b"):
        start(api, name)
    post(api, "/api/v1/instances/b/events", {"type": "APPROVE"})
    fail_once(api, "b")
    counted = post(api, "/api/v1/bulk/retry", {"all": True, "dry_run": True}).json()
    assert counted["would_act"] == 1
    assert _skips(counted) == {"no_waiting_step": (1, "with no step waiting for a retry")}


def test_a_bulk_send_of_an_event_no_definition_takes_is_refused_up_front(api: Api) -> None:
    register_shop(api)
    start(api, "a")
    for dry_run in (True, False):
        body = {"event": {"type": "APROVE"}, "state": "pending", "dry_run": dry_run}
        refused = post(api, "/api/v1/bulk/send", body)
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert "definition 'shop' has no event 'APROVE'" in detail
        assert 'did you mean "APPROVE"?' in detail
    assert api.engine.get("a", tenant="acme").version == 1
    unknown = {"event": {"type": "SHRUG"}, "all": True, "dry_run": True}
    listed = post(api, "/api/v1/bulk/send", unknown).json()["detail"]
    assert "send one of its events: APPROVE, REJECT, RETRY, VOID" in listed
