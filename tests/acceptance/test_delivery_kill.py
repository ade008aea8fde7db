"""Workers SIGKILLed at random points while they deliver the outbox and run a cron schedule
(real processes, real time, a real HTTP receiver on 127.0.0.1).

Outbox: every committed message is delivered at least once to a Python listener (its claim
renewed while it runs, its calls on the listener thread with a deadline) and to a webhook
(its own total deadline), each delivery carrying the message's stable id; none is lost; a
message is dead-lettered only after the retry policy's attempts were started, every answer
the receiver gave it a failure (an attempt whose worker was killed before its request
counts too: attempts are charged when a delivery starts); a listener past its deadline on
a worker killed meanwhile delays its message, never loses it.

Cron: a schedule ticking every minute on a clock 60 times fast (a tick a second, the tick
lease over in 5 s) with three workers killed and restarted: every tick from the first to the
last runs exactly once, as the audit log shows (each box gets one TICK per tick, under the
tick's idempotency key), and no tick is left claimed.

Sizes are bounded for CI; STATEWRIGHT_DELIVERY_KILL_ROUNDS (default 4) and
STATEWRIGHT_DELIVERY_KILL_MESSAGES (default 60) make them longer.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import kill_delivery_child as child
import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime.webhooks import verify_signature

ROUNDS = int(os.environ.get("STATEWRIGHT_DELIVERY_KILL_ROUNDS", "4"))
MESSAGES = int(os.environ.get("STATEWRIGHT_DELIVERY_KILL_MESSAGES", "60"))
#: Each tick sends TICK to every box: enough that a kill often lands mid-tick.
BOXES = 100
CHILD = Path(child.__file__)

pytestmark = pytest.mark.slow


def spawn(mode: str, url: str, log: Path, extra: str, stderr: Path) -> subprocess.Popen[str]:
    with stderr.open("a") as err:
        return subprocess.Popen(
            [sys.executable, str(CHILD), mode, url, str(log), extra],
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )


def kill_rounds(
    mode: str,
    url: str,
    log: Path,
    extra: str,
    stderr: Path,
    *,
    workers: int,
    seed: int,
    busy: Callable[[], bool] | None = None,
) -> int:
    """ROUNDS rounds of `workers` workers, each round SIGKILLed a random while after it
    started (one worker after the other, a random bit apart), or, with `busy`, at the first
    moment after that while `busy()` holds (for up to 2 s); the kills."""
    rng = random.Random(seed)
    kills = 0
    for _ in range(ROUNDS):
        running = [spawn(mode, url, log, extra, stderr) for _ in range(workers)]
        time.sleep(rng.uniform(1.0, 2.5))
        waited = time.monotonic() + 2
        while busy is not None and not busy() and time.monotonic() < waited:
            time.sleep(0.002)
        for worker in running:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            assert worker.returncode == -signal.SIGKILL, stderr.read_text()
            kills += 1
            time.sleep(rng.uniform(0, 0.3))
    return kills


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every request: `poison-` messages always
    get 500, `flaky-` ones 500 for their first two requests, `slow-` ones no answer before
    the delivery's deadline on their first two requests; the rest 200 after a few ms."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: (message id from the header, id in the body, status answered, signature valid)
        self.requests: list[tuple[str, str, int, bool]] = []
        self.seen: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                header_id = self.headers["X-Statewright-Message-Id"]
                valid = verify_signature(
                    child.SECRET,
                    self.headers["X-Statewright-Timestamp"],
                    body,
                    self.headers["X-Statewright-Signature"],
                )
                instance = json.loads(body)["instance_id"]
                with receiver.lock:
                    receiver.seen[header_id] += 1
                    seen = receiver.seen[header_id]
                if instance.startswith("slow-") and seen <= 2:
                    time.sleep(child.WEBHOOK_DEADLINE_S + 0.5)  # cut off by the deadline
                    status = 200
                elif instance.startswith("poison-") or (
                    instance.startswith("flaky-") and seen <= 2
                ):
                    status = 500
                else:
                    time.sleep(0.003)
                    status = 200
                with receiver.lock:
                    receiver.requests.append((header_id, json.loads(body)["id"], status, valid))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the worker cut the connection (its deadline) or died

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def note_ids() -> list[str]:
    """The instances: mostly plain, some whose listener call hangs past its deadline on the
    first attempt, some the receiver fails twice, answers late once, or always fails."""
    kinds = ["hang", "flaky", "slow", "poison"]
    special = [f"{kind}-{index}" for index in range(max(2, MESSAGES // 15)) for kind in kinds]
    return [f"n-{index:04d}" for index in range(MESSAGES)] + special


def settle(url: str, ids: list[str], timeout_s: float) -> None:
    """Wait until no message is pending (or time out)."""
    deadline = time.monotonic() + timeout_s
    with Engine.open(url) as engine:
        while time.monotonic() < deadline:
            pending = [
                m for i in ids for m in engine.store.outbox("default", i) if m.status == "pending"
            ]
            if not pending:
                return
            time.sleep(0.2)


def test_outbox_delivered_at_least_once_through_worker_kills(
    store_url: str, tmp_path: Path
) -> None:
    log, stderr = tmp_path / "calls.log", tmp_path / "workers.log"
    ids = note_ids()
    with Engine.open(store_url) as engine:
        engine.register(Machine.from_config(child.NOTE))
        for instance_id in ids:
            engine.start("note", instance_id=instance_id)
    receiver = Receiver()
    with receiver.running():
        kills = kill_rounds("outbox", store_url, log, receiver.url, stderr, workers=2, seed=5)
        finisher = spawn("outbox", store_url, log, receiver.url, stderr)
        try:
            settle(store_url, ids, 120)
        finally:
            finisher.send_signal(signal.SIGTERM)
            finisher.wait(timeout=30)
        requests = list(receiver.requests)

    calls: dict[str, Counter[str]] = defaultdict(Counter)  # message id -> kind of line
    started_by: dict[tuple[str, str], set[str]] = defaultdict(set)
    for line in log.read_text().splitlines():
        kind, pid, message_id, attempt = line.split()
        calls[message_id][kind] += 1
        if kind == "start":
            started_by[(message_id, attempt)].add(pid)
    answered: dict[str, Counter[int]] = defaultdict(Counter)
    for header_id, body_id, status, valid in requests:
        assert header_id == body_id and valid, (header_id, body_id, valid)
        answered[header_id][status] += 1

    dead = delivered = 0
    with Engine.open(store_url) as engine:
        for instance_id in ids:
            (message,) = engine.store.outbox("default", instance_id)
            mid = message.message_id
            if instance_id.startswith("poison-"):
                assert message.status == "dead", (mid, message.status, message.attempts)
                assert message.attempts == child.POLICY.attempts, mid
                # An attempt is charged when its delivery starts: a worker killed between
                # that and its request counts one that never reached the receiver.
                assert answered[mid][500] >= 1 and set(answered[mid]) == {500}, (mid, answered)
                assert "answered 500" in str(message.last_error)
                dead += 1
                continue
            assert message.status == "delivered", (mid, message.status, message.last_error)
            assert calls[mid]["end"] >= 1, f"{mid}: the Python listener never returned for it"
            assert answered[mid][200] >= 1, f"{mid}: the webhook never took it"
            if instance_id.startswith("hang-"):  # its first attempt always times out
                assert message.attempts >= 2, (mid, message.attempts)
            delivered += 1
        poisoned = sorted(
            m.message_id
            for i in ids
            if i.startswith("poison-")
            for m in engine.store.outbox("default", i)
        )
        assert sorted(m.message_id for m in engine.store.dead_letters(1000)) == poisoned
    # A hung call whose worker was killed while it still ran: no `hang-end` from that pid.
    text = log.read_text()
    hangs_cut = sum(
        1
        for (mid, attempt), pids in started_by.items()
        if mid.split("/")[1].startswith("hang-") and attempt == "1"
        for pid in pids
        if f"hang-end {pid} {mid} 1" not in text
    )
    logged = stderr.read_text()
    assert "ListenerTimeout: listener" in logged  # a hang- one, abandoned
    cut_off = logged.count("did not answer within the delivery deadline")
    redelivered = sum(max(0, c["start"] - 1) for c in calls.values())
    print(
        f"\n{len(ids)} messages, {kills} workers killed: {delivered} delivered, {dead} "
        f"dead-lettered after {child.POLICY.attempts} attempts, {len(requests)} webhook "
        f"requests ({cut_off} cut off at the deadline), {redelivered} repeated listener calls, "
        f"{hangs_cut} hung listener calls cut short by a kill"
    )


def test_cron_ticks_exactly_once_through_worker_kills(store_url: str, tmp_path: Path) -> None:
    log, stderr = tmp_path / "unused.log", tmp_path / "workers.log"
    boxes = [f"box-{index:02d}" for index in range(BOXES)]
    with Engine.open(store_url) as engine:
        engine.register(Machine.from_config(child.BOX))
        for box in boxes:
            engine.start("box", instance_id=box)
    start_ms = time.time_ns() // 1_000_000
    clock = child.FastClock(start_ms)
    with Engine.open(store_url) as watcher:
        kills = kill_rounds(
            "cron",
            store_url,
            log,
            str(start_ms),
            stderr,
            workers=3,
            seed=9,
            busy=lambda: any(r["status"] == "running" for r in _ticks(watcher)[-1:]),
        )
    # One worker to the end: it runs every tick due by now, and past the tick lease (5 min
    # fast: 5 s), every tick claimed by a killed worker is taken over.
    minute = 60_000
    finisher = spawn("cron", store_url, log, str(start_ms), stderr)
    try:
        with Engine.open(store_url) as engine:
            until = clock.now()
            deadline = time.monotonic() + 25  # well past the tick lease (5 s here)
            while time.monotonic() < deadline:
                rows = _ticks(engine)
                caught_up = bool(rows) and int(str(rows[-1]["tick_at"])) >= until - minute
                if caught_up and not any(
                    r["status"] != "done" and int(str(r["tick_at"])) < until for r in rows
                ):
                    break
                time.sleep(0.2)
    finally:
        finisher.send_signal(signal.SIGTERM)
        finisher.wait(timeout=30)

    with Engine.open(store_url) as engine:
        rows = [r for r in _ticks(engine) if r["tick_at"] < until]
        ticks = [int(r["tick_at"]) for r in rows]
        assert ticks == list(range(ticks[0], ticks[-1] + 1, minute)), "a tick was skipped"
        stuck = [r for r in rows if r["status"] != "done"]
        assert not stuck, f"ticks left claimed, never run: {stuck}"
        expected = Counter(f"schedule/every/{tick}" for tick in ticks)
        for box in boxes:
            keys = Counter(
                str(e.idempotency_key) for e in engine.history(box) if e.event.get("type") == "TICK"
            )
            missing = expected - keys
            doubled = {key: n for key, n in keys.items() if n > 1}
            assert not missing, f"{box}: ticks not run: {sorted(missing)}"
            assert not doubled, f"{box}: ticks run twice: {doubled}"
            assert set(keys) <= set(expected) | {
                f"schedule/every/{int(r['tick_at'])}" for r in _ticks(engine)
            }
        takeovers = sum(int(r["claims"]) - 1 for r in rows)
    print(
        f"\n{len(ticks)} ticks over {len(boxes)} boxes, {kills} workers killed: each tick "
        f"once, {takeovers} taken over"
    )


def _ticks(engine: Engine) -> list[dict[str, object]]:
    return [
        dict(row)
        for row in engine.store._read_all(  # type: ignore[attr-defined]
            "SELECT tick_at, status, claims FROM schedule_ticks WHERE name = 'every' "
            "ORDER BY tick_at",
            {},
            what="reading the ticks",
        )
    ]
