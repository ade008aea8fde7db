"""After a prune, the API's lists and counts per state show what remains, and a removed
instance is 404."""

from __future__ import annotations

import time
from datetime import timedelta

from api_kit import Api
from shop_kit import get, post, register_shop, start


def test_lists_and_counts_follow_a_prune(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c"):
        start(api, name)
    post(api, "/api/v1/instances/b/events", {"type": "REJECT"})
    post(api, "/api/v1/instances/c/events", {"type": "REJECT"})
    time.sleep(0.005)
    start(api, "d")  # after the cutoff; holds the newest audit row
    before = get(api, "/api/v1/state-counts").json()
    assert before["total"] == 4

    report = api.engine.prune(timedelta(milliseconds=2), tenant="acme")

    assert report.instances == 2
    counts = get(api, "/api/v1/state-counts").json()
    assert counts == {
        "items": [{"definition": "shop", "state": "pending", "value": "pending", "count": 2}],
        "total": 2,
    }
    listed = get(api, "/api/v1/instances").json()
    assert [item["id"] for item in listed["items"]] == ["a", "d"]
    assert get(api, "/api/v1/instances?state=rejected").json()["items"] == []
    assert get(api, "/api/v1/instances/b").status_code == 404
