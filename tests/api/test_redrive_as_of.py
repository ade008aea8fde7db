"""A redrive after its dry run acts on the dead letters the dry run counted (`as_of`): none
dead-lettered since, and the answer says how many were done."""

from __future__ import annotations

from api_kit import Api
from shop_kit import get, post, register_shop, start

from statewright.store.records import OutboxRecord

REDRIVE = "/api/v1/dead-letters/redrive"


def shipped(api: Api, *instance_ids: str) -> dict[str, OutboxRecord]:
    """Start each instance, run its step to its end: the message it emits, pending, by id."""
    register_shop(api)
    for instance_id in instance_ids:
        start(api, instance_id)
        post(api, f"/api/v1/instances/{instance_id}/events", {"type": "APPROVE"})
    store = api.engine.store
    for run in store.claim_steps(api.engine.clock.now(), 60_000, 10):
        api.engine.finish_step(run, output={"ok": True})
    messages = store.due_outbox(api.engine.clock.now() + 1, 10)
    return {m.instance_id: m for m in messages}


def kill(api: Api, message: OutboxRecord) -> None:
    assert api.engine.store.outbox_failed(message, error="boom", next_attempt_at=0, dead=True)


def dead_ids(api: Api) -> list[str]:
    return [d["instance_id"] for d in get(api, "/api/v1/dead-letters").json()["items"]]


def test_a_letter_dead_after_the_dry_run_is_not_redriven_with_its_as_of(api: Api) -> None:
    # "a" is pending while "b" is counted dead, and dies after the count: its message id and
    # creation come before b's, so only when it died tells the two apart.
    messages = shipped(api, "a", "b")
    kill(api, messages["b"])
    counted = post(api, REDRIVE, {"all": True, "dry_run": True}).json()
    assert counted["matched"] == 1 and counted["redriven"] == 0 and counted["dry_run"] is True
    as_of = counted["as_of"]
    assert isinstance(as_of, int)
    kill(api, messages["a"])
    assert dead_ids(api) == ["a", "b"]

    done = post(api, REDRIVE, {"all": True, "as_of": as_of}, **{"Idempotency-Key": "r1"})
    assert done.json() == {"redriven": 1, "matched": 1, "dry_run": False, "as_of": as_of}
    assert dead_ids(api) == ["a"]  # died after the count: left for the next one
    replay = post(api, REDRIVE, {"all": True, "as_of": as_of}, **{"Idempotency-Key": "r1"})
    assert replay.json() == done.json() and replay.headers["idempotent-replayed"] == "true"
    assert dead_ids(api) == ["a"]

    # Without as_of, every letter dead now, as before.
    assert post(api, REDRIVE, {"all": True}).json() == {
        "redriven": 1,
        "matched": 1,
        "dry_run": False,
        "as_of": None,
    }
    assert dead_ids(api) == []


def test_letters_redriven_meanwhile_are_not_counted_as_done(api: Api) -> None:
    messages = shipped(api, "a", "b", "c")
    for message in messages.values():
        kill(api, message)
    counted = post(api, REDRIVE, {"event_type": "shop.shipped", "dry_run": True}).json()
    assert counted["matched"] == 3 and counted["redriven"] == 0
    # Someone else redrives one, and it dies again: after the count, so it is left alone.
    assert post(api, REDRIVE, {"message_id": messages["a"].message_id}).json()["redriven"] == 1
    (again,) = [m for m in api.engine.store.due_outbox(api.engine.clock.now() + 1, 10)]
    kill(api, again)
    # And redrives another, which stays pending.
    assert post(api, REDRIVE, {"message_id": messages["b"].message_id}).json()["redriven"] == 1

    body = {"event_type": "shop.shipped", "as_of": counted["as_of"]}
    assert post(api, REDRIVE, body).json()["redriven"] == 1
    assert dead_ids(api) == ["a"]


def test_an_as_of_no_dry_run_returned_is_refused_and_changes_nothing(api: Api) -> None:
    messages = shipped(api, "a")
    kill(api, messages["a"])
    as_of = post(api, REDRIVE, {"all": True, "dry_run": True}).json()["as_of"]

    ahead = post(api, REDRIVE, {"all": True, "as_of": as_of + 1000})
    assert ahead.status_code == 422
    assert f"as_of {as_of + 1000} is past" in ahead.json()["detail"]
    assert "dry run" in ahead.json()["detail"]
    negative = post(api, REDRIVE, {"all": True, "as_of": -1})
    assert negative.status_code == 422
    one = post(api, REDRIVE, {"message_id": messages["a"].message_id, "as_of": as_of})
    assert one.status_code == 422 and "leave as_of out" in one.json()["detail"]
    assert dead_ids(api) == ["a"]
    assert post(api, REDRIVE, {"all": True, "as_of": as_of}).json()["redriven"] == 1
