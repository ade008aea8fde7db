"""A state or tag filter that no definition has is refused, naming the near miss, by the
instance list, the state counts and the bulk operations alike (as the CLI refuses it):
misspelt, it would match nothing and say nothing, and a bulk would act on none."""

from __future__ import annotations

from api_kit import Api
from shop_kit import get, post, register_shop, start


def test_a_state_or_tag_filter_no_definition_has_is_refused(api: Api) -> None:
    register_shop(api)
    start(api, "a")
    for path in ("/api/v1/instances?state=pendng", "/api/v1/state-counts?state=pendng"):
        refused = get(api, path)
        assert refused.status_code == 422, refused.text
        assert "no definition has a state 'pendng'" in refused.json()["detail"]
        assert 'did you mean "pending" (in ' in refused.json()["detail"]
    tag = get(api, "/api/v1/instances?tag=needs-humans")
    assert tag.status_code == 422 and 'did you mean "needs-human"' in tag.json()["detail"]
    bulk = post(api, "/api/v1/bulk/cancel", {"state": "pendng"})
    assert bulk.status_code == 422 and "'pendng'" in bulk.json()["detail"]
    assert api.engine.get("a", tenant="acme").status == "active"
    assert get(api, "/api/v1/instances?state=pending").json()["items"][0]["id"] == "a"
