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
it is being delivered. Only the status counts.

Connections are kept alive (`runtime/http_pool.py`): deliveries to one endpoint, one after
the other, share one connection (one TCP connect and TLS handshake instead of one per
message), idle for at most `keepalive_s` (4 s by default, under the 5 s that common servers
keep an idle connection) and closed when the worker closes (`Worker.close`, the end of
`run`). The deadline holds on a kept connection as on a new one, and a connection is never
used again after a deadline cut it, after an error, or with an answer not read to its end.
To be reused, a connection must have its answer's body read: a body of up to 8 KiB
(`BODY_LIMIT`, by its `Content-Length`, or as it arrives) is read and dropped; a larger one
is not read (an endpoint that streams gigabytes costs no memory) and its connection closed.

An endpoint may close an idle connection just as a delivery starts on it. The pool checks
each idle connection before it reuses it (a close that has arrived shows), but one that
crosses the request on the way cannot be told from an endpoint that took the request and
then failed: a request written to a socket may or may not have reached the endpoint. So a
delivery whose kept connection fails before the answer's status and headers (the endpoint
closed it, reset it, or answered what is not HTTP) is sent again at once, once, on a new
connection, within the same deadline (never after the deadline cut it); the endpoint may
then see the message twice, which delivery at least once allows anyway (deduplicate on
`X-Statewright-Message-Id`). A failure on a new connection is the delivery's failure.

Each delivery opens its own connection (`Connection: close`) with `keepalive_s=0`, with a
`client` of your own (whose pool gives the deadline no socket to cut), and when the
environment names a proxy (`HTTPS_PROXY` and the like, which the kept connections do not
use; httpx's own client does).

The URL is the operator's configuration (`Worker.webhook`), never a client's: no API route
sets one, so a loopback or private address is allowed (a receiver on the same host).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit, urlunsplit
from urllib.request import getproxies

import httpx

from statewright.errors import ConfigError
from statewright.runtime.http_deadline import Cutoff
from statewright.runtime.http_deadline import stop_idle as stop_deadlines
from statewright.runtime.http_pool import KeepAlivePool
from statewright.runtime.outbox import OutboxMessage, is_seconds

__all__ = [
    "BODY_LIMIT",
    "DEFAULT_DEADLINE_S",
    "DEFAULT_KEEPALIVE_S",
    "DEFAULT_TOLERANCE_S",
    "Webhook",
    "WebhookError",
    "shown_url",
    "sign",
    "verify_signature",
]

#: How long one delivery may take, connect to answer, by default (seconds).
DEFAULT_DEADLINE_S = 10.0

#: How long a connection is kept idle for the next delivery, by default (seconds).
DEFAULT_KEEPALIVE_S = 4.0

#: The largest answer body read (and dropped) to keep its connection; larger ones are not.
BODY_LIMIT = 8 * 1024

#: How a kept connection fails before the answer's head when the endpoint has closed it.
_CLOSED_UNDER_US = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


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


def _check_url(url: object) -> None:
    """Refuse a webhook URL that no delivery could POST to, naming the fix.

    Raises:
        ConfigError: not a string, not http:// or https://, or without a host.
    """
    example = "e.g. https://hooks.example.com/statewright"
    if not isinstance(url, str):
        raise ConfigError(f"webhook URL {url!r} must be a string, the endpoint's URL, {example}")
    shown = shown_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as error:
        raise ConfigError(
            f"webhook URL {shown!r} cannot be read ({error}); give the endpoint's full URL, "
            f"{example}"
        ) from None
    if parts.scheme.lower() not in ("http", "https"):
        what = f"its scheme is {parts.scheme!r}" if parts.scheme else "it has no scheme"
        raise ConfigError(
            f"webhook URL {shown!r}: {what}; a webhook POSTs over http:// or https://, so "
            f"give the endpoint's full URL, {example}"
        )
    if not parts.hostname:
        raise ConfigError(
            f"webhook URL {shown!r} names no host; give the endpoint's full URL, {example}"
        )


class WebhookError(Exception):
    """A delivery failed: the endpoint answered outside 2xx, could not be reached, or did not
    answer by the deadline. The message names the URL (without its secrets) and what to do."""


class Webhook:
    """A listener that POSTs each message to `url`, signed with `secret`, and fails the
    delivery unless the endpoint answers 2xx within `deadline_s` seconds.

    Its connection is kept for the next delivery while idle up to `keepalive_s` seconds (0:
    a connection per delivery); `close` closes it. `timeout_s` is the older name of
    `deadline_s`. A `client` of your own is used as given (its proxies, certificates), with
    this class's deadline per request and a connection per delivery.

    Raises:
        ConfigError: `url` is not an absolute http:// or https:// URL with a host;
            `secret` is empty (anyone could then sign a request the receiver accepts);
            `deadline_s` is not a number of seconds above 0, or `keepalive_s` is not a
            number of seconds, 0 or more. Each refused here, not at the first delivery.
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
        keepalive_s: float = DEFAULT_KEEPALIVE_S,
        client: httpx.Client | None = None,
    ) -> None:
        deadline_s = deadline_s if timeout_s is None else timeout_s
        _check_url(url)
        if not isinstance(secret, str) or not secret.strip():
            what = (
                "empty" if isinstance(secret, str) else f"a {type(secret).__name__}, not a string"
            )
            raise ConfigError(
                f"webhook {shown_url(url)}: the secret is {what}, so its signatures would be "
                "worthless (anyone could sign a request its receiver accepts); give a long "
                "random string shared with the receiver, e.g. from "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if not is_seconds(deadline_s):
            raise ConfigError(
                f"webhook {shown_url(url)}: deadline_s must be a number of seconds above 0, "
                f"not {deadline_s!r}; the default is {DEFAULT_DEADLINE_S:g}"
            )
        if not (keepalive_s == 0 or is_seconds(keepalive_s)) or isinstance(keepalive_s, bool):
            raise ConfigError(
                f"webhook {shown_url(url)}: keepalive_s must be a number of seconds, 0 (a "
                f"connection per delivery) or more, not {keepalive_s!r}; the default is "
                f"{DEFAULT_KEEPALIVE_S:g}"
            )
        self.url = url
        self.secret = secret
        #: The longest one delivery may take (the outbox checks it against its lease).
        self.deadline_s = float(deadline_s)
        #: Kept connections, unless each delivery opens its own (see the module docstring).
        self.pool: KeepAlivePool | None = None
        if client is None and keepalive_s and not _proxied():
            self.pool = KeepAlivePool(float(keepalive_s))
            client = httpx.Client(transport=self.pool, follow_redirects=False)
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
        headers = {
            "Content-Type": "application/json",
            "X-Statewright-Message-Id": message.id,
            "X-Statewright-Timestamp": timestamp,
            "X-Statewright-Signature": sign(self.secret, timestamp, body),
        }
        if self.pool is None:
            headers["Connection"] = "close"  # a fresh connection, which the deadline can cut
        cutoff = Cutoff(self.deadline_s)
        try:
            with cutoff:
                status = self._post(body, headers, cutoff)
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

    def close(self) -> None:
        """Close the kept connections and stop their sweeper thread, and the HTTP deadlines'
        thread if no delivery uses it (a later delivery opens a new connection and starts
        them again). A `client` of your own stays open: it is yours to close."""
        if self.pool is not None:
            self.pool.close()
        stop_deadlines()

    def _post(self, body: bytes, headers: dict[str, str], cutoff: Cutoff) -> int:
        """POST `body` under `cutoff`: the answer's status. A kept connection that fails
        before the answer's head (the endpoint closed it meanwhile) is replaced once."""
        pool = self.pool
        try:
            return self._exchange(body, headers, cutoff)
        except _CLOSED_UNDER_US:
            if pool is None or cutoff.connected or cutoff.expired:
                raise  # a new connection failed, or the deadline cut it: the delivery fails
        # The endpoint may have closed its other idle connections too: none is taken again.
        pool.close_idle()
        return self._exchange(body, headers, cutoff)

    def _exchange(self, body: bytes, headers: dict[str, str], cutoff: Cutoff) -> int:
        with self.client.stream(
            "POST",
            self.url,
            follow_redirects=False,
            content=body,
            headers=headers,
            timeout=cutoff.timeout,
            extensions=cutoff.extensions,
        ) as response:
            if self.pool is not None:
                _read_small_body(response)
            return response.status_code


def _read_small_body(response: httpx.Response) -> None:
    """Read `response`'s body to its end if it has at most `BODY_LIMIT` bytes, so that its
    connection can carry the next delivery; stop reading a larger one (its connection is
    then closed, not reused). The status is known: a failure here fails nothing."""
    length = response.headers.get("Content-Length")
    if length is not None and not (length.isdigit() and int(length) <= BODY_LIMIT):
        return
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > BODY_LIMIT:
                return
    except httpx.HTTPError:
        return  # cut by the deadline, or closed: httpcore drops the connection


def _proxied() -> bool:
    """Whether the environment names a proxy, which httpx's client would use."""
    return any(scheme in getproxies() for scheme in ("http", "https", "all"))
