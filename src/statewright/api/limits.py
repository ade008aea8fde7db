"""Request limits: the body size (413 before the body is read when `Content-Length` says so,
else as soon as the bytes read pass the limit) and a per-token rate (token bucket, 429)."""

from __future__ import annotations

import math
import threading
import time

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from statewright.api.problems import Problem, problem_response

__all__ = ["BodyLimit", "RateLimiter"]


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
