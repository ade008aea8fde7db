"""The live stream (Server-Sent Events) against a real `statewright serve` process, on SQLite
and PostgreSQL: a timer fired by a separate worker process reaches a client, a reconnect with
Last-Event-ID gets exactly what it missed, a resync when the gap is over the bound, tenants
and payloads kept apart, tokens required; clients that go away are released."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from api_kit import ORDER, Api, order_machine
from sse_kit import Event, free_port, serve, sse

from statewright import Machine
from statewright.api import ApiSettings, StreamSettings, create_app
from statewright.api.stream_hub import Resync, Subscription
from statewright.engine import Engine
from statewright.engine.stream import StreamEntry

TIMED = {
    "id": "timed",
    "initial": "waiting",
    "states": {
        "waiting": {"after": {"300": "expired"}},
        "expired": {"on": {"NEXT": "done"}},
        "done": {"type": "final"},
    },
}
MACHINES = f"""
from statewright import Machine

MACHINES = [Machine.from_config({ORDER!r}), Machine.from_config({TIMED!r})]
"""


@pytest.fixture
def project(store_url: str, tmp_path: Path) -> tuple[Path, dict[str, dict[str, str]]]:
    """The machines file, and the Authorization headers of a few tokens."""
    machines = tmp_path / "machines.py"
    machines.write_text(MACHINES)
    with Engine.open(store_url) as engine:
        engine.register(order_machine())
        engine.register(Machine.from_config(TIMED))
        made = {
            "viewer": engine.create_token(tenant="acme", role="viewer"),
            "operator": engine.create_token(tenant="acme", role="operator"),
            "no-payloads": engine.create_token(tenant="acme", role="viewer", payloads=False),
            "other": engine.create_token(tenant="other", role="operator"),
            "revoked": engine.create_token(tenant="acme", role="viewer", name="revoked"),
        }
    return machines, {name: {"Authorization": f"Bearer {t[1]}"} for name, t in made.items()}


def _send(base: str, auth: dict[str, str], instance_id: str, event: dict[str, object]) -> None:
    sent = httpx.post(f"{base}/api/v1/instances/{instance_id}/events", json=event, headers=auth)
    assert sent.status_code == 200, sent.text


def _start(base: str, auth: dict[str, str], instance_id: str, definition: str) -> None:
    body = {"definition": definition, "input": {"amount": 5}}
    started = httpx.post(f"{base}/api/v1/instances/{instance_id}", json=body, headers=auth)
    assert started.status_code == 201, started.text


def _moves(events: list[Event]) -> list[tuple[str, int, object]]:
    return [(e.data["instance_id"], e.data["version"], e.data["to_value"]) for e in events]


@pytest.mark.slow
def test_a_timer_a_worker_process_fires_reaches_a_client_and_a_reconnect_gets_what_it_missed(
    store_url: str, project: tuple[Path, dict[str, dict[str, str]]]
) -> None:
    machines, auth = project
    with serve(store_url, machines) as base, sse(base, "/api/v1/stream", auth["viewer"]) as watcher:
        assert watcher.response.status_code == 200
        headers = watcher.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache" and headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in headers  # asked for gzip: never compressed
        with sse(base, "/api/v1/stream", auth["viewer"]) as leaver:
            _start(base, auth["operator"], "t1", "timed")
            (seen,) = leaver.events(1)
            assert leaver.retry == [3000]
        # The leaver is gone; a worker, a process of its own, fires t1's timer.
        worker = subprocess.Popen(
            [sys.executable, "-m", "statewright", "worker", "--url", store_url,
             "--machines", str(machines), "--poll", "0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            live = watcher.events(2)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.communicate(timeout=30)
        assert _moves(live) == [("t1", 1, "waiting"), ("t1", 2, "expired")]
        assert live[1].event == "transition" and live[1].data["type"].startswith("xstate.after")
        assert live[0].id == seen.id == str(live[0].data["cursor"])
        _send(base, auth["operator"], "t1", {"type": "NEXT"})
        (last,) = watcher.events(1)
        assert last.data["runtime_status"] == "done" and last.data["from_value"] == "expired"
        resumed_headers = auth["viewer"] | {"Last-Event-ID": str(seen.id)}
        with sse(base, "/api/v1/stream", resumed_headers) as resumed:
            missed = resumed.events(2)
            resumed.quiet()  # exactly those: nothing more until something is committed
        assert [(e.id, e.data) for e in missed] == [(e.id, e.data) for e in [live[1], last]]
        ids = [int(e.id or 0) for e in [*live, last]]
        assert ids == sorted(set(ids))


@pytest.mark.slow
def test_tenants_filters_payloads_resync_and_tokens(
    store_url: str, project: tuple[Path, dict[str, dict[str, str]]]
) -> None:
    machines, auth = project
    with serve(store_url, machines, "--stream-replay", "3") as base:
        assert httpx.get(f"{base}/api/v1/stream").status_code == 401
        wrong = {"Authorization": "Bearer sw_0123456789ab_x"}
        assert httpx.get(f"{base}/api/v1/stream", headers=wrong).status_code == 401
        _start(base, auth["other"], "x1", "order")
        hidden = httpx.get(f"{base}/api/v1/instances/x1/stream", headers=auth["viewer"])
        assert hidden.status_code == 404  # another tenant's instance: as if there were none
        bad = httpx.get(f"{base}/api/v1/stream", headers=auth["viewer"] | {"Last-Event-ID": "x"})
        assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["detail"]
        _start(base, auth["operator"], "o1", "order")
        with (
            sse(base, "/api/v1/stream", auth["viewer"]) as tenant,
            sse(base, "/api/v1/stream", auth["other"]) as other,
            sse(base, "/api/v1/instances/o1/stream", auth["viewer"]) as one,
            sse(base, "/api/v1/stream?definition=timed", auth["viewer"]) as timed,
            sse(base, "/api/v1/stream", auth["no-payloads"]) as withheld,
        ):
            _start(base, auth["operator"], "t1", "timed")
            _send(base, auth["operator"], "o1", {"type": "NOTE", "text": "secret"})
            _start(base, auth["other"], "x2", "order")
            everything = tenant.events(2)
            assert _moves(everything) == [("t1", 1, "waiting"), ("o1", 2, "pending")]
            assert everything[1].data["event"] == {"type": "NOTE", "text": "secret"}
            assert _moves(one.events(1)) == [("o1", 2, "pending")]
            assert _moves(timed.events(1)) == [("t1", 1, "waiting")]
            assert [e.data["event"] for e in withheld.events(2)] == [
                {"type": "xstate.init"},
                {"type": "NOTE"},
            ]
            assert _moves(other.events(1)) == [("x2", 1, "pending")]
            for stream in (tenant, other, one, timed):
                stream.quiet()
        # Three transitions of acme since o1's start are within the bound of 3: replayed.
        first = int(everything[0].id or 0) - 1
        with sse(base, "/api/v1/stream", auth["viewer"] | {"Last-Event-ID": str(first)}) as back:
            assert [e.event for e in back.events(2)] == ["transition", "transition"]
            back.quiet()
        for n in range(3):
            _send(base, auth["operator"], "o1", {"type": "NOTE", "text": str(n)})
        with sse(base, "/api/v1/stream", auth["viewer"] | {"Last-Event-ID": str(first)}) as far:
            (resync,) = far.events(1)
            assert resync.event == "resync" and resync.data["reason"] == "gap-too-large"
            assert int(resync.id or 0) > first
            _send(base, auth["operator"], "o1", {"type": "NOTE", "text": "after"})
            (after,) = far.events(1)
            assert after.data["event"]["text"] == "after"
            assert int(after.id or 0) > int(resync.id or 0)
        ahead = auth["viewer"] | {"Last-Event-ID": "999999"}
        with sse(base, "/api/v1/instances/o1/stream", ahead) as unknown:
            (resync,) = unknown.events(1)
            assert resync.event == "resync" and resync.data["reason"] == "unknown-cursor"
        # A token revoked while its stream is open gets no more events: the stream ends.
        with sse(base, "/api/v1/stream", auth["revoked"]) as doomed:
            doomed.quiet()
            with Engine.open(store_url) as engine:
                (token,) = [t for t in engine.tokens(tenant="acme") if t.name == "revoked"]
                engine.revoke_token(token.prefix)
            _send(base, auth["operator"], "o1", {"type": "NOTE", "text": "unseen"})
            with pytest.raises(AssertionError, match="the stream ended"):
                doomed.next(skip_heartbeats=False)
        # A stream still open when the server stops is ended: serve exits (checked by `serve`).
        still_open = sse(base, "/api/v1/stream", auth["viewer"])
        stream = still_open.__enter__()
    try:
        with pytest.raises((AssertionError, httpx.HTTPError)):
            stream.next()
    finally:
        still_open.__exit__(None, None, None)


@pytest.mark.slow
def test_a_client_that_goes_away_releases_its_subscription(tmp_path: Path) -> None:
    with Engine.open(f"sqlite:///{tmp_path / 'app.db'}") as engine:
        engine.register(order_machine())
        _, secret = engine.create_token(tenant="acme", role="viewer")
        settings = ApiSettings(stream=StreamSettings(heartbeat_s=0.05, poll_s=0.05))
        app = create_app(engine, settings)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        hub = app.state.stream_hub
        try:
            deadline = time.monotonic() + 20
            while not server.started:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            auth = {"Authorization": f"Bearer {secret}"}
            with sse(base, "/api/v1/stream", auth) as one, sse(base, "/api/v1/stream", auth) as two:
                one.quiet()
                two.quiet()
                assert hub.subscribers == 2
            deadline = time.monotonic() + 10
            while hub.subscribers:
                assert time.monotonic() < deadline, "a closed stream kept its subscription"
                time.sleep(0.02)
        finally:
            hub.stop()
            server.should_exit = True
            thread.join(timeout=20)
        assert not thread.is_alive()


def _entry(cursor: int, instance_id: str = "a") -> StreamEntry:
    return StreamEntry(
        cursor=cursor, tenant="acme", instance_id=instance_id, definition_id="order",
        version=cursor, event={"type": "E"}, actor=None, from_value="x", to_value="y",
        status="active", runtime_status="active", at=0,
    )  # fmt: skip


def test_a_slow_client_gets_a_resync_instead_of_an_unbounded_queue() -> None:
    async def run() -> list[object]:
        subscription = Subscription(
            tenant="acme", instance_id=None, definition_id=None, start=10, queue_size=3
        )
        for cursor in range(9, 16):  # 9 and 10 are before its start: never queued
            subscription.offer(_entry(cursor))
        assert len(subscription.items) <= 3
        return subscription.take()

    taken = asyncio.run(run())
    assert taken == [Resync(14, "too-slow"), _entry(15)]


def test_an_instance_subscription_takes_only_that_instance() -> None:
    async def run() -> list[object]:
        subscription = Subscription(
            tenant="acme", instance_id="b", definition_id=None, start=0, queue_size=10
        )
        for cursor, instance_id in enumerate("abab", start=1):
            subscription.offer(_entry(cursor, instance_id))
        return subscription.take()

    assert [e.cursor for e in asyncio.run(run()) if isinstance(e, StreamEntry)] == [2, 4]


def test_the_openapi_document_lists_both_streams(api: Api) -> None:
    document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    for path in ("/api/v1/stream", "/api/v1/instances/{instance_id}/stream"):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert "text/event-stream" in content, json.dumps(content)


def test_a_client_ahead_of_the_subscription_skips_what_it_has() -> None:
    async def run() -> list[object]:
        subscription = Subscription(
            tenant="acme", instance_id=None, definition_id=None, start=2, queue_size=10
        )
        for cursor in (3, 4, 5):
            subscription.offer(_entry(cursor))
        subscription.skip_through(4)
        subscription.offer(_entry(4))
        subscription.offer(_entry(6))
        return subscription.take()

    assert [e.cursor for e in asyncio.run(run()) if isinstance(e, StreamEntry)] == [5, 6]


def test_a_stream_whose_client_goes_away_leaves_no_task_pending(store_url: str) -> None:
    """The wait for the next transition is a task of its own; a client going away cancels
    the stream mid-wait, and that task must end with it (else asyncio logs, for every
    disconnected client, that a pending task was destroyed)."""
    from statewright.api.routes.stream import _events
    from statewright.api.stream_hub import StreamHub

    async def run() -> set[asyncio.Task[object]]:
        with Engine.open(store_url) as engine:
            hub = StreamHub(engine, StreamSettings(heartbeat_s=30.0))
            before = asyncio.all_tasks()

            async def valid() -> bool:
                return True

            async def client() -> None:
                async for _ in _events(hub, {"tenant": "acme"}, None, valid, payloads=True):
                    pass

            reading = asyncio.create_task(client())
            await asyncio.sleep(0.3)  # in the wait for a transition
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            await asyncio.sleep(0)  # a cancelled task ends at the loop's next turn
            hub.stop()
            left = {t for t in asyncio.all_tasks() - before if t.get_name() != "statewright-stream"}
            return {t for t in left if not t.done()}

    assert asyncio.run(run()) == set()
