"""A bulk after its dry run acts on the instances the dry run counted (`as_of`): one that
entered the filter since, or changed since, is left alone and named in `changed`."""

from __future__ import annotations

from api_kit import Api
from shop_kit import post, register_shop, start


def test_a_bulk_with_its_dry_runs_as_of_leaves_instances_changed_since_alone(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c"):
        start(api, name)
    post(api, "/api/v1/instances/c/events", {"type": "APPROVE"})  # paying: not pending
    counted = post(api, "/api/v1/bulk/cancel", {"state": "pending", "dry_run": True}).json()
    assert counted["matched"] == 2
    # After the count: "a" leaves the filter, "d" and "e" enter it.
    start(api, "d")
    post(api, "/api/v1/instances/a/events", {"type": "REJECT"})
    start(api, "e")

    body = {"state": "pending", "reason": "tidy", "as_of": counted["as_of"]}
    done = post(api, "/api/v1/bulk/cancel", body, **{"Idempotency-Key": "c1"}).json()
    assert done["done"] == ["b"]
    assert done["changed"] == ["d", "e"]
    assert done["as_of"] == counted["as_of"] and done["refused"] == []
    assert api.engine.get("d", tenant="acme").status == "active"
    replay = post(api, "/api/v1/bulk/cancel", body, **{"Idempotency-Key": "c1"})
    assert replay.json() == done and replay.headers["idempotent-replayed"] == "true"
    # Without as_of, every instance matching now, as before.
    rest = post(api, "/api/v1/bulk/cancel", {"state": "pending"}).json()
    assert (rest["done"], rest["changed"], rest["as_of"]) == (["d", "e"], [], None)


def test_an_instance_changed_within_the_filter_after_the_count_is_left_alone(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b"):
        start(api, name)
    body = {"event": {"type": "APPROVE"}, "tag": "needs-human"}
    counted = post(api, "/api/v1/bulk/send", {**body, "dry_run": True}).json()
    assert counted["matched"] == 2
    # "a" times out into escalated: still tagged needs-human, but not as it was counted.
    (timer,) = api.engine.store.pending_timers("acme", "a")
    api.engine.fire_timer(timer)
    answer = post(api, "/api/v1/bulk/send", {**body, "as_of": counted["as_of"]}).json()
    assert (answer["done"], answer["changed"]) == (["b"], ["a"])
    assert api.engine.get("a", tenant="acme").value == "escalated"


def test_an_as_of_no_dry_run_returned_is_refused_and_changes_nothing(api: Api) -> None:
    register_shop(api)
    start(api, "a")
    as_of = post(api, "/api/v1/bulk/cancel", {"all": True, "dry_run": True}).json()["as_of"]
    ahead = post(api, "/api/v1/bulk/cancel", {"all": True, "as_of": as_of + 1000})
    assert ahead.status_code == 422
    assert f"as_of {as_of + 1000} is past" in ahead.json()["detail"]
    assert post(api, "/api/v1/bulk/cancel", {"all": True, "as_of": -1}).status_code == 422
    assert api.engine.get("a", tenant="acme").status == "active"
