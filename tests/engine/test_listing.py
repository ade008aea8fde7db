"""Listing instances by business state, tag or id prefix with keyset cursors, and counts per
state."""

from __future__ import annotations

import json

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import PayloadError

REVIEW = {
    "id": "review",
    "initial": "draft",
    "states": {
        "draft": {"on": {"SUBMIT": "review"}},
        "review": {
            "tags": ["busy"],
            "initial": "legal",
            "states": {
                "legal": {"on": {"OK": "finance"}},
                "finance": {"tags": ["money"], "on": {"OK": "#review.done"}},
            },
        },
        "done": {"type": "final"},
    },
}


@pytest.fixture
def reviews(engine: Engine) -> Engine:
    engine.register(Machine.from_config(REVIEW))
    for number in range(6):
        engine.start("review", instance_id=f"r-{number}")
    for number in (1, 2, 3, 4):
        engine.send(f"r-{number}", "SUBMIT")
    for number in (3, 4):
        engine.send(f"r-{number}", "OK")
    engine.send("r-4", "OK")
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    return engine


def ids(found: list[object]) -> list[str]:
    return [instance.id for instance in found]  # type: ignore[attr-defined]


def test_list_filters_by_business_state_and_nested_state(reviews: Engine) -> None:
    assert ids(reviews.list(state="review")) == ["r-1", "r-2", "r-3"]
    assert ids(reviews.list(state="review.finance")) == ["r-3"]
    assert ids(reviews.list(state="draft")) == ["r-0", "r-5"]
    assert ids(reviews.list(state="done")) == ["r-4"]
    assert ids(reviews.list(state="pending", definition_id="order")) == ["o-1"]
    assert ids(reviews.list(state="review", tenant="other")) == []


def test_list_filters_by_tag(reviews: Engine) -> None:
    assert ids(reviews.list(tag="busy")) == ["r-1", "r-2", "r-3"]
    assert ids(reviews.list(tag="money", definition_id="review")) == ["r-3"]
    assert ids(reviews.list(tag="nobody-has-it")) == []


def test_list_pages_with_a_cursor_stable_under_inserts(reviews: Engine) -> None:
    first = reviews.list(definition_id="review", limit=2)
    assert ids(first) == ["r-0", "r-1"] and first.next_cursor
    reviews.start("review", instance_id="r-00")  # sorts before the cursor: not seen, no shift
    reviews.start("review", instance_id="r-9")
    second = reviews.list(definition_id="review", limit=2, cursor=first.next_cursor)
    assert ids(second) == ["r-2", "r-3"]
    third = reviews.list(definition_id="review", limit=10, cursor=second.next_cursor)
    assert ids(third) == ["r-4", "r-5", "r-9"] and third.next_cursor is None
    with pytest.raises(PayloadError, match="other filters"):
        reviews.list(definition_id="order", cursor=first.next_cursor)
    with pytest.raises(PayloadError, match="cursor or with after, not both"):
        reviews.list(definition_id="review", cursor=first.next_cursor, after="r-1")


def test_list_filters_by_id_prefix_with_the_other_filters_and_pages(reviews: Engine) -> None:
    reviews.start("review", instance_id="R-1")  # ids are case-sensitive
    reviews.start("review", instance_id="r_1")  # "_" is no wildcard
    reviews.start("review", instance_id="r-10", tenant="other")
    assert ids(reviews.list(id_prefix="r-")) == [f"r-{n}" for n in range(6)]
    assert ids(reviews.list(id_prefix="r-1")) == ["r-1"]
    assert ids(reviews.list(id_prefix="r")) == [*(f"r-{n}" for n in range(6)), "r_1"]
    assert ids(reviews.list(id_prefix="R")) == ["R-1"]
    assert ids(reviews.list(id_prefix="r-", state="review")) == ["r-1", "r-2", "r-3"]
    assert ids(reviews.list(id_prefix="r-", tag="money")) == ["r-3"]
    assert ids(reviews.list(id_prefix="r-", status="done")) == ["r-4"]
    assert ids(reviews.list(id_prefix="o", definition_id="review")) == []
    assert ids(reviews.list(id_prefix="r-1", tenant="other")) == ["r-10"]
    first = reviews.list(id_prefix="r-", limit=4)
    assert ids(first) == ["r-0", "r-1", "r-2", "r-3"] and first.next_cursor
    rest = reviews.list(id_prefix="r-", limit=4, cursor=first.next_cursor)
    assert ids(rest) == ["r-4", "r-5"] and rest.next_cursor is None
    # A cursor covers the prefix: one given for another prefix, or none, is refused.
    for other in ("r", None):
        with pytest.raises(PayloadError, match="other filters"):
            reviews.list(id_prefix=other, limit=4, cursor=first.next_cursor)
    unfiltered = reviews.list(limit=2)
    with pytest.raises(PayloadError, match="other filters"):
        reviews.list(id_prefix="r-", limit=2, cursor=unfiltered.next_cursor)
    with pytest.raises(PayloadError, match="id prefix '' must be 1 to 200 characters"):
        reviews.list(id_prefix="")


def test_bad_state_filters_are_refused_naming_the_fix(reviews: Engine) -> None:
    with pytest.raises(PayloadError, match="no state 'reveiw'; did you mean \"review\""):
        reviews.list(definition_id="review", state="reveiw")
    with pytest.raises(PayloadError, match="not both"):
        reviews.list(state="review", tag="busy")


def test_check_state_and_tag_refuses_what_no_definition_has(reviews: Engine) -> None:
    """`list` alone lists nothing for these; a caller that would rather refuse checks first."""
    assert reviews.list(state="reveiw") == [] and reviews.list(tag="mony") == []
    with pytest.raises(PayloadError, match="no definition has a state 'reveiw'; did you mean "):
        reviews.check_state_and_tag(state="reveiw")
    with pytest.raises(PayloadError, match=r'"review.finance" \(in review\)\?'):
        reviews.check_state_and_tag(state="review.finanse")
    with pytest.raises(PayloadError, match=r"no definition declares a tag 'mony'; .*\"money\""):
        reviews.check_state_and_tag(tag="mony")
    with pytest.raises(PayloadError, match="'order' declares no tag 'busy'; it declares none"):
        reviews.check_state_and_tag(definition_id="order", tag="busy")
    with pytest.raises(PayloadError, match="'review' has no state 'pending'"):
        reviews.check_state_and_tag(definition_id="review", state="pending")
    with pytest.raises(PayloadError, match="not both"):
        reviews.check_state_and_tag(state="review", tag="busy")
    for state in ("review", "review.legal", "pending", None):
        reviews.check_state_and_tag(state=state)
    for tag in ("busy", "money"):
        reviews.check_state_and_tag(tag=tag, definition_id="review")


def test_check_state_and_tag_takes_a_tag_of_any_version(reviews: Engine) -> None:
    """A tag filter finds instances by the version they run: one an older version declares
    still finds them."""
    untagged = json.loads(json.dumps(REVIEW).replace('"money"', '"cash"'))
    del untagged["states"]["review"]["states"]["finance"]
    untagged["states"]["review"]["states"]["legal"]["on"]["OK"] = "#review.done"
    reviews.register(Machine.from_config(untagged))  # version 2: no finance, no money
    reviews.check_state_and_tag(tag="money")
    with pytest.raises(PayloadError, match=r"has no state 'review\.finance'"):
        reviews.check_state_and_tag(definition_id="review", state="review.finance")


def test_status_filters_no_instance_can_match_are_refused_naming_the_values(
    reviews: Engine,
) -> None:
    """A misspelt status would list nothing, and a bulk operation would match nothing."""
    with pytest.raises(PayloadError, match="status 'ACTIVE' is not one of active, done, "):
        reviews.list(status="ACTIVE")
    with pytest.raises(PayloadError, match=r"runtime status 'retryng' .* \"retrying\""):
        reviews.count_by_state(runtime_status="retryng")
    with pytest.raises(PayloadError, match="status 'bogus' is not one of"):
        reviews.bulk_cancel(status="bogus")
    with pytest.raises(PayloadError, match="step status 'failed' is not one of pending, "):
        reviews.steps(status="failed")
    assert [i.id for i in reviews.list(status="done")] == ["r-4"]
    active = reviews.list(runtime_status="active")
    assert active and {i.runtime_status for i in active} == {"active"}


def test_count_by_state_groups_per_definition_and_value(reviews: Engine) -> None:
    counts = {(c.definition_id, c.state): c.count for c in reviews.count_by_state()}
    assert counts == {
        ("order", "pending"): 1,
        ("review", "done"): 1,
        ("review", "draft"): 2,
        ("review", "review.finance"): 1,
        ("review", "review.legal"): 2,
    }
    busy = reviews.count_by_state(tag="busy")
    assert {c.state: c.count for c in busy} == {"review.finance": 1, "review.legal": 2}
    assert reviews.count_by_state(status="done")[0].count == 1
