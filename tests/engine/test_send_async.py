"""`Engine.send_async` (`engine/async_sending.py` over `engine/lane.py`): sends awaited on
event loops, taken by the lane's thread in batches and committed with `send_many`, each
caller answered with its own outcome, as `send` would answer it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from statewright.engine import Engine
from statewright.engine.batch_sending import SendRequest
from statewright.engine.views import AuditEntry
from statewright.errors import (
    EventNotAccepted,
    IdempotencyConflict,
    NotFound,
    PayloadError,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)

COUNTER = {
    "id": "counter",
    "initial": "open",
    "context": {"n": 0},
    "states": {
        "open": {
            "on": {
                "INC": {
                    "actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]
                },
                "CLOSE": "closed",
            }
        },
        "closed": {"on": {"OPEN": "open"}},
    },
}
INC = {"type": "INC"}


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine.open(store_url) as opened:
        opened.register(COUNTER)
        yield opened


def started(engine: Engine, *ids: str) -> None:
    for instance_id in ids:
        engine.start("counter", instance_id=instance_id)


def lane_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "statewright-async-send"]


class HeldLane:
    """Holds the lane's first batch (in `send_many`) until `queued` sends wait behind it, or,
    without `queued`, until `release` is set; records every batch's instance ids. The lane
    gets one thread, so that the sends queued meanwhile form the next batch together."""

    def __init__(self, engine: Engine, queued: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        lane = engine._async_lane
        lane._most = 1
        send_many = engine.send_many

        def held(requests: Sequence[SendRequest]) -> Any:
            self.batches.append([request.instance_id for request in requests])
            if len(self.batches) == 1:
                self.holding.set()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not self.release.is_set():
                    if queued is not None and len(lane._queue) >= queued:
                        break
                    time.sleep(0.001)
            return send_many(requests)

        engine.send_many = held  # type: ignore[method-assign]


def test_each_sender_gets_its_own_result_and_the_sends_commit_together(engine: Engine) -> None:
    ids = [f"c{n}" for n in range(16)]
    started(engine, "first", *ids)
    held = HeldLane(engine, queued=16)

    async def main() -> list[AuditEntry]:
        first = asyncio.ensure_future(engine.send_async("first", INC))
        await asyncio.to_thread(held.holding.wait, 10)
        entries = await asyncio.gather(*(engine.send_async(i, INC, actor=f"a-{i}") for i in ids))
        await first
        return entries

    entries = asyncio.run(main())
    assert [(e.instance_id, e.seq, e.actor) for e in entries] == [(i, 2, f"a-{i}") for i in ids]
    assert held.batches == [["first"], ids]  # the 16 queued meanwhile: one batch
    for instance_id in ids:
        assert engine.get(instance_id).context["n"] == 1
        assert engine.verify(instance_id).ok


def test_a_refused_send_fails_alone_and_the_others_of_its_batch_commit(engine: Engine) -> None:
    started(engine, "first", "a", "b", "c", "d")
    engine.send("c", {"type": "CLOSE"})  # c is closed: INC is not accepted there
    held = HeldLane(engine, queued=4)

    async def main() -> list[AuditEntry | BaseException]:
        first = asyncio.ensure_future(engine.send_async("first", INC))
        await asyncio.to_thread(held.holding.wait, 10)
        return await asyncio.gather(
            first,
            engine.send_async("a", INC),
            engine.send_async("b", INC, expected_version=7),  # stale: b is at 1
            engine.send_async("c", INC),
            engine.send_async("d", INC, expected_version=1),
            return_exceptions=True,
        )

    first, a, b, c, d = asyncio.run(main())
    assert held.batches == [["first"], ["a", "b", "c", "d"]]
    assert isinstance(a, AuditEntry) and a.seq == 2
    assert isinstance(b, VersionConflict) and "b" in str(b)
    assert isinstance(c, EventNotAccepted) and "OPEN" in str(c)
    assert isinstance(d, AuditEntry) and d.seq == 2
    assert isinstance(first, AuditEntry)
    assert [engine.get(i).version for i in "abcd"] == [2, 1, 2, 2]


def test_the_errors_are_those_of_send(engine: Engine) -> None:
    started(engine, "a")

    async def main() -> None:
        with pytest.raises(NotFound, match="nope"):
            await engine.send_async("nope", INC)
        with pytest.raises(EventNotAccepted):
            await engine.send_async("a", {"type": "OPEN"})

    asyncio.run(main())
    assert engine.get("a").version == 1


def test_a_database_error_fails_every_send_of_the_batch_and_commits_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}?busy_timeout=50"
    with Engine.open(url) as engine:
        engine.register(COUNTER)
        started(engine, "first", "a", "b")
        held = HeldLane(engine)
        blocker = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)

        async def main() -> list[AuditEntry | BaseException]:
            first = asyncio.ensure_future(engine.send_async("first", INC))
            await asyncio.to_thread(held.holding.wait, 10)
            blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            rest = [asyncio.ensure_future(engine.send_async(i, INC)) for i in "ab"]
            await asyncio.sleep(0)
            held.release.set()
            return await asyncio.gather(first, *rest, return_exceptions=True)

        try:
            outcomes = asyncio.run(main())
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert held.batches[1] == ["a", "b"]
        assert [type(outcome) for outcome in outcomes] == [StoreUnavailable] * 3
        assert [engine.get(name).version for name in ("first", "a", "b")] == [1, 1, 1]

        async def again() -> list[AuditEntry]:
            return await asyncio.gather(*(engine.send_async(i, INC) for i in "ab"))

        assert [entry.seq for entry in asyncio.run(again())] == [2, 2]


def test_many_loops_and_threads_send_at_once(engine: Engine) -> None:
    loops, tasks, sends = 4, 4, 20
    ids = [[f"l{loop}-t{task}" for task in range(tasks)] for loop in range(loops)]
    started(engine, *(i for owned in ids for i in owned))
    seqs: dict[str, list[int]] = {}

    def one_loop(owned: list[str]) -> None:
        async def sender(instance_id: str) -> None:
            for _ in range(sends):
                entry = await engine.send_async(instance_id, INC)
                seqs.setdefault(instance_id, []).append(entry.seq)

        async def main() -> None:
            await asyncio.gather(*(sender(i) for i in owned))

        asyncio.run(main())

    def plain_thread() -> None:  # `send` from a thread at the same time
        for _ in range(sends):
            seqs.setdefault("plain", []).append(engine.send("plain", INC).seq)

    started(engine, "plain")
    threads = [threading.Thread(target=one_loop, args=(owned,)) for owned in ids]
    threads.append(threading.Thread(target=plain_thread))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert seqs["plain"] == list(range(2, sends + 2))
    for owned in ids:
        for instance_id in owned:
            assert seqs[instance_id] == list(range(2, sends + 2))
            assert engine.get(instance_id).context["n"] == sends


def test_a_cancelled_task_does_not_withdraw_its_send(engine: Engine) -> None:
    started(engine, "first", "a")
    held = HeldLane(engine)

    async def main() -> None:
        first = asyncio.ensure_future(engine.send_async("first", INC))
        await asyncio.to_thread(held.holding.wait, 10)
        sending = asyncio.ensure_future(engine.send_async("a", INC))
        await asyncio.sleep(0)  # handed over: queued on the lane
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        held.release.set()
        await first
        after = await engine.send_async("a", INC)  # after the cancelled one: its send stood
        assert after.seq == 3

    asyncio.run(main())
    assert engine.get("a").context["n"] == 2


def test_close_fails_the_queued_sends_waits_for_the_batch_and_leaves_no_thread(
    engine: Engine,
) -> None:
    started(engine, "first", "a", "b")
    held = HeldLane(engine)
    closed = threading.Event()

    def close() -> None:
        engine._async_lane.close(lambda: StoreError("the engine is closed: test"))
        closed.set()

    async def main() -> tuple[AuditEntry, list[AuditEntry | BaseException]]:
        first = asyncio.ensure_future(engine.send_async("first", INC))
        await asyncio.to_thread(held.holding.wait, 10)
        queued = [asyncio.ensure_future(engine.send_async(i, INC)) for i in "ab"]
        await asyncio.sleep(0)
        closing = threading.Thread(target=close)
        closing.start()
        failed = await asyncio.gather(*queued, return_exceptions=True)  # before the batch ends
        await asyncio.to_thread(closed.wait, 0.2)
        assert not closed.is_set()  # close waits for the batch being sent
        held.release.set()
        done = await first
        await asyncio.to_thread(closing.join, 10)
        return done, failed

    done, failed = asyncio.run(main())
    assert closed.is_set() and done.seq == 2
    assert [type(error) for error in failed] == [StoreError, StoreError]
    assert [engine.get(i).version for i in ("first", "a", "b")] == [2, 1, 1]
    assert engine._async_lane.threads == 0 and not lane_threads()


def test_a_closed_engine_refuses_send_async_with_a_clear_error(store_url: str) -> None:
    engine = Engine.open(store_url)
    engine.register(COUNTER)
    started(engine, "a")

    async def main() -> None:
        await engine.send_async("a", INC)
        assert lane_threads()
        engine.close()
        assert not lane_threads()  # no thread left behind
        with pytest.raises(StoreError, match=r"engine is closed.*Engine\.open"):
            await engine.send_async("a", INC)

    asyncio.run(main())


def test_the_lanes_thread_ends_when_idle_and_starts_again(engine: Engine) -> None:
    started(engine, "a")
    engine._async_lane._idle_s = 0.05

    async def main() -> list[int]:
        seqs = [(await engine.send_async("a", INC)).seq]
        deadline = time.monotonic() + 10
        while engine._async_lane.threads and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert engine._async_lane.threads == 0
        seqs.append((await engine.send_async("a", INC)).seq)
        return seqs

    assert asyncio.run(main()) == [2, 3]


def test_an_idempotency_key_answers_a_repeated_send_once(engine: Engine) -> None:
    started(engine, "a")

    async def main() -> None:
        first, again = await asyncio.gather(
            engine.send_async("a", INC, idempotency_key="k1"),
            engine.send_async("a", INC, idempotency_key="k1"),
        )
        assert first.seq == again.seq == 2
        with pytest.raises(IdempotencyConflict):
            await engine.send_async("a", {"type": "CLOSE"}, idempotency_key="k1")

    asyncio.run(main())
    assert engine.get("a").version == 2


def test_an_id_that_cannot_be_hashed_is_refused_as_send_refuses_it_and_the_lane_goes_on(
    engine: Engine,
) -> None:
    started(engine, "a")

    async def main() -> None:
        with pytest.raises(PayloadError, match="instance id"):
            await asyncio.wait_for(engine.send_async(["a"], INC), 10)  # type: ignore[arg-type]
        with pytest.raises(PayloadError, match="tenant"):
            await asyncio.wait_for(engine.send_async("a", INC, tenant={}), 10)  # type: ignore[arg-type]
        assert (await asyncio.wait_for(engine.send_async("a", INC), 10)).seq == 2

    asyncio.run(main())
