"""Prometheus metrics of the API, in a registry of the app's own: requests by method, route
template and status, and their durations; and, read from the store when scraped, the work of
every tenant together (`WorkCollector`: instances per status, the work waiting for the workers
and how late it is, the live workers). Served as Prometheus text at `/api/metrics` (a token
is needed). No metric names a tenant, an instance or a definition: any tenant's viewer may
scrape."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from statewright.engine.work_summary import WorkSummary
from statewright.errors import StatewrightError

__all__ = ["WORK_CACHE_S", "Metrics", "MetricsMiddleware", "WorkCollector"]

log = logging.getLogger("statewright.api")

#: How long one read of the work is served to every scrape (several scrapers, one read).
WORK_CACHE_S = 1.0


#: The methods counted by name; any other is counted as "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The API's metrics, registered in `registry`; with `work` (the engine's
    `work_summary`), the work gauges too (`WorkCollector`)."""

    def __init__(self, work: Callable[[], WorkSummary] | None = None) -> None:
        self.registry = CollectorRegistry()
        if work is not None:
            self.registry.register(WorkCollector(work))
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
        # A client chooses the method it sends: one made up is counted as "other", so that
        # nobody grows the label set (the memory and every scrape) without bound.
        method = scope["method"] if scope["method"] in _METHODS else "other"

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                route = getattr(scope.get("route"), "path", "unmatched")
                self.metrics.time(method, route, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.count(method, route, status)


class WorkCollector:
    """The work gauges, read at scrape time through `read` (`Engine.work_summary`) and kept
    for `cache_s`, so that several scrapers cost one read. When the read fails (the store is
    away), the scrape still answers: `statewright_store_up` 0 and no work gauges (the
    request metrics are another collector's)."""

    def __init__(
        self,
        read: Callable[[], WorkSummary],
        *,
        cache_s: float = WORK_CACHE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._cache_s = cache_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._summary: WorkSummary | None = None

    def describe(self) -> Iterator[Metric]:
        """The metric names, for the registry's duplicate check (without reading the store)."""
        return _families(_DESCRIBED)

    def collect(self) -> Iterator[Metric]:
        """The gauges of the latest read, read again once it is older than the cache."""
        with self._lock:  # a scrape arriving during a read waits for it, and shares it
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self._cache_s:
                self._summary = self._read_now()
                self._read_at = self._monotonic()
            summary = self._summary
        return _families(summary)

    def _read_now(self) -> WorkSummary | None:
        try:
            return self._read()
        except StatewrightError as error:
            log.warning("metrics: work gauges left out, the store could not be read: %s", error)
        except Exception:
            log.exception("metrics: the work gauges are left out, reading them failed")
        return None


#: A summary of nothing: what `describe` lists the names from.
_DESCRIBED = WorkSummary(
    now=0,
    instances={},
    timers_overdue=0,
    steps_due=0,
    steps_running=0,
    steps_retrying=0,
    outbox_due=0,
    outbox_pending=0,
    outbox_dead=0,
    timer_lag_ms=0,
    step_lag_ms=0,
    outbox_lag_ms=0,
    workers_live=0,
    schedules=0,
    schedules_unrun=0,
    schedules_stalled=0,
    count_cap=1,
)


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _families(summary: WorkSummary | None) -> Iterator[Metric]:
    """The store's gauge and, with a summary, the work gauges."""
    yield _gauge(
        "statewright_store_up",
        "1 if the last read of the work gauges succeeded, 0 if the store could not be read "
        "(the work gauges are then left out).",
        0 if summary is None else 1,
    )
    if summary is None:
        return
    instances = GaugeMetricFamily(
        "statewright_instances",
        "Instances of every tenant, by snapshot status and runtime status.",
        labels=("status", "runtime_status"),
    )
    for (status, runtime_status), count in summary.instances.items():
        instances.add_metric((status, runtime_status), count)
    yield instances
    cap = f" Counted up to {summary.count_cap}: a value of {summary.count_cap} means at least that."
    yield _gauge(
        "statewright_timers_overdue",
        "Pending timers whose due time has passed, not fired yet." + cap,
        summary.timers_overdue,
    )
    yield _gauge(
        "statewright_steps_due",
        "Step runs a worker could claim now: pending or retrying runs whose attempt is due, "
        "and running ones whose lease ran out." + cap,
        summary.steps_due,
    )
    yield _gauge(
        "statewright_steps_running",
        "Step runs claimed by a worker, under a live lease." + cap,
        summary.steps_running,
    )
    yield _gauge(
        "statewright_steps_retrying",
        "Step runs that failed and wait for their next attempt, not due yet." + cap,
        summary.steps_retrying,
    )
    yield _gauge(
        "statewright_outbox_due",
        "Outbox messages due for delivery now, not claimed by a worker." + cap,
        summary.outbox_due,
    )
    yield _gauge(
        "statewright_outbox_pending",
        "Outbox messages not delivered yet: due, being delivered or waiting for a retry." + cap,
        summary.outbox_pending,
    )
    yield _gauge(
        "statewright_outbox_dead",
        "Dead-lettered outbox messages, waiting for a redrive." + cap,
        summary.outbox_dead,
    )
    lags = (
        ("timer", "the oldest overdue timer", summary.timer_lag_ms),
        ("step", "the oldest due step run", summary.step_lag_ms),
        ("outbox", "the oldest due outbox message", summary.outbox_lag_ms),
    )
    for kind, what, lag_ms in lags:
        yield _gauge(
            f"statewright_{kind}_lag_seconds",
            f"How long ago {what} fell due; 0 when none is.",
            lag_ms / 1000,
        )
    yield _gauge(
        "statewright_work_lag_seconds",
        "The largest of the timer, step and outbox lags: how far the workers are behind.",
        max(lag_ms for _, _, lag_ms in lags) / 1000,
    )
    yield _gauge(
        "statewright_workers_live",
        "Workers that sent a heartbeat within the liveness window.",
        summary.workers_live,
    )
    yield _gauge(
        "statewright_schedules",
        "Cron schedules that workers heard of in the last hour run.",
        summary.schedules,
    )
    yield _gauge(
        "statewright_schedules_without_live_worker",
        "Cron schedules no live worker runs: they make no ticks until one starts.",
        summary.schedules_unrun,
    )
    yield _gauge(
        "statewright_schedules_stalled",
        "Cron schedules whose latest tick is stalled: claimed by a worker whose claim ran out.",
        summary.schedules_stalled,
    )
