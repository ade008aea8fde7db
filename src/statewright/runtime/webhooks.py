"""Webhooks: outbox messages POSTed to an HTTP endpoint, signed with HMAC-SHA256.

The body is JSON: `{"id", "tenant", "instance_id", "version", "event"}`. Headers:
`X-Statewright-Message-Id` (stable across retries: deduplicate on it),
`X-Statewright-Timestamp` (seconds since the epoch when sent) and
`X-Statewright-Signature: sha256=<hex>`, the HMAC-SHA256 with the shared secret of
`"<timestamp>.<body>"`. A receiver checks both with `verify_signature`: the signature
(compared in constant time) and the timestamp, within `tolerance_s` (default 300 s) of its
own clock, so that a request captured on the way cannot be replayed later; within the
window, it deduplicates on the message id. Any status outside 2xx (a redirect too: none is
followed, so a delivery never goes to another URL than the one configured), a connection
error, or no answer by the delivery's deadline fails the delivery, which the outbox retries
with backoff and finally dead-letters. The failure's text, kept as the message's
`last_error` (which the API shows every token of the tenant), names the URL without its user
information and query string, where endpoints often carry secrets.

The deadline (`deadline_s`, 10 s by default) bounds one delivery as a whole, from the
connect to the answer's status line and headers (`runtime/http_deadline.py`): an endpoint
that sends its answer a byte at a time is cut off there, whereas httpx's own timeouts bound
each read and would let it run on. It must be shorter than the worker's outbox lease (the
outbox refuses the webhook otherwise), so that no other worker takes the message over while
it is being delivered. Only the status counts: the answer's body is never read, so an
endpoint that streams gigabytes costs no memory. Each delivery opens its own connection.

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

from statewright.errors import ConfigError
from statewright.runtime.http_deadline import Cutoff
from statewright.runtime.outbox import OutboxMessage, is_seconds

__all__ = [
    "DEFAULT_DEADLINE_S",
    "DEFAULT_TOLERANCE_S",
    "Webhook",
    "WebhookError",
    "shown_url",
    "sign",
    "verify_signature",
]

#: How long one delivery may take, connect to answer, by default (seconds).
DEFAULT_DEADLINE_S = 10.0


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
    """A delivery failed: the endpoint answered outside 2xx, could not be reached, or did not
    answer by the deadline. The message names the URL (without its secrets) and what to do."""


class Webhook:
    """A listener that POSTs each message to `url`, signed with `secret`, and fails the
    delivery unless the endpoint answers 2xx within `deadline_s` seconds.

    `timeout_s` is the older name of `deadline_s`. A `client` of your own is used as given
    (its proxies, certificates), with this class's deadline per request.

    Raises:
        ConfigError: `deadline_s` is not a number of seconds above 0.
    """

    #: It keeps its deadline itself (it cuts its connection), so the outbox calls it in the
    #: worker's thread rather than on a listener thread it would abandon at the deadline.
    enforces_deadline = True

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        deadline_s: float = DEFAULT_DEADLINE_S,
        timeout_s: float | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        deadline_s = deadline_s if timeout_s is None else timeout_s
        if not is_seconds(deadline_s):
            raise ConfigError(
                f"webhook {shown_url(url)}: deadline_s must be a number of seconds above 0, "
                f"not {deadline_s!r}; the default is {DEFAULT_DEADLINE_S:g}"
            )
        self.url = url
        self.secret = secret
        #: The longest one delivery may take (the outbox checks it against its lease).
        self.deadline_s = float(deadline_s)
        self.client = client or httpx.Client(follow_redirects=False)

    def __repr__(self) -> str:
        return f"Webhook({shown_url(self.url)}, deadline_s={self.deadline_s:g})"

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
        cutoff = Cutoff(self.deadline_s)
        try:
            with (
                cutoff,
                self.client.stream(
                    "POST",
                    self.url,
                    follow_redirects=False,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "Connection": "close",  # a fresh connection, which the deadline can cut
                        "X-Statewright-Message-Id": message.id,
                        "X-Statewright-Timestamp": timestamp,
                        "X-Statewright-Signature": sign(self.secret, timestamp, body),
                    },
                    timeout=cutoff.timeout,
                    extensions=cutoff.extensions,
                ) as response,
            ):
                status = response.status_code  # the body is never read: only the status counts
        except httpx.HTTPError as error:
            if cutoff.expired or isinstance(error, httpx.TimeoutException):
                raise WebhookError(
                    f"{shown_url(self.url)} did not answer within the delivery deadline of "
                    f"{self.deadline_s:g} s; if it needs longer, raise the webhook's deadline_s "
                    f"(Worker.webhook(..., deadline_s=...), kept below the outbox lease)"
                ) from error
            raise WebhookError(
                f"{shown_url(self.url)} could not be reached: {type(error).__name__}: {error}"
            ) from error
        if not 200 <= status < 300:
            raise WebhookError(f"{shown_url(self.url)} answered {status}")
