"""What the instance and definition page tests share beside the console fixtures: a server
whose timers and steps are left to a separate `statewright worker` process, a page logged in
with any token, and where the screenshots go."""

from __future__ import annotations

import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from console_kit import MACHINES_FILE, SCREENSHOTS, VIEWPORT, ConsoleServer

from statewright.engine import Engine

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: The CSS class the drawing gives the active states.
ACTIVE = re.compile(r"(^|\s)sw-active(\s|$)")


@dataclass
class Served:
    """A running `statewright serve` (and maybe a worker beside it), and an engine on its
    store: what the console fixtures need of a server."""

    url: str
    store_url: str
    engine: Engine
    log: Path

    def token(self, role: str = "operator", tenant: str = "default", **options: Any) -> str:
        """A new API token's secret (`options`: `name`, `event_roles`, `payloads`)."""
        options.setdefault("name", f"{role}-{tenant}")
        return self.engine.create_token(tenant=tenant, role=role, **options)[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def statewright(*args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`statewright ARGS` running, its output in `log`; stopped with SIGTERM on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "statewright", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield process
    finally:
        _stop(process)


def wait_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"statewright serve exited {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/api/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"statewright serve did not get ready in 30 s:\n{log.read_text()}")


@contextmanager
def served_with_separate_worker(
    folder: Path, machines_file: Path, machines: list[Any]
) -> Iterator[Served]:
    """`statewright serve` (no worker of its own) and a `statewright worker` process beside
    it, on a fresh SQLite file with `machines` registered."""
    store_url = f"sqlite:///{folder / 'pages.db'}"
    with Engine.open(store_url) as engine:
        for machine in machines:
            engine.register(machine)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve_log, worker_log = folder / "serve.log", folder / "worker.log"
        with (
            statewright(
                "serve", "--url", store_url, "--port", str(port), "--machines", str(machines_file),
                "--rate", "0", "--stream-poll", "0.05", "--stream-heartbeat", "1",
                log=serve_log,
            ) as server,
            statewright(
                "worker", "--url", store_url, "--machines", str(machines_file), "--poll", "0.1",
                log=worker_log,
            ),
        ):  # fmt: skip
            wait_ready(server, base, serve_log)
            yield Served(base, store_url, engine, serve_log)


def login(browser: Browser, base_url: str, secret: str) -> Page:
    """A page in a context of its own, logged in with the token `secret`."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    answer = context.request.post("/api/v1/session", data={"token": secret})
    assert answer.status == 201, answer.text()
    return context.new_page()


def screenshot(page: Page, name: str) -> Path:
    """Save what `page` shows as docs/screenshots/NAME (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path


@contextmanager
def serving_console(
    folder: Path, setup: Path = MACHINES_FILE, *options: str
) -> Iterator[ConsoleServer]:
    """`statewright serve --with-worker` on a fresh SQLite file in `folder`, the examples
    registered and `setup` its worker's file (MACHINES, SCHEDULES, ...), on a free loopback
    port, with more `options` (`--root-path /x`); stopped with SIGTERM afterwards."""
    store_url = f"sqlite:///{folder / 'console.db'}"
    machines: list[Any] = runpy.run_path(str(MACHINES_FILE))["MACHINES"]
    with Engine.open(store_url) as engine:
        for machine in machines:
            engine.register(machine)
        port = free_port()
        log = folder / "serve.log"
        with statewright(
            "serve", "--url", store_url, "--port", str(port), "--machines", str(setup),
            "--with-worker", "--rate", "0", "--stream-poll", "0.05", "--stream-heartbeat", "1",
            *options, log=log,
        ) as process:  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            wait_ready(process, base, log)
            yield ConsoleServer(base, store_url, engine, log)
