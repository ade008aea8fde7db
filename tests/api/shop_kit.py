"""A definition with what operators act on (a timer, a step with retries, an outbox message,
tags), for the API tests of cancel, steps, timers, dead letters and bulk operations."""

from __future__ import annotations

from typing import Any

from api_kit import Api

from statewright import Machine

HOUR = 3_600_000

SHOP = {
    "id": "shop",
    "initial": "pending",
    "context": {"amount": {"$expr": "input.amount"}},
    "states": {
        "pending": {
            "tags": ["needs-human"],
            "after": {"48h": "escalated"},
            "on": {
                "APPROVE": "paying",
                "REJECT": "rejected",
                "VOID": {"target": "rejected", "statewright": {"roles": ["approver"]}},
            },
        },
        "escalated": {"tags": ["needs-human"], "on": {"APPROVE": "paying"}},
        "paying": {
            "invoke": {
                "id": "charge",
                "src": "chargeCard",
                "input": {"amount": {"$expr": "context.amount"}},
                "statewright": {"retry": {"attempts": 3}},
                "onDone": "shipped",
                "onError": "failed",
            }
        },
        "failed": {"on": {"RETRY": "paying"}},
        "shipped": {
            "type": "final",
            "entry": [{"type": "emit", "params": {"event": {"type": "shop.shipped"}}}],
        },
        "rejected": {"type": "final"},
    },
}


def register_shop(api: Api) -> None:
    api.engine.register(Machine.from_config(SHOP))


def start(api: Api, instance_id: str, tenant_token: str = "admin", amount: int = 5) -> None:
    response = api.client.post(
        f"/api/v1/instances/{instance_id}",
        json={"definition": "shop", "input": {"amount": amount}},
        headers=api.auth(tenant_token),
    )
    assert response.status_code == 201, response.text


def post(api: Api, path: str, body: Any = None, token: str = "operator", **headers: str) -> Any:
    return api.client.post(path, json=body, headers={**api.auth(token), **headers})


def get(api: Api, path: str, token: str = "viewer") -> Any:
    return api.client.get(path, headers=api.auth(token))


def fail_once(api: Api, instance_id: str, tenant: str = "acme") -> None:
    """Claim the instance's step and record a failed attempt: it waits an hour to retry."""
    now = api.engine.clock.now()
    (run,) = [r for r in api.engine.store.claim_steps(now, 60_000, 10)]
    assert (run.instance_id, run.tenant) == (instance_id, tenant)
    api.engine.store.retry_step(run, next_attempt_at=now + HOUR, error="Timeout: slow")


def dead_letter(api: Api, instance_id: str) -> str:
    """Run the instance's step to its end and dead-letter the message it emits; its id."""
    now = api.engine.clock.now()
    (run,) = [r for r in api.engine.store.claim_steps(now, 60_000, 10)]
    assert run.instance_id == instance_id
    api.engine.finish_step(run, output={"ok": True})
    (message,) = api.engine.store.due_outbox(api.engine.clock.now() + 1, 10)
    api.engine.store.outbox_failed(message, error="listener: boom", next_attempt_at=0, dead=True)
    return message.message_id
