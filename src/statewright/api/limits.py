"""Request limits: the body size (413 before the body is read when `Content-Length` says so,
else as soon as the bytes read pass the limit), a per-token rate (token bucket, 429), and
failed authentications per client address (429 before the store is read)."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import threading
import time
from collections import OrderedDict

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from statewright.api.problems import Problem, problem_response

__all__ = ["AuthFailures", "BodyLimit", "RateLimiter", "client_key"]


class BodyLimit:
    """ASGI middleware refusing request bodies over `max_bytes` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, self.detail())
            return message

        await self.app(scope, limited, send)

    def detail(self) -> str:
        """The problem's detail: the limit and the fix."""
        return (
            f"the request body is larger than {self.max_bytes} bytes; send less (a large "
            "document belongs in your storage, its reference in the event), or start serve "
            "with a larger --max-body"
        )

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = problem_response(
            Request(scope), Problem(413, "body-too-large", "Request body too large", self.detail())
        )
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class RateLimiter:
    """A token bucket per API token: `rate` requests a second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one request from `key`'s bucket.

        Raises:
            Problem: 429 with `Retry-After` when the bucket is empty.
        """
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            level, at = self._buckets.get(key, (float(self.burst), now))
            level = min(float(self.burst), level + (now - at) * self.rate)
            if level < 1:
                self._buckets[key] = (level, now)
                wait = math.ceil((1 - level) / self.rate)
                raise Problem(
                    429,
                    "rate-limited",
                    "Too many requests",
                    f"token {key} may send {self.rate:g} requests a second (bursts of "
                    f"{self.burst}); wait {wait} s and send again",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[key] = (level - 1, now)


def client_key(client: tuple[str, int] | list[object] | None) -> str:
    """Whom failed authentications are counted against: the client's address (`scope
    ["client"]`, which uvicorn sets from `X-Forwarded-For` only for a proxy it trusts), an
    IPv6 address by its /64 network (one host commonly holds a whole /64)."""
    return "unknown" if not client else _address_key(str(client[0]))


@functools.lru_cache(maxsize=4096)
def _address_key(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class AuthFailures:
    """Failed authentications per client address: a token bucket of `failures` per
    `window_s` seconds. An address that has used them up is answered 429 before its
    credential is looked up in the store, so that guessing costs the store nothing; a
    credential that authenticated before (from any address, since the process started) is
    still looked up, so that a client sharing the address (behind the same NAT or proxy)
    keeps working. `failures` 0 turns the limit off."""

    #: How many credentials that authenticated are remembered (their SHA-256 digests).
    KNOWN = 10_000
    #: How many client addresses are tracked; the least recently failing are forgotten.
    ADDRESSES = 100_000

    def __init__(self, failures: int, window_s: float = 60.0) -> None:
        self.failures = failures
        self.window_s = window_s
        self._rate = failures / window_s if failures > 0 else 0.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._known: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, address: str, credential: str) -> None:
        """Before `credential` is looked up: refuse it if `address` has no failures left
        and `credential` never authenticated.

        Raises:
            Problem: 429 with `Retry-After`.
        """
        if not self._buckets:  # no failure anywhere: nothing to look at
            return
        now = time.monotonic()
        with self._lock:
            found = self._buckets.get(address)
            level = 1.0 if found is None else self._level(found, now)
            if level >= 1 or _digest(credential) in self._known:
                return
        wait = max(1, math.ceil((1 - level) / self._rate))
        raise Problem(
            429,
            "authentication-rate-limited",
            "Too many failed authentications",
            f"this client address ({address}) sent more than {self.failures} credentials "
            f"that are not valid in {self.window_s:g} s; wait {wait} s, and send a valid "
            'API token ("statewright tokens list" shows the active ones)',
            headers={"Retry-After": str(wait)},
        )

    def failed(self, address: str, credential: str) -> None:
        """`credential`, sent from `address`, authenticated nothing."""
        if self.failures <= 0:
            return
        now = time.monotonic()
        digest = _digest(credential)
        with self._lock:
            self._known.pop(digest, None)  # revoked, expired or logged out since
            found = self._buckets.pop(address, None)
            level = float(self.failures) if found is None else self._level(found, now)
            self._buckets[address] = (max(0.0, level - 1), now)
            while len(self._buckets) > self.ADDRESSES:
                self._buckets.popitem(last=False)

    def succeeded(self, credential: str) -> None:
        """`credential` authenticated: remember it."""
        if self.failures <= 0:
            return
        digest = _digest(credential)
        with self._lock:
            if digest in self._known:
                self._known.move_to_end(digest)
                return
            self._known[digest] = None
            if len(self._known) > self.KNOWN:
                self._known.popitem(last=False)

    def _level(self, found: tuple[float, float], now: float) -> float:
        level, at = found
        return min(float(self.failures), level + (now - at) * self._rate)


def _digest(credential: str) -> bytes:
    return hashlib.sha256(credential.encode("utf-8", "surrogatepass")).digest()
