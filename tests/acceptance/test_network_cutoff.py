"""A worker host cut off from PostgreSQL mid-step (real network namespaces, real processes).

The test makes a host for worker A: a network namespace joined to this one by a veth pair,
with PostgreSQL (the test's own server) listening on this side's address. Worker A claims a
step; as the step starts, A's link goes down. A's step ends and its result commit hangs in
the cut-off network; A's lease expires, worker B (on this host) takes the step over, runs it
and commits its result. Then A's link comes back: A's late commit is refused (`WorkGone`,
logged as "result discarded"), and the step's result is applied exactly once.

Needs root and `ip netns` (skipped otherwise). Only addresses of the namespace the test
creates are used; the namespace (and its veth pair) is deleted afterwards.
STATEWRIGHT_CHAOS_SCALE (default 1) repeats the cut-off on more orders.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_worker_kill import spawn

from statewright.engine import Engine
from statewright.testing.postgres import TemporaryPostgres

SCALE = max(1, int(os.environ.get("STATEWRIGHT_CHAOS_SCALE", "1")))

pytestmark = pytest.mark.slow

SETUP = """
import os
import time

from statewright import Machine

MARKS = os.environ["STATEWRIGHT_KILL_LOG"] + ".marks"
TAG = os.environ["STATEWRIGHT_WORKER_TAG"]


def mark(text):
    with open(MARKS, "a") as marks:
        marks.write(f"{TAG} {text}\\n")


def slow(input):
    mark(f"started {input['order']}")
    time.sleep(0.2)
    mark(f"finished {input['order']}")
    return {"charged": input["order"]}


MACHINES = [Machine.from_config({
    "id": "cutjob",
    "initial": "working",
    "context": {"order": {"$expr": "input.order"}},
    "states": {
        "working": {"invoke": {"id": "slow", "src": "slow",
                               "input": {"order": {"$expr": "context.order"}},
                               "onDone": "done"}},
        "done": {"type": "final"},
    },
}, actors={"slow": slow})]
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextmanager
def worker_host() -> Iterator[tuple[str, str, str]]:
    """A network namespace joined to this one by a veth pair: (its name, its interface,
    this side's address). Deleted afterwards."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and the ip command")
    tag = f"{os.getpid() % 10_000:04d}{random.randrange(100):02d}"
    namespace, inside, outside = f"swcut{tag}", f"swn{tag}", f"swh{tag}"
    subnet = f"10.213.{random.randrange(1, 250)}"
    made = subprocess.run(["ip", "netns", "add", namespace], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {made.stderr.strip()}")
    try:
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", namespace)
        ip("addr", "add", f"{subnet}.1/30", "dev", outside)
        ip("link", "set", outside, "up")
        ip("netns", "exec", namespace, "ip", "addr", "add", f"{subnet}.2/30", "dev", inside)
        ip("netns", "exec", namespace, "ip", "link", "set", inside, "up")
        ip("netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        yield namespace, inside, f"{subnet}.1"
    finally:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", outside], capture_output=True, check=False)


def wait_for(what: str, check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_a_cut_off_workers_late_result_is_discarded_and_applied_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = SCALE
    with worker_host() as (namespace, link, address), TemporaryPostgres(host=address) as server:
        server.trust_network(f"{address.rpartition('.')[0]}.0/30")
        url = server.create_database("cutoff")
        setup, log = tmp_path / "setup.py", tmp_path / "cut"
        setup.write_text(SETUP)
        marks = log.with_suffix(".marks")
        monkeypatch.setenv("STATEWRIGHT_WORKER_TAG", "test")
        monkeypatch.setenv("STATEWRIGHT_KILL_LOG", str(log))
        namespace_dict: dict[str, object] = {}
        exec(compile(SETUP, str(setup), "exec"), namespace_dict)
        with Engine.open(url) as engine:
            engine.register(namespace_dict["MACHINES"][0])  # type: ignore[index]
        logs = {tag: tmp_path / f"worker-{tag}.log" for tag in ("A", "B")}
        files = {tag: path.open("w") for tag, path in logs.items()}
        workers: list[subprocess.Popen[str]] = []
        cut_s: list[float] = []
        try:
            worker_a = spawn(url, setup, log, stderr=files["A"], lease_s=2,
                             env={"STATEWRIGHT_WORKER_TAG": "A"},
                             prefix=["ip", "netns", "exec", namespace])  # fmt: skip
            workers.append(worker_a)
            for index in range(orders):
                order = f"o-{index}"
                with Engine.open(url) as engine:
                    engine.start("cutjob", instance_id=order, input={"order": order})
                wait_for("A to start the step", lambda o=order: f"A started {o}" in read(marks), 60)
                ip("netns", "exec", namespace, "ip", "link", "set", link, "down")
                cut_at = time.monotonic()
                # B starts once A is cut off (so that A takes each step first).
                worker_b = spawn(url, setup, log, stderr=files["B"], lease_s=2,
                                 env={"STATEWRIGHT_WORKER_TAG": "B"})  # fmt: skip
                workers.append(worker_b)
                with Engine.open(url) as engine:
                    wait_for(
                        "B to take the step over and finish the order",
                        lambda o=order, e=engine: e.get(o).status == "done",
                        60,
                    )
                ip("netns", "exec", namespace, "ip", "link", "set", link, "up")
                cut_s.append(time.monotonic() - cut_at)
                wait_for(
                    "A's late result to be discarded",
                    lambda n=index + 1: read(logs["A"]).count("result discarded") >= n,
                    90,
                )
                worker_b.send_signal(signal.SIGTERM)
                worker_b.wait(timeout=30)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            for file in files.values():
                file.close()
        with Engine.open(url) as engine:
            applied = 0
            for index in range(orders):
                order = f"o-{index}"
                events = Counter(str(e.event["type"]) for e in engine.history(order))
                assert events["xstate.done.actor.slow"] == 1, order
                assert engine.get(order).context == {"order": order}
                assert engine.store.steps("default", order) == []
                applied += 1
    seen = read(marks).splitlines()
    for index in range(orders):
        for line in ("A started", "A finished", "B started", "B finished"):
            assert f"{line} o-{index}" in seen, seen
    a_text, b_text = read(logs["A"]), read(logs["B"])
    assert "Traceback" not in a_text + b_text, a_text + b_text
    assert a_text.count("result discarded") == orders, a_text
    print(
        f"\n{orders} orders, {orders} cut-offs of worker A's host (down "
        f"{', '.join(f'{s:.1f}' for s in cut_s)} s): {applied} step results applied once "
        f"(B's), {a_text.count('result discarded')} late results of A discarded; A's lines:"
    )
    for line in a_text.splitlines():
        if "discarded" in line or "available" in line or "no longer ours" in line:
            print("  " + line)


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
