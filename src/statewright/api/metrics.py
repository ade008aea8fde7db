"""Prometheus metrics of the API, in a registry of the app's own: requests by method, route
template and status, and their durations. Served as Prometheus text at `/api/metrics` (a token
is needed)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Metrics", "MetricsMiddleware"]


class Metrics:
    """The API's metrics, registered in `registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "statewright_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "statewright_http_request_duration_seconds",
            "Time from a request's arrival to its response's start, by method and route.",
            ("method", "route"),
            registry=self.registry,
        )
        # The labelled children, looked up once per label set: `labels()` checks its
        # arguments and takes a lock on every call, a dict lookup does neither.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def count(self, method: str, route: str, status: int) -> None:
        """Count one answered request."""
        key = (method, route, status)
        child = self._counted.get(key)
        if child is None:
            child = self._counted.setdefault(key, self.requests.labels(method, route, str(status)))
        child.inc()

    def time(self, method: str, route: str, seconds: float) -> None:
        """Record how long a request took until its response started."""
        key = (method, route)
        child = self._timed.get(key)
        if child is None:
            child = self._timed.setdefault(key, self.duration.labels(method, route))
        child.observe(seconds)


class MetricsMiddleware:
    """ASGI middleware counting every HTTP request into `metrics`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                route = getattr(scope.get("route"), "path", "unmatched")
                self.metrics.time(scope["method"], route, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.count(scope["method"], route, status)
