"""A small Server-Sent Events reader over httpx, with a timeout on every read, and a real
`statewright serve` process on a free loopback port for the stream tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

READ_TIMEOUT_S = 10.0
#: The longest wait for the events a test expects, heartbeats or not.
EVENTS_WITHIN_S = 30.0


@dataclass
class Event:
    """One event: its id, type and JSON data."""

    id: str | None
    event: str
    data: dict[str, Any]


@dataclass
class SseStream:
    """An open stream: its response, and the comments and `retry` hints seen so far."""

    response: httpx.Response
    lines: Iterator[str]
    comments: list[str] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)

    def next(self, *, skip_heartbeats: bool = True, deadline: float | None = None) -> Event | None:
        """The next event; None for a heartbeat comment when `skip_heartbeats` is false.

        Raises:
            httpx.ReadTimeout: nothing came for READ_TIMEOUT_S seconds.
            AssertionError: only heartbeats came until `deadline` (a `time.monotonic()`).
        """
        fields: dict[str, str] = {}
        data: list[str] = []
        for line in self.lines:
            if line == "":
                if data or fields:
                    return Event(fields.get("id"), fields.get("event", "message"),
                                 json.loads("\n".join(data)))  # fmt: skip
                continue
            if line.startswith(":"):
                self.comments.append(line)
                if not skip_heartbeats:
                    return None
                assert deadline is None or time.monotonic() < deadline, "no event came"
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "retry":
                self.retry.append(int(value))
            else:
                fields[name] = value
        raise AssertionError("the stream ended")

    def events(self, count: int, within_s: float = EVENTS_WITHIN_S) -> list[Event]:
        """The next `count` events, within `within_s` seconds (heartbeats do not count)."""
        deadline = time.monotonic() + within_s
        found: list[Event] = []
        while len(found) < count:
            try:
                event = self.next(deadline=deadline)
            except AssertionError as error:
                raise AssertionError(
                    f"{len(found)} of {count} events in {within_s:g} s: {found}"
                ) from error
            assert event is not None
            found.append(event)
        return found

    def quiet(self) -> None:
        """Assert that the next thing sent is a heartbeat, not an event."""
        assert self.next(skip_heartbeats=False) is None


@contextmanager
def sse(base: str, path: str, headers: dict[str, str]) -> Iterator[SseStream]:
    """Open a stream (every read bounded by READ_TIMEOUT_S)."""
    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=5.0)
    with (
        httpx.Client(base_url=base, timeout=timeout) as client,
        client.stream("GET", path, headers={"Accept-Encoding": "gzip", **headers}) as response,
    ):
        yield SseStream(response, response.iter_lines())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(url: str, machines: Path, *args: str) -> Iterator[str]:
    """`statewright serve` as a process of its own on a free loopback port: its base URL.
    Stopped with SIGTERM, which must end it (and its open streams) with exit status 0."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", url, "--port", str(port),
         "--machines", str(machines), "--stream-heartbeat", "0.3", "--stream-poll", "0.05",
         *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "serve did not answer within 30 s"
            time.sleep(0.05)
        yield base
    finally:
        stop_on_sigterm(server)


def stop_on_sigterm(server: subprocess.Popen[str]) -> None:
    """SIGTERM a `serve` process: it must end within 30 s with exit status 0."""
    server.send_signal(signal.SIGTERM)
    try:
        _, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        _, err = server.communicate()
        raise AssertionError(f"serve did not stop on SIGTERM: {err}") from None
    assert server.returncode == 0, err
