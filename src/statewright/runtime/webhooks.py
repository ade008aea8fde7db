"""Webhooks: outbox messages POSTed to an HTTP endpoint, signed with HMAC-SHA256.

The body is JSON: `{"id", "tenant", "instance_id", "version", "event"}`. Headers:
`X-Statewright-Message-Id` (stable across retries: deduplicate on it),
`X-Statewright-Timestamp` (seconds since the epoch when sent) and
`X-Statewright-Signature: sha256=<hex>`, the HMAC-SHA256 with the shared secret of
`"<timestamp>.<body>"` (signing the timestamp lets receivers refuse old replays). Any
status outside 2xx, a timeout or a connection error fails the delivery, which the outbox
retries with backoff and finally dead-letters.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from statewright.runtime.outbox import OutboxMessage

__all__ = ["Webhook", "sign", "verify_signature"]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks: the signature matches (compared in constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookError(Exception):
    """The endpoint answered outside 2xx."""


class Webhook:
    """A listener that POSTs each message to `url`, signed with `secret`."""

    def __init__(
        self, url: str, secret: str, *, timeout_s: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        self.url = url
        self.secret = secret
        self.client = client or httpx.Client(timeout=timeout_s)

    def __call__(self, message: OutboxMessage) -> None:
        body = json.dumps(
            {
                "id": message.id,
                "tenant": message.tenant,
                "instance_id": message.instance_id,
                "version": message.version,
                "event": message.event,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))
        response = self.client.post(
            self.url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Statewright-Message-Id": message.id,
                "X-Statewright-Timestamp": timestamp,
                "X-Statewright-Signature": sign(self.secret, timestamp, body),
            },
        )
        if not response.is_success:
            raise WebhookError(f"{self.url} answered {response.status_code}")
