"""The README's first command, `bash scripts/demo`, run as written (with a free port and a
test folder): it prints the console's URL and a token, the API answers that token with
instances that move and steps that fail while it runs, and it stops (by itself with `--for`,
or on Ctrl-C) with exit status 0, leaving no process behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from demo_kit import DemoRun, processes_in, start_demo, stop_quietly

pytestmark = pytest.mark.slow

#: What the traffic's first orders reach within seconds: an order over 5000 declined three
#: times by the payment step, waiting in manual review.
MANUAL_REVIEW = "payment_failed"


def test_demo_for_25s_shows_moving_instances_and_failed_steps_then_exits_0(
    tmp_path: Path,
) -> None:
    folder = tmp_path.resolve() / "demo"
    # 25 s: the declined order reaches manual review after its third attempt, in about 10 s
    # on a quiet machine and up to twice that beside other tests.
    run = start_demo(folder, "--for", "25s")
    try:
        run.read_banner()
        seen = _watch(run)
        status, out, err = run.finish(timeout_s=60)
    finally:
        stop_quietly(run)

    assert status == 0, f"{out}\n{err}"
    assert "Traceback" not in out + err
    assert "stopped" in out
    # Instances of the three examples, and instances that moved while it ran.
    assert {"order", "approval", "intake"} <= seen.definitions, seen.definitions
    assert len(seen.versions) >= 6
    assert seen.moved >= 3, "no instance moved between two looks"
    # A failed step: the order in manual review, its history holding the step's error.
    assert seen.review_history, f"no order reached {MANUAL_REVIEW}: {seen.values}"
    errors = [e for e in seen.review_history if e["event"]["type"] == "xstate.error.actor.payment"]
    assert errors and errors[0]["to_value"] == MANUAL_REVIEW
    assert "card declined" in str(errors[0]["event"]["error"])
    # A dead letter for the redrive panel: the scripted intake's notification, refused.
    assert any("mailbox is full" in str(d["last_error"]) for d in seen.dead_letters), seen
    _assert_nothing_left(run)


def test_ctrl_c_stops_the_demo_cleanly_and_a_second_demo_on_its_folder_is_refused(
    tmp_path: Path,
) -> None:
    folder = tmp_path.resolve() / "demo"
    run = start_demo(folder, "--for", "10m")
    try:
        run.read_banner()
        headers = {"Authorization": f"Bearer {run.token}"}
        deadline = time.monotonic() + 30
        while not httpx.get(f"{run.url}/api/v1/instances", headers=headers).json()["items"]:
            assert time.monotonic() < deadline, "the traffic started nothing in 30 s"
            time.sleep(0.2)
        assert processes_in(folder), "the demo's server does not work in its folder"

        # A second demo on the same folder would empty the store under the first: refused.
        second = start_demo(folder, "--for", "10s")
        second_status, _, second_err = second.finish(timeout_s=120)
        assert second_status == 1
        assert "a demo is running in this folder already" in second_err
        assert "--dir" in second_err
        assert httpx.get(f"{run.url}/api/v1/instances", headers=headers).json()["items"]

        os.killpg(run.process.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        status, out, err = run.finish(timeout_s=40)
    finally:
        stop_quietly(run)

    assert status == 0, f"{out}\n{err}"
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    assert "stopped (server exit status 0)" in out
    _assert_nothing_left(run)


class _Seen:
    """What the test saw through the API while the demo ran."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.definitions: set[str] = set()
        self.values: dict[str, object] = {}
        self.moved = 0
        self.review_history: list[dict[str, object]] = []
        self.dead_letters: list[dict[str, object]] = []


def _watch(run: DemoRun) -> _Seen:
    """Look at the instances through the API, as the console does, until the demo ends."""
    seen = _Seen()
    headers = {"Authorization": f"Bearer {run.token}"}
    with httpx.Client(base_url=run.url, headers=headers, timeout=5) as client:
        while run.process.poll() is None:
            try:
                page = client.get("/api/v1/instances", params={"limit": 1000})
            except httpx.TransportError:
                break  # it is stopping
            assert page.status_code == 200, page.text
            for item in page.json()["items"]:
                before = seen.versions.get(item["id"])
                if before is not None and item["version"] > before:
                    seen.moved += 1
                seen.versions[item["id"]] = item["version"]
                seen.definitions.add(item["definition"])
                seen.values[item["id"]] = item["value"]
                if item["value"] == MANUAL_REVIEW and not seen.review_history:
                    history = client.get(f"/api/v1/instances/{item['id']}/history")
                    seen.review_history = history.json()["items"]
            if not seen.dead_letters:
                seen.dead_letters = client.get("/api/v1/dead-letters").json()["items"]
            time.sleep(0.5)
    return seen


def _assert_nothing_left(run: DemoRun) -> None:
    assert processes_in(run.folder) == [], "a process still works in the demo's folder"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{run.url}/api/health/live", timeout=2)
