"""Webhooks: outbox messages POSTed to an HTTP endpoint, signed with HMAC-SHA256.

The body is JSON: `{"id", "tenant", "instance_id", "version", "event"}`. Headers:
`X-Statewright-Message-Id` (stable across retries: deduplicate on it),
`X-Statewright-Timestamp` (seconds since the epoch when sent) and
`X-Statewright-Signature: sha256=<hex>`, the HMAC-SHA256 with the shared secret of
`"<timestamp>.<body>"`. A receiver checks both with `verify_signature`: the signature
(compared in constant time) and the timestamp, within `tolerance_s` (default 300 s) of its
own clock, so that a request captured on the way cannot be replayed later; within the
window, it deduplicates on the message id. Any status outside 2xx (a redirect too: none is
followed, so a delivery never goes to another URL than the one configured), a timeout
(10 s by default) or a connection error fails the delivery, which the outbox retries with
backoff and finally dead-letters. The failure's text, kept as the message's `last_error`
(which the API shows every token of the tenant), names the URL without its user
information and query string, where endpoints often carry secrets.

The URL is the operator's configuration (`Worker.webhook`), never a client's: no API route
sets one, so a loopback or private address is allowed (a receiver on the same host).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit, urlunsplit

import httpx

from statewright.runtime.outbox import OutboxMessage

__all__ = ["DEFAULT_TOLERANCE_S", "Webhook", "shown_url", "sign", "verify_signature"]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


#: How far a webhook's timestamp may be from the receiver's clock (seconds), by default.
DEFAULT_TOLERANCE_S = 300


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float | None = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the signature matches (compared in constant time) and the
    timestamp is within `tolerance_s` seconds of `now` (default: the clock), so that an old
    request sent again is refused. `tolerance_s=None` checks the signature only. False for
    anything malformed (a timestamp that is not a whole number, a header that is not ASCII).
    """
    if not (timestamp.isascii() and timestamp.isdigit() and signature.isascii()):
        return False
    if tolerance_s is not None:
        current = time.time() if now is None else now
        if abs(current - int(timestamp)) > tolerance_s:
            return False
    expected = sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, signature.encode())


def shown_url(url: str) -> str:
    """`url` as an error names it: without its user information and query string."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))


class WebhookError(Exception):
    """The endpoint answered outside 2xx."""


class Webhook:
    """A listener that POSTs each message to `url`, signed with `secret`."""

    def __init__(
        self, url: str, secret: str, *, timeout_s: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        self.url = url
        self.secret = secret
        self.client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)

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
            follow_redirects=False,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Statewright-Message-Id": message.id,
                "X-Statewright-Timestamp": timestamp,
                "X-Statewright-Signature": sign(self.secret, timestamp, body),
            },
        )
        if not response.is_success:
            raise WebhookError(f"{shown_url(self.url)} answered {response.status_code}")
